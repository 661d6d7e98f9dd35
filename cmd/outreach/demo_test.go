package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// The demo's summary counts the items still to work: a resolved urgent item is no longer "1 urgent".
func TestDemoSummaryCountsItemsToWork(t *testing.T) {
	d, _ := dbtest.Fresh(t)
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1)`,
		`INSERT INTO patients (practice_id, ext_id, timezone, created_at, updated_at) VALUES (1, 'DEMO-04', 'America/New_York', $1, $1)`,
		`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'RN-DEMO', 'clinical', $1, $1)`,
		`INSERT INTO escalations (practice_id, patient_id, severity, reason, source, created_at, due_at, updated_at)
			SELECT 1, id, 'urgent', 'Emergency words in a reply', 'emergency', $1, $1, $1 FROM patients`,
		`INSERT INTO escalations (practice_id, patient_id, severity, reason, source, created_at, due_at, updated_at)
			SELECT 1, id, 'high', 'Feels very unwell overall', 'rule', $1, $1, $1 FROM patients`,
	} {
		if _, err := d.Exec(q, now); err != nil {
			t.Fatal(err)
		}
	}
	line, err := demoSummaryLine(context.Background(), d)
	if err != nil || !strings.Contains(line, "queue: 1 urgent, 1 high, 0 routine to work, 0 resolved") {
		t.Fatalf("summary = %q, %v", line, err)
	}
	if _, err := d.Exec(`UPDATE escalations SET status = 'resolved', resolved_at = $1, outcome = 'advised_ed_911',
		resolved_by = (SELECT id FROM staff) WHERE severity = 'urgent'`, now); err != nil {
		t.Fatal(err)
	}
	line, err = demoSummaryLine(context.Background(), d)
	if err != nil || !strings.Contains(line, "queue: 0 urgent, 1 high, 0 routine to work, 1 resolved") {
		t.Errorf("summary after resolving the urgent item = %q, %v", line, err)
	}
}
