package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/staff"
)

// Every read of the API that shows patients' care or billing leaves a row in the audit log:
// who, what and which month or filter, with internal ids only.
func TestAPIReadsAreAudited(t *testing.T) {
	now := time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC)
	c := apiServer(t, now)
	code, body := c.do("POST", "/api/v1/time-entries", `{"patients": ["P1"], "program": "ccm", "started_at": "2026-03-10T14:00:00Z", "minutes": 20, "activity": "coordination", "note": "called about refills"}`)
	if code != 201 {
		t.Fatalf("recording an entry: %d %s", code, body)
	}
	var entry struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &entry); err != nil {
		t.Fatal(err)
	}
	reads := []struct {
		path                     string
		action, entity, entityID string
		detail                   string
	}{
		{"/api/v1/billing/report?month=2026-03", "billing.read", "billing_month", "2026-03", `{"view": "report", "format": "json"}`},
		{"/api/v1/billing/report?month=2026-03&format=csv", "billing.read", "billing_month", "2026-03", `{"view": "report", "format": "csv"}`},
		{"/api/v1/billing/worklist?month=2026-03", "billing.read", "billing_month", "2026-03", `{"view": "worklist"}`},
		{"/api/v1/time-entries?month=2026-03", "time_entry.list", "time_log", "2026-03", `{"versions": "current"}`},
		{"/api/v1/time-entries?month=2026-03&patient=P1", "time_entry.list", "patient", "<P1>", `{"month": "2026-03"}`},
		{"/api/v1/time-entries/export?month=2026-03", "time_entry.export", "time_log", "2026-03", `{}`},
		{"/api/v1/time-entries/conflicts?month=2026-03", "time_entry.conflicts", "time_log", "2026-03", `{}`},
		{"/api/v1/time-entries/" + itoa(entry.ID) + "/history", "time_entry.history", "time_entry", itoa(entry.ID), `{}`},
		{"/api/v1/escalations?status=open&severity=urgent", "queue.list", "queue", "", `{"status": "open", "severity": "urgent", "view": "api"}`},
	}
	d := c.db(t)
	var p1 string
	if err := d.Get(&p1, `SELECT id::text FROM patients WHERE ext_id = 'P1'`); err != nil {
		t.Fatal(err)
	}
	for _, r := range reads {
		if code, body := c.do("GET", r.path, ""); code != 200 {
			t.Fatalf("GET %s: %d %s", r.path, code, body)
		}
		if r.entityID == "<P1>" {
			r.entityID = p1
		}
		var n int
		if err := d.Get(&n, `SELECT count(*) FROM audit_log a JOIN staff s ON a.actor = 'staff:' || s.id AND s.ext_id = 'RN1'
			WHERE a.action = $1 AND a.entity = $2 AND a.entity_id = $3 AND a.detail @> $4::jsonb`, r.action, r.entity, r.entityID, r.detail); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("GET %s left %d audit rows %s %s/%s %s, want 1", r.path, n, r.action, r.entity, r.entityID, r.detail)
		}
	}
	// No patient's words or own id in any row's detail.
	var leaks int
	if err := d.Get(&leaks, `SELECT count(*) FROM audit_log WHERE detail::text LIKE '%P1%' OR detail::text LIKE '%refills%'`); err != nil {
		t.Fatal(err)
	}
	if leaks != 0 {
		t.Errorf("%d audit rows carry a patient's own id or an entry's content", leaks)
	}
}

