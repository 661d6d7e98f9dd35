package staff

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/practice"
)

// SessionTTL is how long a session lasts after login.
const SessionTTL = 12 * time.Hour

// SessionPrefix marks the engine's session tokens.
const SessionPrefix = "oss_"

// DefaultIdleTimeout is how long a session lasts without an action of its person.
const DefaultIdleTimeout = 30 * time.Minute

// touchEvery is how often a session's last action is written: at most once a minute, not on
// every request.
const touchEvery = time.Minute

// Sessions logs staff in and out of browser sessions and finds whose a session is.
type Sessions struct {
	DB       *sqlx.DB
	Practice practice.ID
	Clock    func() time.Time
	// Idle ends a session this long after its person's last action; 0: DefaultIdleTimeout.
	Idle time.Duration
	// PasswordChecks bounds the password (bcrypt) checks that run at once, so that a burst of
	// logins cannot take every CPU from the webhooks; 0: GOMAXPROCS, at most 4.
	PasswordChecks int
	// SlotWait is how long a login waits for a password check to start before it is answered
	// "busy"; 0: two seconds.
	SlotWait time.Duration

	once    sync.Once
	slots   chan struct{}
	compare func(hash, password []byte) error // bcrypt's, or a test's
}

func (s *Sessions) init() {
	s.once.Do(func() {
		n := s.PasswordChecks
		if n <= 0 {
			n = min(runtime.GOMAXPROCS(0), 4)
		}
		s.slots = make(chan struct{}, n)
		if s.compare == nil {
			s.compare = bcrypt.CompareHashAndPassword
		}
	})
}

func (s *Sessions) idle() time.Duration {
	if s.Idle > 0 {
		return s.Idle
	}
	return DefaultIdleTimeout
}

// acquire takes a password check slot, waiting at most SlotWait; release gives it back.
func (s *Sessions) acquire(ctx context.Context) bool {
	wait := s.SlotWait
	if wait <= 0 {
		wait = 2 * time.Second
	}
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (s *Sessions) release() { <-s.slots }

const selectLogin = `
SELECT practice_id, id, ext_id, role, access, COALESCE(password_hash, '') AS password_hash
FROM staff WHERE practice_id = $1 AND ext_id = $2 AND disabled_at IS NULL`

const insertSession = `
INSERT INTO sessions (token_sha256, practice_id, staff_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $4)`

// Login checks a staff id and password, from the client address addr, and opens a session; it
// returns the session token. The attempt is counted before the password is checked (see
// countAttempt): an account or address that is locked gets a *RetryError wrapping
// ErrTooManyAttempts, and a login that finds every password check slot taken gets one
// wrapping ErrLoginBusy. A failed attempt and a lock it causes are written to the audit log,
// under the staff member when the id is theirs.
func (s *Sessions) Login(ctx context.Context, member, password, addr string) (string, Identity, error) {
	s.init()
	now := s.Clock()
	if member == "" || !utf8.ValidString(member) || strings.ContainsRune(member, 0) {
		return "", Identity{}, ErrBadLogin // no account has such an id, and the database cannot store it
	}
	lim := limiter{db: s.DB, practice: int64(s.Practice)}
	keys := attemptKeys(member, addr)
	locked, err := lim.count(ctx, keys, now)
	if err != nil {
		return "", Identity{}, err
	}
	var row struct {
		Identity
		Hash string `db:"password_hash"`
	}
	err = s.DB.GetContext(ctx, &row, selectLogin, s.Practice, member)
	if err != nil && !db.IsNoRows(err) {
		return "", Identity{}, errors.Join(fmt.Errorf("error reading staff account: %w", err), lim.uncount(ctx, keys))
	}
	if !s.acquire(ctx) {
		if err := lim.uncount(ctx, keys); err != nil {
			return "", Identity{}, err
		}
		return "", Identity{}, &RetryError{Err: ErrLoginBusy, After: time.Second}
	}
	hash := []byte(row.Hash)
	if row.Hash == "" {
		hash = dummyHash()
	}
	bad := s.compare(hash, []byte(password)) != nil || row.Hash == ""
	s.release()
	if bad {
		if err := s.recordFailure(ctx, row.StaffID, addr, locked, now); err != nil {
			return "", Identity{}, err
		}
		return "", Identity{}, ErrBadLogin
	}
	token, err := randomToken(SessionPrefix)
	if err != nil {
		return "", Identity{}, err
	}
	err = db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, insertSession, tokenDigest(token), s.Practice, row.StaffID, now, now.Add(SessionTTL)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: int64(s.Practice), At: now, Actor: audit.Staff(row.StaffID),
			Action: "staff.login", Entity: "staff", EntityID: fmt.Sprint(row.StaffID)})
	})
	if err != nil {
		return "", Identity{}, fmt.Errorf("error opening session: %w", err)
	}
	// The account's count is cleared; the address keeps its failures but not this success.
	if err := errors.Join(lim.clear(ctx, keys[len(keys)-1]), lim.uncount(ctx, keys[:len(keys)-1])); err != nil {
		return "", Identity{}, err
	}
	return token, row.Identity, nil
}

