package staff

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

const testPassword = "correct horse battery"

// loginDB returns a fresh database with staff members RN1 to RN<n> whose password is
// testPassword (hashed at bcrypt's lowest cost, to keep the tests quick).
func loginDB(t *testing.T, n int, now time.Time) *sqlx.DB {
	t.Helper()
	d, _ := dbtest.Fresh(t)
	if _, err := d.Exec(`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'UTC', $1, $1) ON CONFLICT DO NOTHING`, now); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := d.Exec(`INSERT INTO staff (practice_id, ext_id, role, password_hash, created_at, updated_at) VALUES (1, $1, 'clinical', $2, $3, $3)`,
			fmt.Sprintf("RN%d", i), string(hash), now); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestConcurrentWrongPasswordsAreCountedFirst: 50 wrong passwords at once for one account.
// Before, the lock was checked before bcrypt and the failure counted after: all 50 passwords
// were checked. Now the attempt is counted first, in one statement: at most loginFailures are
// checked and the rest are refused with a wait.
func TestConcurrentWrongPasswordsAreCountedFirst(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	d := loginDB(t, 1, now)
	var checked atomic.Int32
	a := &Sessions{DB: d, Practice: 1, Clock: func() time.Time { return now }, SlotWait: time.Minute,
		compare: func(hash, pw []byte) error {
			checked.Add(1)
			time.Sleep(20 * time.Millisecond) // a check takes a while: the others arrive meanwhile
			return bcrypt.CompareHashAndPassword(hash, pw)
		}}
	var wg sync.WaitGroup
	var bad, throttled atomic.Int32
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := a.Login(context.Background(), "RN1", fmt.Sprint("wrong password ", i), fmt.Sprintf("192.0.2.%d", i))
			var retry *RetryError
			switch {
			case errors.Is(err, ErrBadLogin):
				bad.Add(1)
			case errors.As(err, &retry) && errors.Is(err, ErrTooManyAttempts) && retry.After > 0:
				throttled.Add(1)
			default:
				t.Errorf("login: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := checked.Load(); n > loginFailures || bad.Load() != n || throttled.Load() != 50-n {
		t.Errorf("%d passwords checked (%d refused as wrong), %d throttled; want at most %d checked and the rest throttled",
			n, bad.Load(), throttled.Load(), loginFailures)
	}
	var audited int
	if err := d.Get(&audited, `SELECT count(*) FROM audit_log WHERE action = 'staff.login_failed' AND actor = 'staff:1' AND entity_id = '1'`); err != nil {
		t.Fatal(err)
	}
	if audited != int(bad.Load()) {
		t.Errorf("%d failed logins in the audit log, want %d", audited, bad.Load())
	}
	var locks int
	d.Get(&locks, `SELECT count(*) FROM audit_log WHERE action = 'staff.login_locked' AND actor = 'staff:1'`)
	if locks != 1 {
		t.Errorf("%d lockouts in the audit log, want 1", locks)
	}
	var leaked int
	d.Get(&leaked, `SELECT count(*) FROM audit_log WHERE detail::text LIKE '%wrong password%'`)
	if leaked != 0 {
		t.Error("a password is in the audit log")
	}
}

// TestLockedAccountDoesNotBlockOthers: before, five wrong passwords from an address locked
// every account behind it (a clinic's proxy). Now the account is locked, with a wait that
// doubles, and another account logs in from the same address.
func TestLockedAccountDoesNotBlockOthers(t *testing.T) {
	c := &clock{now: time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)}
	d := loginDB(t, 2, c.Now())
	a := &Sessions{DB: d, Practice: 1, Clock: c.Now}
	ctx := context.Background()
	const proxy = "198.51.100.7"
	for i := range loginFailures {
		if _, _, err := a.Login(ctx, "RN1", fmt.Sprint("wrong ", i), proxy); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	_, _, err := a.Login(ctx, "rn1", testPassword, proxy) // the id in another case is the same account
	var retry *RetryError
	if !errors.As(err, &retry) || !errors.Is(err, ErrTooManyAttempts) || retry.After != loginLock || retry.Seconds() != 60 {
		t.Fatalf("the right password on a locked account: %v, want a wait of %v", err, loginLock)
	}
	if _, id, err := a.Login(ctx, "RN2", testPassword, proxy); err != nil || id.Staff != "RN2" {
		t.Fatalf("another account from the same address: %v", err)
	}
	// After the lock one more attempt is checked; failing, it locks twice as long.
	c.Add(loginLock)
	if _, _, err := a.Login(ctx, "RN1", "wrong again", proxy); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("after the lock: %v", err)
	}
	if _, _, err := a.Login(ctx, "RN1", testPassword, proxy); !errors.As(err, &retry) || retry.After != 2*loginLock {
		t.Fatalf("second lock: %v, want a wait of %v", err, 2*loginLock)
	}
	c.Add(2 * loginLock)
	if _, _, err := a.Login(ctx, "RN1", testPassword, proxy); err != nil {
		t.Fatalf("the right password after the lock: %v", err)
	}
	var left int
	d.Get(&left, `SELECT count(*) FROM login_failures WHERE key = 'staff:rn1'`)
	if left != 0 {
		t.Error("a successful login left the account's count")
	}
}

// TestAddressAllowsAClinic: a whole clinic behind one address may fail many logins before
// the address is limited; successes do not count against it.
func TestAddressAllowsAClinic(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	d := loginDB(t, 30, now)
	a := &Sessions{DB: d, Practice: 1, Clock: func() time.Time { return now }}
	ctx := context.Background()
	for i := range 40 {
		if _, _, err := a.Login(ctx, fmt.Sprintf("RN%d", i%30+1), testPassword, "203.0.113.9"); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	for i := range addrFailures {
		if _, _, err := a.Login(ctx, fmt.Sprintf("RN%d", i%25+1), "wrong", "203.0.113.9"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("failure %d from the clinic's address: %v, want it checked", i+1, err)
		}
	}
	if _, _, err := a.Login(ctx, "RN30", testPassword, "203.0.113.9"); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("after %d failures from one address: %v, want it limited", addrFailures, err)
	}
	if _, _, err := a.Login(ctx, "RN30", testPassword, "203.0.113.10"); err != nil {
		t.Errorf("another address: %v", err)
	}
}

// TestCountsSurviveRestart: before, the counts lived in one process's memory; a restart (or
// another replica) forgot them. Now a new Accounts on the same database sees the lock.
func TestCountsSurviveRestart(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	d := loginDB(t, 1, now)
	ctx := context.Background()
	first := &Sessions{DB: d, Practice: 1, Clock: func() time.Time { return now }}
	for range loginFailures {
		first.Login(ctx, "RN1", "wrong", "192.0.2.1")
	}
	restarted := &Sessions{DB: d, Practice: 1, Clock: func() time.Time { return now }}
	if _, _, err := restarted.Login(ctx, "RN1", testPassword, "192.0.2.2"); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("after a restart: %v, want the account still locked", err)
	}
	// Ids the database cannot store are refused as wrong, not as an outage.
	for _, id := range []string{"RN\x00", "RN\xff"} {
		if _, _, err := restarted.Login(ctx, id, testPassword, "192.0.2.2"); !errors.Is(err, ErrBadLogin) {
			t.Errorf("login as %q: %v", id, err)
		}
	}
}

