package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
)

// SessionCookie is the name of the care team's browser session cookie.
const SessionCookie = "outreach_session"

// SessionTTL is how long a session lasts after login.
const SessionTTL = 12 * time.Hour

// MinPassword is the shortest password accepted.
const MinPassword = 12

// Login limits: this many failures for one staff id, or from one address, within the window
// lock further attempts until the window has passed.
const (
	loginFailures = 5
	loginWindow   = 15 * time.Minute
)

// Errors of logging in.
var (
	ErrBadLogin        = errors.New("unknown staff id or wrong password")
	ErrTooManyAttempts = errors.New("too many failed logins: wait 15 minutes")
)

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
// access level; their open sessions end.
func SetPassword(ctx context.Context, d *sqlx.DB, practiceID int64, staff, password, access string, actor audit.Actor, now time.Time) error {
	if n := len([]rune(password)); n < MinPassword || len(password) > 72 {
		return Errorf(ErrInvalid, "a password needs %d to 72 characters (this one has %d)", MinPassword, n)
	}
	if access != "" && !slices.Contains([]string{AccessNurse, AccessPractitioner, AccessManager, AccessAdmin}, access) {
		return Errorf(ErrInvalid, "access %q is not nurse, practitioner, manager or admin", access)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return fmt.Errorf("error hashing password: %w", err)
	}
	return db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
		var id int64
		err := tx.GetContext(ctx, &id, setPassword, practiceID, staff, string(hash), access, now)
		if db.IsNoRows(err) {
			return Errorf(ErrNotFound, "no staff member %q", staff)
		}
		if err != nil {
			return fmt.Errorf("error storing password: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE practice_id = $1 AND staff_id = $2`, practiceID, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: practiceID, At: now, Actor: actor, Action: "staff.password",
			Entity: "staff", EntityID: fmt.Sprint(id), Detail: map[string]any{"access": access}})
	})
}

// Accounts logs staff in and out of browser sessions.
type Accounts struct {
	DB       *sqlx.DB
	Practice int64
	Clock    func() time.Time
	Secure   bool // cookies only over HTTPS (the public URL is https)

	mu       sync.Mutex
	failures map[string][]time.Time // by "staff:ID" and "ip:ADDR"
}

const selectLogin = `
SELECT practice_id, id, ext_id, role, access, COALESCE(password_hash, '') AS password_hash
FROM staff WHERE practice_id = $1 AND ext_id = $2 AND disabled_at IS NULL`

const insertSession = `
INSERT INTO sessions (token_sha256, practice_id, staff_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`

// Login checks a staff id and password and opens a session; it returns the session token.
func (a *Accounts) Login(ctx context.Context, staff, password, addr string) (string, Identity, error) {
	now := a.Clock()
	keys := []string{"staff:" + strings.ToLower(staff), "ip:" + addr}
	if a.locked(keys, now) {
		return "", Identity{}, ErrTooManyAttempts
	}
	var row struct {
		Identity
		Hash string `db:"password_hash"`
	}
	err := a.DB.GetContext(ctx, &row, selectLogin, a.Practice, staff)
	if err != nil && !db.IsNoRows(err) {
		return "", Identity{}, fmt.Errorf("error reading staff account: %w", err)
	}
	hash := []byte(row.Hash)
	if row.Hash == "" {
		hash = dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || row.Hash == "" {
		a.fail(keys, now)
		return "", Identity{}, ErrBadLogin
	}
	token, err := randomToken("oss_")
	if err != nil {
		return "", Identity{}, err
	}
	err = db.WithTx(ctx, a.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, insertSession, tokenDigest(token), a.Practice, row.StaffID, now, now.Add(SessionTTL)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{PracticeID: a.Practice, At: now, Actor: audit.Staff(row.StaffID),
			Action: "staff.login", Entity: "staff", EntityID: fmt.Sprint(row.StaffID)})
	})
	if err != nil {
		return "", Identity{}, fmt.Errorf("error opening session: %w", err)
	}
	a.clear(keys[:1])
	return token, row.Identity, nil
}

func randomToken(prefix string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("error making token: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

func (a *Accounts) locked(keys []string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failures == nil {
		a.failures = map[string][]time.Time{}
	}
	for _, k := range keys {
		recent := a.failures[k][:0]
		for _, t := range a.failures[k] {
			if now.Sub(t) < loginWindow {
				recent = append(recent, t)
			}
		}
		if len(recent) == 0 {
			delete(a.failures, k)
			continue
		}
		a.failures[k] = recent
		if len(recent) >= loginFailures {
			return true
		}
	}
	return false
}

func (a *Accounts) fail(keys []string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		a.failures[k] = append(a.failures[k], now)
	}
	// Failures from many addresses must not grow the map without bound: past a size, the keys
	// whose failures are all older than the window go.
	if len(a.failures) > maxFailureKeys {
		for k, ts := range a.failures {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= loginWindow {
				delete(a.failures, k)
			}
		}
	}
}

// maxFailureKeys is how many staff ids and addresses the login limiter tracks before it drops
// the stale ones.
const maxFailureKeys = 10000

func (a *Accounts) clear(keys []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, k := range keys {
		delete(a.failures, k)
	}
}

// SetCookie gives the browser its session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS.
func (a *Accounts) SetCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: a.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(SessionTTL / time.Second)})
}

// Logout ends the request's session and clears the cookie.
func (a *Accounts) Logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if _, err := a.DB.ExecContext(r.Context(), `DELETE FROM sessions WHERE token_sha256 = $1`, tokenDigest(c.Value)); err != nil {
			return fmt.Errorf("error ending session: %w", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: a.Secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	return nil
}

const selectSessionIdentity = `
SELECT s.practice_id, s.id, s.ext_id, s.role, s.access
FROM sessions x JOIN staff s ON s.practice_id = x.practice_id AND s.id = x.staff_id
WHERE x.token_sha256 = $1 AND x.expires_at > $2 AND s.disabled_at IS NULL`

// RequireSession lets through only requests with a live session, carrying its identity. A page
// request without one is sent to loginPath; anything else gets 401.
func (a *Accounts) RequireSession(next http.Handler, loginPath string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.identity(r)
		if err != nil {
			if errors.Is(err, ErrBadLogin) {
				if r.Method == http.MethodGet && r.Header.Get("HX-Request") == "" {
					http.Redirect(w, r, loginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
					return
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

func (a *Accounts) identity(r *http.Request) (Identity, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || !strings.HasPrefix(c.Value, "oss_") {
		return Identity{}, ErrBadLogin
	}
	var id Identity
	err = a.DB.GetContext(r.Context(), &id, selectSessionIdentity, tokenDigest(c.Value), a.Clock())
	if db.IsNoRows(err) {
		return Identity{}, ErrBadLogin
	}
	if err != nil {
		return Identity{}, err
	}
	return id, nil
}