// recordFailure writes a failed login to the audit log (never the password, nor a staff id
// that is nobody's: people type passwords into the wrong field), and a lock it caused.
func (s *Sessions) recordFailure(ctx context.Context, staffID int64, addr string, locked []string, now time.Time) error {
	actor, entityID := audit.ActorSystem, ""
	if staffID != 0 {
		actor, entityID = audit.Staff(staffID), fmt.Sprint(staffID)
	}
	return db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		if err := audit.Record(ctx, tx, audit.Event{PracticeID: int64(s.Practice), At: now, Actor: actor, Action: "staff.login_failed",
			Entity: "staff", EntityID: entityID, Detail: map[string]any{"addr": addr}}); err != nil {
			return err
		}
		for _, k := range locked {
			kind, _, _ := strings.Cut(k, ":")
			if err := audit.Record(ctx, tx, audit.Event{PracticeID: int64(s.Practice), At: now, Actor: actor, Action: "staff.login_locked",
				Entity: "staff", EntityID: entityID, Detail: map[string]any{"addr": addr, "by": kind}}); err != nil {
				return err
			}
		}
		return nil
	})
}

// End ends the session of token, if it is live, and writes it to the audit log.
func (s *Sessions) End(ctx context.Context, token string) error {
	err := db.WithTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var staffID int64
		err := tx.GetContext(ctx, &staffID, `DELETE FROM sessions WHERE token_sha256 = $1 RETURNING staff_id`, tokenDigest(token))
		if db.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: int64(s.Practice), At: s.Clock(), Actor: audit.Staff(staffID),
			Action: "staff.logout", Entity: "staff", EntityID: fmt.Sprint(staffID)})
	})
	if err != nil {
		return fmt.Errorf("error ending session: %w", err)
	}
	return nil
}

const selectSessionIdentity = `
SELECT s.practice_id, s.id, s.ext_id, s.role, s.access, COALESCE(x.last_seen_at, x.created_at) AS last_seen
FROM sessions x JOIN staff s ON s.practice_id = x.practice_id AND s.id = x.staff_id
WHERE x.token_sha256 = $1 AND x.expires_at > $2 AND COALESCE(x.last_seen_at, x.created_at) > $3 AND s.disabled_at IS NULL`

const touchSession = `
UPDATE sessions SET last_seen_at = $2 WHERE token_sha256 = $1 AND COALESCE(last_seen_at, created_at) < $3`

// Identity returns whose live session token is: ErrBadLogin when there is none (unknown,
// expired, or idle for longer than Idle). When action is true the request is its person's
// action and keeps the session alive (written at most once a minute); a page's own polling
// passes false, so that an unattended screen still ends its session.
func (s *Sessions) Identity(ctx context.Context, token string, action bool) (Identity, error) {
	if !strings.HasPrefix(token, SessionPrefix) {
		return Identity{}, ErrBadLogin
	}
	now := s.Clock()
	var row struct {
		Identity
		LastSeen time.Time `db:"last_seen"`
	}
	digest := tokenDigest(token)
	err := s.DB.GetContext(ctx, &row, selectSessionIdentity, digest, now, now.Add(-s.idle()))
	if db.IsNoRows(err) {
		return Identity{}, ErrBadLogin
	}
	if err != nil {
		return Identity{}, err
	}
	if action && row.LastSeen.Before(now.Add(-touchEvery)) {
		if _, err := s.DB.ExecContext(ctx, touchSession, digest, now, now.Add(-touchEvery)); err != nil {
			return Identity{}, fmt.Errorf("error recording the session's last action: %w", err)
		}
	}
	return row.Identity, nil
}

// Purge deletes the sessions that have ended (expired, or idle for longer than Idle) and the
// login counts nobody has added to for a day, unless they still hold a lock. It returns how
// many of each it deleted.
func (s *Sessions) Purge(ctx context.Context) (sessions, counts int64, err error) {
	now := s.Clock()
	res, err := s.DB.ExecContext(ctx, `DELETE FROM sessions WHERE practice_id = $1 AND (expires_at <= $2 OR COALESCE(last_seen_at, created_at) <= $3)`,
		s.Practice, now, now.Add(-s.idle()))
	if err != nil {
		return 0, 0, fmt.Errorf("error purging ended sessions: %w", err)
	}
	sessions, _ = res.RowsAffected()
	res, err = s.DB.ExecContext(ctx, `DELETE FROM login_failures WHERE practice_id = $1 AND updated_at < $2 AND (locked_until IS NULL OR locked_until < $3)`,
		s.Practice, now.Add(-limiterRetention), now)
	if err != nil {
		return sessions, 0, fmt.Errorf("error purging old login counts: %w", err)
	}
	counts, _ = res.RowsAffected()
	return sessions, counts, nil
}
