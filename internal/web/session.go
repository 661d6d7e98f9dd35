package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/staff"
)

// SessionCookie is the name of the care team's browser session cookie.
const SessionCookie = "outreach_session"

// SessionTTL is how long a session lasts after login.
const SessionTTL = 12 * time.Hour

// MinPassword is the shortest password accepted.
const MinPassword = 12

// bcryptCost is the work factor of stored passwords.
const bcryptCost = 12

// dummyHash is compared against when the staff id is unknown, so that a login takes as long
// whether or not the id exists.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no such staff member here"), bcryptCost)

const setPassword = `
UPDATE staff SET password_hash = $3, access = COALESCE(NULLIF($4, ''), access), updated_at = $5
WHERE practice_id = $1 AND ext_id = $2
RETURNING id`

// SetPassword stores a staff member's password (bcrypt) and, when access is not empty, their
// access level; their open sessions end and their API tokens are revoked.
func SetPassword(ctx context.Context, d *sqlx.DB, practiceID int64, member, password, access string, actor audit.Actor, now time.Time) error {
	if n := len([]rune(password)); n < MinPassword || len(password) > 72 {
		return errkind.Errorf(errkind.ErrInvalid, "a password needs %d to 72 characters (this one has %d)", MinPassword, n)
	}
	if access != "" && !staff.KnownAccess(access) {
		return errkind.Errorf(errkind.ErrInvalid, "access %q is not nurse, practitioner, manager or admin", access)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("error hashing password: %w", err)
	}
	return db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, setPassword, practiceID, member, string(hash), access, now)
		if db.IsNoRows(err) {
			return errkind.Errorf(errkind.ErrNotFound, "no member member %q", member)
		}
		if err != nil {
			return fmt.Errorf("error storing password: %w", err)
		}
		tokens, sessions, err := revokeCredentials(ctx, tx, practiceID, id, now)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: practiceID, At: now, Actor: actor, Action: "staff.password",
			Entity: "staff", EntityID: fmt.Sprint(id), Detail: map[string]any{"access": access, "tokens_revoked": tokens, "sessions_ended": sessions}})
	})
}

// DefaultIdleTimeout is how long a session lasts without an action of its person.
const DefaultIdleTimeout = 30 * time.Minute

// touchEvery is how often a session's last action is written: at most once a minute, not on
// every request.
const touchEvery = time.Minute

