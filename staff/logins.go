package staff

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Login limits. Every attempt is counted in the database before its password is checked, by
// account and by address; a count reaching its limit locks the key at once, so that attempts
// racing it are refused without a password check. After a lock ends one more attempt is
// checked; if it fails too the next lock is twice as long, up to loginMaxLock. A successful
// login clears the account's count and takes its attempt off the address's count; a count
// forgets after loginWindow without attempts.
const (
	loginFailures = 5   // attempts on one account before it is locked
	addrFailures  = 100 // failed attempts from one address (a clinic's proxy) before it is locked
	loginWindow   = 15 * time.Minute
	loginLock     = time.Minute      // the first lock; each next one doubles
	loginMaxLock  = 15 * time.Minute // the longest lock
	// limiterRetention is how long a count nobody has added to is kept.
	limiterRetention = 24 * time.Hour
)

// Errors of logging in.
var (
	ErrBadLogin        = errors.New("unknown staff id or wrong password")
	ErrTooManyAttempts = errors.New("too many failed logins")
	ErrLoginBusy       = errors.New("too many logins at once")
)

// RetryError is a login refused for now: its Err is ErrTooManyAttempts or ErrLoginBusy, and
// After is how long to wait.
type RetryError struct {
	Err   error
	After time.Duration
}

func (e *RetryError) Error() string {
	wait := "a moment"
	switch s := e.Seconds(); {
	case s >= 120:
		wait = fmt.Sprintf("%d minutes", (s+59)/60)
	case s > 1:
		wait = fmt.Sprintf("%d seconds", s)
	}
	return e.Err.Error() + ": try again in " + wait
}

func (e *RetryError) Unwrap() error { return e.Err }

// Seconds is the wait in whole seconds, at least 1, as a Retry-After header gives it.
func (e *RetryError) Seconds() int { return max(1, int(math.Ceil(e.After.Seconds()))) }

// countAttempt counts an attempt on each key of $3 (an address first, then the account, so that
// concurrent statements lock rows in the same order) and, in the same statement, locks a key
// whose count reaches its limit ($4 for an account, $5 for an address). A locked key's row is
// left as it is and not returned: the attempt may be checked only when every key came back.
const countAttempt = `
INSERT INTO login_failures AS f (practice_id, key, failures, window_start, locked_until, updated_at)
SELECT $1::bigint, k.key, 1, $2::timestamptz, NULL::timestamptz, $2::timestamptz FROM unnest($3::text[]) WITH ORDINALITY AS k(key, n) ORDER BY k.n
ON CONFLICT (practice_id, key) DO UPDATE SET
	failures = CASE WHEN greatest(f.updated_at, f.locked_until) <= $2 - make_interval(secs => $6::float8) THEN 1 ELSE f.failures + 1 END,
	window_start = CASE WHEN greatest(f.updated_at, f.locked_until) <= $2 - make_interval(secs => $6::float8) THEN $2 ELSE f.window_start END,
	locked_until = CASE
		WHEN greatest(f.updated_at, f.locked_until) <= $2 - make_interval(secs => $6::float8) THEN NULL
		WHEN f.failures + 1 >= CASE WHEN f.key LIKE 'addr:%' THEN $5::int ELSE $4::int END
		THEN $2 + make_interval(secs => least($8::float8, $7::float8 * power(2, least(20,
			f.failures + 1 - CASE WHEN f.key LIKE 'addr:%' THEN $5::int ELSE $4::int END))))
		END,
	updated_at = $2
WHERE f.locked_until IS NULL OR f.locked_until <= $2
RETURNING f.key, f.locked_until`

// uncountAttempt takes back an attempt from the keys of $2: one that was not checked (another
// key was locked, or no password check could start), or on the address one that succeeded. A
// lock the attempt itself set goes with it.
const uncountAttempt = `
UPDATE login_failures SET failures = greatest(failures - 1, 0),
	locked_until = CASE WHEN failures - 1 < CASE WHEN key LIKE 'addr:%' THEN $4::int ELSE $3::int END THEN NULL ELSE locked_until END
WHERE practice_id = $1 AND key = ANY($2::text[])`

// limiter counts login attempts in PostgreSQL, so that every replica sees the same counts and a
// restart forgets none.
type limiter struct {
	db       *sqlx.DB
	practice int64
}

// attemptKeys returns the keys an attempt counts on: the address (when known) and the account.
func attemptKeys(member, addr string) []string {
	var keys []string
	if addr != "" {
		keys = append(keys, "addr:"+clip(addr, 200))
	}
	return append(keys, "staff:"+clip(strings.ToLower(member), 200))
}

// clip cuts s to at most n characters.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// count counts an attempt on keys. It returns nil when the attempt may be checked, with the
// keys this attempt locked; or a *RetryError when one of the keys is locked.
func (l limiter) count(ctx context.Context, keys []string, now time.Time) ([]string, error) {
	rows, err := l.db.QueryxContext(ctx, countAttempt, l.practice, now, pq.Array(keys), loginFailures, addrFailures,
		loginWindow.Seconds(), loginLock.Seconds(), loginMaxLock.Seconds())
	if err != nil {
		return nil, fmt.Errorf("error counting a login attempt: %w", err)
	}
	defer rows.Close()
	var counted, locked []string
	for rows.Next() {
		var k string
		var until *time.Time
		if err := rows.Scan(&k, &until); err != nil {
			return nil, fmt.Errorf("error counting a login attempt: %w", err)
		}
		counted = append(counted, k)
		if until != nil && until.After(now) {
			locked = append(locked, k)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error counting a login attempt: %w", err)
	}
	rows.Close()
	if len(counted) == len(keys) {
		return locked, nil
	}
	// A key was locked: the attempt is not checked, and counts on no key.
	if err := l.uncount(ctx, counted); err != nil {
		return nil, err
	}
	var until *time.Time
	if err := l.db.GetContext(ctx, &until, `SELECT max(locked_until) FROM login_failures WHERE practice_id = $1 AND key = ANY($2::text[])`,
		l.practice, pq.Array(keys)); err != nil {
		return nil, fmt.Errorf("error reading a login lock: %w", err)
	}
	wait := time.Second
	if until != nil && until.After(now) {
		wait = until.Sub(now)
	}
	return nil, &RetryError{Err: ErrTooManyAttempts, After: wait}
}

// uncount takes an attempt back from keys.
func (l limiter) uncount(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := l.db.ExecContext(ctx, uncountAttempt, l.practice, pq.Array(keys), loginFailures, addrFailures); err != nil {
		return fmt.Errorf("error taking back a login attempt: %w", err)
	}
	return nil
}

// clear forgets an account's count after it logged in.
func (l limiter) clear(ctx context.Context, key string) error {
	if _, err := l.db.ExecContext(ctx, `DELETE FROM login_failures WHERE practice_id = $1 AND key = $2`, l.practice, key); err != nil {
		return fmt.Errorf("error clearing the login count: %w", err)
	}
	return nil
}