// TestPasswordChecksAreBounded: before, 60 logins at once ran 60 bcrypt checks on every CPU
// and a signed webhook waited 8.6 s. Now at most PasswordChecks run at once; a login that
// cannot start one soon is answered busy, and its attempt is not counted.
func TestPasswordChecksAreBounded(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	d := loginDB(t, 0, now)
	var running, most atomic.Int32
	a := &Sessions{DB: d, Practice: 1, Clock: func() time.Time { return now }, PasswordChecks: 4, SlotWait: 50 * time.Millisecond,
		compare: func(hash, pw []byte) error {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(100 * time.Millisecond)
			running.Add(-1)
			return bcrypt.ErrMismatchedHashAndPassword
		}}
	var wg sync.WaitGroup
	var busy atomic.Int32
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := a.Login(context.Background(), fmt.Sprint("NOBODY", i), "wrong", fmt.Sprintf("192.0.2.%d", i))
			var retry *RetryError
			switch {
			case errors.As(err, &retry) && errors.Is(err, ErrLoginBusy):
				busy.Add(1)
			case !errors.Is(err, ErrBadLogin):
				t.Errorf("login: %v", err)
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m > 4 {
		t.Errorf("%d password checks ran at once, want at most 4", m)
	}
	if busy.Load() == 0 {
		t.Error("no login was answered busy")
	}
	var counted int
	d.Get(&counted, `SELECT coalesce(sum(failures), 0) FROM login_failures WHERE key LIKE 'staff:%'`)
	if want := 60 - int(busy.Load()); counted != want {
		t.Errorf("%d attempts counted, want %d (the busy ones taken back)", counted, want)
	}
}

// TestPurge: ended sessions and day-old counts go; a live session and a held lock stay.
func TestPurge(t *testing.T) {
	c := &clock{now: time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)}
	d := loginDB(t, 2, c.Now())
	a := &Sessions{DB: d, Practice: 1, Clock: c.Now}
	ctx := context.Background()
	if _, _, err := a.Login(ctx, "RN1", testPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	a.Login(ctx, "RN2", "wrong", "192.0.2.1")
	c.Add(25 * time.Hour)
	if _, _, err := a.Login(ctx, "RN1", testPassword, "192.0.2.2"); err != nil {
		t.Fatal(err)
	}
	sessions, counts, err := a.Purge(ctx)
	if err != nil || sessions != 1 || counts != 2 {
		t.Errorf("purge: %d sessions, %d counts, %v; want RN1's session and the two day-old counts", sessions, counts, err)
	}
	var live int
	d.Get(&live, `SELECT count(*) FROM sessions`)
	if live != 1 {
		t.Errorf("%d sessions left, want RN1's new one", live)
	}
}