// Accounts logs staff in and out of browser sessions.
type Accounts struct {
	DB       *sqlx.DB
	Practice practice.ID
	Clock    func() time.Time
	Secure   bool // cookies only over HTTPS (the public URL is https)
	// Idle ends a session this long after its person's last action; 0: DefaultIdleTimeout.
	Idle time.Duration
	// Proxies are the reverse proxies trusted to name the client's address.
	Proxies Proxies
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

func (a *Accounts) init() {
	a.once.Do(func() {
		n := a.PasswordChecks
		if n <= 0 {
			n = min(runtime.GOMAXPROCS(0), 4)
		}
		a.slots = make(chan struct{}, n)
		if a.compare == nil {
			a.compare = bcrypt.CompareHashAndPassword
		}
	})
}

func (a *Accounts) idle() time.Duration {
	if a.Idle > 0 {
		return a.Idle
	}
	return DefaultIdleTimeout
}

// ClientAddr is the address a request's login attempts are counted on.
func (a *Accounts) ClientAddr(r *http.Request) string { return a.Proxies.ClientAddr(r) }

// acquire takes a password check slot, waiting at most SlotWait; release gives it back.
func (a *Accounts) acquire(ctx context.Context) bool {
	wait := a.SlotWait
	if wait <= 0 {
		wait = 2 * time.Second
	}
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (a *Accounts) release() { <-a.slots }

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
func (a *Accounts) Login(ctx context.Context, member, password, addr string) (string, staff.Identity, error) {
	a.init()
	now := a.Clock()
	if member == "" || !utf8.ValidString(member) || strings.ContainsRune(member, 0) {
		return "", staff.Identity{}, ErrBadLogin // no account has such an id, and the database cannot store it
	}
	lim := limiter{db: a.DB, practice: int64(a.Practice)}
	keys := attemptKeys(member, addr)
	locked, err := lim.count(ctx, keys, now)
	if err != nil {
		return "", staff.Identity{}, err
	}
	var row struct {
		staff.Identity
		Hash string `db:"password_hash"`
	}
	err = a.DB.GetContext(ctx, &row, selectLogin, a.Practice, member)
	if err != nil && !db.IsNoRows(err) {
		return "", staff.Identity{}, errors.Join(fmt.Errorf("error reading staff account: %w", err), lim.uncount(ctx, keys))
	}
	if !a.acquire(ctx) {
		if err := lim.uncount(ctx, keys); err != nil {
			return "", staff.Identity{}, err
		}
		return "", staff.Identity{}, &RetryError{Err: ErrLoginBusy, After: time.Second}
	}
	hash := []byte(row.Hash)
	if row.Hash == "" {
		hash = dummyHash
	}
	bad := a.compare(hash, []byte(password)) != nil || row.Hash == ""
	a.release()
	if bad {
		if err := a.recordFailure(ctx, row.StaffID, addr, locked, now); err != nil {
			return "", staff.Identity{}, err
		}
		return "", staff.Identity{}, ErrBadLogin
	}
	token, err := randomToken("oss_")
	if err != nil {
		return "", staff.Identity{}, err
	}
	err = db.WithTx(ctx, a.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, insertSession, tokenDigest(token), a.Practice, row.StaffID, now, now.Add(SessionTTL)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: int64(a.Practice), At: now, Actor: audit.Staff(row.StaffID),
			Action: "staff.login", Entity: "staff", EntityID: fmt.Sprint(row.StaffID)})
	})
	if err != nil {
		return "", staff.Identity{}, fmt.Errorf("error opening session: %w", err)
	}
	// The account's count is cleared; the address keeps its failures but not this success.
	if err := errors.Join(lim.clear(ctx, keys[len(keys)-1]), lim.uncount(ctx, keys[:len(keys)-1])); err != nil {
		return "", staff.Identity{}, err
	}
	return token, row.Identity, nil
}

// recordFailure writes a failed login to the audit log (never the password, nor a staff id
// that is nobody's: people type passwords into the wrong field), and a lock it caused.
func (a *Accounts) recordFailure(ctx context.Context, staffID int64, addr string, locked []string, now time.Time) error {
	actor, entityID := audit.ActorSystem, ""
	if staffID != 0 {
		actor, entityID = audit.Staff(staffID), fmt.Sprint(staffID)
	}
	return db.WithTx(ctx, a.DB, func(tx *sqlx.Tx) error {
		if err := audit.Record(ctx, tx, audit.Event{PracticeID: int64(a.Practice), At: now, Actor: actor, Action: "staff.login_failed",
			Entity: "staff", EntityID: entityID, Detail: map[string]any{"addr": addr}}); err != nil {
			return err
		}
		for _, k := range locked {
			kind, _, _ := strings.Cut(k, ":")
			if err := audit.Record(ctx, tx, audit.Event{PracticeID: int64(a.Practice), At: now, Actor: actor, Action: "staff.login_locked",
				Entity: "staff", EntityID: entityID, Detail: map[string]any{"addr": addr, "by": kind}}); err != nil {
				return err
			}
		}
		return nil
	})
}

func randomToken(prefix string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("error making token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

// SetCookie gives the browser its session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS.
func (a *Accounts) SetCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: a.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(SessionTTL / time.Second)})
}