// Managers export the audit log of a range of days as JSON lines; the export is itself
// audited; nurses cannot; bad dates are a 400.
func TestAuditExportAPI(t *testing.T) {
	now := time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC)
	c := apiServer(t, now)
	d := c.db(t)
	if _, err := d.Exec(`UPDATE staff SET access = 'manager' WHERE ext_id = 'MD1'`); err != nil {
		t.Fatal(err)
	}
	token, err := staff.NewToken(context.Background(), d, 1, "MD1", audit.ActorCLI, now)
	if err != nil {
		t.Fatal(err)
	}
	mgr := apiClient{t: t, base: c.base, token: token}
	// Events on the days around the range, in the practice's zone (America/New_York).
	for _, at := range []string{"2026-03-01T04:59:00Z", "2026-03-01T05:00:00Z", "2026-03-03T04:59:59Z", "2026-03-03T05:00:00Z"} {
		ts, _ := time.Parse(time.RFC3339, at)
		if err := audit.Record(context.Background(), d, audit.Event{PracticeID: 1, At: ts, Actor: audit.ActorSystem,
			Action: "patient.update", Entity: "patient", EntityID: "7", Detail: map[string]any{"at": at}}); err != nil {
			t.Fatal(err)
		}
	}
	if code, body := c.do("GET", "/api/v1/audit/export?from=2026-03-01&to=2026-03-02", ""); code != 403 {
		t.Errorf("a nurse's export: %d %s", code, body)
	}
	for _, q := range []string{"from=2026-03-01", "from=2026-03-01&to=March", "from=2026-03-05&to=2026-03-01"} {
		if code, body := mgr.do("GET", "/api/v1/audit/export?"+q, ""); code != 400 || !strings.Contains(body, `"error"`) {
			t.Errorf("export ?%s: %d %s, want 400", q, code, body)
		}
	}
	code, body := mgr.do("GET", "/api/v1/audit/export?from=2026-03-01&to=2026-03-02", "")
	if code != 200 {
		t.Fatalf("export: %d %s", code, body)
	}
	var got []string
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		var e audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q is not an entry: %v", sc.Text(), err)
		}
		var det map[string]string
		_ = json.Unmarshal(e.Detail, &det)
		got = append(got, det["at"])
	}
	if strings.Join(got, " ") != "2026-03-01T05:00:00Z 2026-03-03T04:59:59Z" {
		t.Errorf("exported %q, want the two events of March 1 and 2 in New York", got)
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM audit_log a JOIN staff s ON a.actor = 'staff:' || s.id AND s.ext_id = 'MD1'
		WHERE a.action = 'audit_log.export' AND a.detail = '{"from": "2026-03-01", "to": "2026-03-02"}'`); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the export left %d audit rows, want 1", n)
	}
}

// The command line exports the same lines to a new file, refuses to overwrite one, and
// records the export.
func TestAuditExportCommand(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 25, 16, 0, 0, 0, time.UTC)
	c := apiServer(t, now)
	d := c.db(t)
	if err := audit.Record(ctx, d, audit.Event{PracticeID: 1, At: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC), Actor: audit.ActorSystem,
		Action: "patient.update", Entity: "patient", EntityID: "7"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": c.conn}
	out := filepath.Join(t.TempDir(), "audit.jsonl")
	if _, stderr, err := runCmd(t, ctx, env, "audit", "export", "--from", "2026-03-02", "--to", "2026-03-02", "--out", out); err != nil || !strings.Contains(stderr, "1 audit events written") {
		t.Fatalf("audit export: %v %s", err, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], `"action":"patient.update"`) {
		t.Errorf("file = %q", b)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, %v", fi.Mode(), err)
	}
	if _, _, err := runCmd(t, ctx, env, "audit", "export", "--from", "2026-03-02", "--to", "2026-03-02", "--out", out); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("overwrite: %v", err)
	}
	stdout, _, err := runCmd(t, ctx, env, "audit", "export", "--from", "2026-03-02", "--to", "2026-03-02")
	if err != nil || strings.Count(stdout, "\n") != 1 {
		t.Errorf("to standard output: %q, %v", stdout, err)
	}
	if _, _, err := runCmd(t, ctx, env, "audit", "export", "--from", "2026-03-02"); err == nil || !strings.Contains(err.Error(), "to is missing") {
		t.Errorf("without --to: %v", err)
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM audit_log WHERE actor = 'cli' AND action = 'audit_log.export'`); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d exports recorded, want 2", n)
	}
}
