package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/staff"
)

func TestPasswordsAndSessions(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1) ON CONFLICT DO NOTHING`,
		`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'MGR', 'non_clinical', $1, $1)`,
	} {
		if _, err := d.Exec(q, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []struct{ pw, access string }{{"short", ""}, {"long enough password", "boss"}} {
		if err := staff.SetPassword(ctx, d, 1, "MGR", bad.pw, bad.access, audit.ActorCLI, now); !errors.Is(err, errkind.ErrInvalid) {
			t.Errorf("SetPassword(%q, %q) = %v, want invalid", bad.pw, bad.access, err)
		}
	}
	if err := staff.SetPassword(ctx, d, 1, "NOBODY", "long enough password", "", audit.ActorCLI, now); !errors.Is(err, errkind.ErrNotFound) {
		t.Errorf("unknown staff: %v", err)
	}
	if err := staff.SetPassword(ctx, d, 1, "MGR", "long enough password", string(staff.AccessManager), audit.ActorCLI, now); err != nil {
		t.Fatal(err)
	}
	a := &web.Accounts{Sessions: &staff.Sessions{DB: d, Practice: 1, Clock: func() time.Time { return now }}}
	token, id, err := a.Login(ctx, "MGR", "long enough password", "192.0.2.1")
	if err != nil || id.Access != staff.AccessManager || !id.Allowed(staff.AccessManager, staff.AccessAdmin) || id.Allowed(staff.AccessAdmin) {
		t.Fatalf("login = %+v, %v", id, err)
	}
	if _, _, err := a.Login(ctx, "NOBODY", "long enough password", "192.0.2.1"); !errors.Is(err, staff.ErrBadLogin) {
		t.Errorf("unknown staff login: %v", err)
	}

	handler := a.RequireSession(web.RequireAccess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), staff.AccessManager), "/login")
	call := func(method, cookie string) int {
		req := httptest.NewRequest(method, "/audit", nil)
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: cookie})
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := call("GET", token); got != http.StatusNoContent {
		t.Errorf("manager with a session: %d", got)
	}
	if got := call("POST", ""); got != http.StatusUnauthorized {
		t.Errorf("POST without a session: %d, want 401", got)
	}
	if got := call("GET", "oss_forged"); got != http.StatusSeeOther {
		t.Errorf("GET with a forged session: %d, want a redirect to log in", got)
	}
	// A new password ends the open sessions; so does disabling the account.
	if err := staff.SetPassword(ctx, d, 1, "MGR", "another long password", string(staff.AccessNurse), audit.ActorCLI, now); err != nil {
		t.Fatal(err)
	}
	if got := call("GET", token); got != http.StatusSeeOther {
		t.Errorf("old session after a password change: %d", got)
	}
	token, _, err = a.Login(ctx, "MGR", "another long password", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if got := call("GET", token); got != http.StatusForbidden {
		t.Errorf("a nurse on a manager's route: %d, want 403", got)
	}
	if _, err := d.Exec(`UPDATE staff SET disabled_at = $1`, now); err != nil {
		t.Fatal(err)
	}
	if got := call("GET", token); got != http.StatusSeeOther {
		t.Errorf("disabled account's session: %d", got)
	}
}

// TestIdleSessions: before, a session lasted its 12 hours however long its person was away,
// and the queue's refresh would have kept it alive anyway. Now a session ends Idle after its
// person's last action; polling routes need a live session but do not extend it.
func TestIdleSessions(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'UTC', $1, $1) ON CONFLICT DO NOTHING`,
		`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'RN1', 'clinical', $1, $1)`,
	} {
		if _, err := d.Exec(q, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := staff.SetPassword(ctx, d, 1, "RN1", "long enough password", "", audit.ActorCLI, now); err != nil {
		t.Fatal(err)
	}
	clock := now
	a := &web.Accounts{Sessions: &staff.Sessions{DB: d, Practice: 1, Clock: func() time.Time { return clock }}}
	token, _, err := a.Login(ctx, "RN1", "long enough password", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	page, poll := a.RequireSession(ok, "/login"), a.RequireSessionPolling(ok, "/login")
	call := func(h http.Handler, method string, htmx bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/queue/table", nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: token})
		if htmx {
			req.Header.Set("HX-Request", "true")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	clock = now.Add(20 * time.Minute)
	if rec := call(page, "GET", false); rec.Code != http.StatusNoContent {
		t.Fatalf("an action after 20 minutes: %d", rec.Code)
	}
	// Polling every ten seconds for 29 minutes does not keep the session alive...
	for m := 21; m < 50; m++ {
		clock = now.Add(time.Duration(m) * time.Minute)
		if rec := call(poll, "GET", true); rec.Code != http.StatusNoContent {
			t.Fatalf("polling %d minutes after login: %d", m, rec.Code)
		}
	}
	// ... and 30 minutes after the last action, the session is over.
	clock = now.Add(50*time.Minute + time.Second)
	if rec := call(poll, "GET", true); rec.Code != http.StatusUnauthorized || rec.Header().Get("HX-Redirect") != "/login" {
		t.Errorf("polling an idle session: %d %q, want 401 and a redirect to /login", rec.Code, rec.Header().Get("HX-Redirect"))
	}
	if rec := call(page, "GET", false); rec.Code != http.StatusSeeOther {
		t.Errorf("a page on an idle session: %d, want a redirect to log in", rec.Code)
	}
	if rec := call(page, "POST", false); rec.Code != http.StatusUnauthorized {
		t.Errorf("a POST on an idle session: %d, want 401", rec.Code)
	}
	var n int
	if sessions, _, err := a.Purge(ctx); err != nil || sessions != 1 {
		t.Errorf("purge: %d sessions, %v; want the idle one", sessions, err)
	}
	d.Get(&n, `SELECT count(*) FROM sessions`)
	if n != 0 {
		t.Errorf("%d sessions left", n)
	}

	// The timeout is configurable.
	b := &web.Accounts{Sessions: &staff.Sessions{DB: d, Practice: 1, Clock: func() time.Time { return clock }, Idle: 5 * time.Minute}}
	if token, _, err = b.Login(ctx, "RN1", "long enough password", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(6 * time.Minute)
	if rec := call(b.RequireSession(ok, "/login"), "GET", false); rec.Code != http.StatusSeeOther {
		t.Errorf("after 6 minutes with a 5-minute timeout: %d", rec.Code)
	}
}
