package ui_test

import (
	"net/http"
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
