package ui_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Reading the billing report (page and CSV) and the queue (page and its refresh) leaves a row
// in the audit log naming who read what: the month or the filter, never a patient's data. A
// queue page left open leaves one row per refresh period, not one every ten seconds.
func TestPageReadsAreAudited(t *testing.T) {
	s := newSite(t)
	c := s.client()
	s.login(c, "RN1")
	var nurse int64
	if err := s.db.Get(&nurse, `SELECT id FROM staff WHERE ext_id = 'RN1'`); err != nil {
		t.Fatal(err)
	}
	count := func(action, entityID, detail string) int {
		t.Helper()
		var n int
		if err := s.db.Get(&n, `SELECT count(*) FROM audit_log WHERE actor = 'staff:' || $1 AND action = $2
			AND entity_id = $3 AND detail @> $4::jsonb`, nurse, action, entityID, detail); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, path := range []string{"/billing?month=2026-03", "/billing.csv?month=2026-03", "/?status=open", "/queue/table?status=open", "/queue/table?status=open"} {
		if code, _, body := s.do(c, "GET", path, nil, ""); code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
	}
	for _, tt := range []struct {
		action, entityID, detail string
		want                     int
	}{
		{"billing.read", "2026-03", `{"view": "page"}`, 2},
		{"billing.read", "2026-03", `{"view": "page", "format": "csv"}`, 1},
		{"queue.list", "", `{"status": "open", "view": "page"}`, 1},
		// Two refreshes within the period: one row.
		{"queue.list", "", `{"status": "open", "view": "refresh"}`, 1},
	} {
		if got := count(tt.action, tt.entityID, tt.detail); got != tt.want {
			t.Errorf("%s %s %s: %d rows, want %d", tt.action, tt.entityID, tt.detail, got, tt.want)
		}
	}
	s.mu.Lock()
	s.now = s.now.Add(6 * time.Minute)
	s.mu.Unlock()
	s.do(c, "GET", "/queue/table?status=open", nil, "")
	if got := count("queue.list", "", `{"view": "refresh"}`); got != 2 {
		t.Errorf("a refresh after the period: %d rows, want 2", got)
	}
}

// A page that needs an access the staff member lacks answers 403 with a page of its own (a
// title, a heading that says so, what access it needs, a link back), not the API's JSON.
func TestForbiddenPagesAreHTML(t *testing.T) {
	s := newSite(t)
	c := s.client()
	s.login(c, "RN1")
	for _, tt := range []struct{ method, path, need string }{
		{"GET", "/staff", "needs admin access"},
		{"GET", "/audit", "needs manager or admin access"},
		{"POST", "/staff/FD1/access", "needs admin access"},
		{"POST", "/patients/P1/active", "needs manager or admin access"},
	} {
		req, _ := http.NewRequest(tt.method, s.srv.URL+tt.path, strings.NewReader(url.Values{"access": {"admin"}, "active": {"false"}, "reason": {"x"}}.Encode()))
		if tt.method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", s.srv.URL)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(body)
		if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(page, "<title>Not allowed · Outreach</title>") || !strings.Contains(page, "<h1>Not allowed</h1>") ||
			!strings.Contains(page, tt.need+"; yours is nurse.") || !strings.Contains(page, `<a href="/">Back to the queue</a>`) {
			t.Errorf("%s %s: %d %s\n%s", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), page)
		}
	}
	var access string
	if err := s.db.Get(&access, `SELECT access FROM staff WHERE ext_id = 'FD1'`); err != nil || access != "nurse" {
		t.Errorf("FD1's access is %q (%v): the refused change went through", access, err)
	}
}