// Logout ends the request's session, writes it to the audit log and clears the cookie.
func (a *Accounts) Logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		ctx := r.Context()
		err := db.WithTx(ctx, a.DB, func(tx *sqlx.Tx) error {
			var staffID int64
			err := tx.GetContext(ctx, &staffID, `DELETE FROM sessions WHERE token_sha256 = $1 RETURNING staff_id`, tokenDigest(c.Value))
			if db.IsNoRows(err) {
				return nil
			}
			if err != nil {
				return err
			}
			return audit.Record(ctx, tx, audit.Event{PracticeID: int64(a.Practice), At: a.Clock(), Actor: audit.Staff(staffID),
				Action: "staff.logout", Entity: "staff", EntityID: fmt.Sprint(staffID)})
		})
		if err != nil {
			return fmt.Errorf("error ending session: %w", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: a.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	return nil
}

const selectSessionIdentity = `
SELECT s.practice_id, s.id, s.ext_id, s.role, s.access, COALESCE(x.last_seen_at, x.created_at) AS last_seen
FROM sessions x JOIN staff s ON s.practice_id = x.practice_id AND s.id = x.staff_id
WHERE x.token_sha256 = $1 AND x.expires_at > $2 AND COALESCE(x.last_seen_at, x.created_at) > $3 AND s.disabled_at IS NULL`

const touchSession = `
UPDATE sessions SET last_seen_at = $2 WHERE token_sha256 = $1 AND COALESCE(last_seen_at, created_at) < $3`

// RequireSession lets through only requests with a live session, carrying its identity, and
// counts the request as its person's action. A page request without a live session (none, or
// one idle for longer than Idle) is sent to loginPath; anything else gets 401, and an htmx
// request is told to load loginPath.
func (a *Accounts) RequireSession(next http.Handler, loginPath string) http.Handler {
	return a.requireSession(next, loginPath, true)
}

// RequireSessionPolling is RequireSession for the requests a page sends by itself on a timer
// (a table's refresh, a claim's renewal). They need a live session but are not its person's
// action: a page left open on an unattended screen must still end its session when the idle
// timeout passes. The route decides this, not a request header, so nothing the browser sends
// can make a person's action count as polling or polling count as an action.
func (a *Accounts) RequireSessionPolling(next http.Handler, loginPath string) http.Handler {
	return a.requireSession(next, loginPath, false)
}

func (a *Accounts) requireSession(next http.Handler, loginPath string, action bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.identity(r, action)
		if err != nil {
			if errors.Is(err, ErrBadLogin) {
				if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
					http.Redirect(w, r, loginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
				}
				if r.Header.Get("HX-Request") != "" {
					w.Header().Set("HX-Redirect", loginPath)
				}
				WriteError(w, http.StatusUnauthorized, "log in first")
				return
			}
			WriteError(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}

func (a *Accounts) identity(r *http.Request, action bool) (staff.Identity, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || !strings.HasPrefix(c.Value, "oss_") {
		return staff.Identity{}, ErrBadLogin
	}
	now := a.Clock()
	var row struct {
		staff.Identity
		LastSeen time.Time `db:"last_seen"`
	}
	digest := tokenDigest(c.Value)
	err = a.DB.GetContext(r.Context(), &row, selectSessionIdentity, digest, now, now.Add(-a.idle()))
	if db.IsNoRows(err) {
		return staff.Identity{}, ErrBadLogin
	}
	if err != nil {
		return staff.Identity{}, err
	}
	if action && row.LastSeen.Before(now.Add(-touchEvery)) {
		if _, err := a.DB.ExecContext(r.Context(), touchSession, digest, now, now.Add(-touchEvery)); err != nil {
			return staff.Identity{}, fmt.Errorf("error recording the session's last action: %w", err)
		}
	}
	return row.Identity, nil
}

// Purge deletes the sessions that have ended (expired, or idle for longer than Idle) and the
// login counts nobody has added to for a day, unless they still hold a lock. It returns how
// many of each it deleted.
func (a *Accounts) Purge(ctx context.Context) (sessions, counts int64, err error) {
	now := a.Clock()
	res, err := a.DB.ExecContext(ctx, `DELETE FROM sessions WHERE practice_id = $1 AND (expires_at <= $2 OR COALESCE(last_seen_at, created_at) <= $3)`,
		a.Practice, now, now.Add(-a.idle()))
	if err != nil {
		return 0, 0, fmt.Errorf("error purging ended sessions: %w", err)
	}
	sessions, _ = res.RowsAffected()
	res, err = a.DB.ExecContext(ctx, `DELETE FROM login_failures WHERE practice_id = $1 AND updated_at < $2 AND (locked_until IS NULL OR locked_until < $3)`,
		a.Practice, now.Add(-limiterRetention), now)
	if err != nil {
		return sessions, 0, fmt.Errorf("error purging old login counts: %w", err)
	}
	counts, _ = res.RowsAffected()
	return sessions, counts, nil
}
