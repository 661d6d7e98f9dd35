package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/history"
)

// migrate makes the months ahead; history partitions lists them; history retain says what it
// did, changes nothing on a dry run, and is audited otherwise.
func TestHistoryCommands(t *testing.T) {
	ctx := context.Background()
	conn := dbtest.Empty(t)
	env := map[string]string{"DATABASE_URL": conn, "OUTREACH_MESSAGE_RETENTION_MONTHS": "24"}
	if _, _, err := runCmd(t, ctx, env, "migrate"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, ctx, env, "history", "partitions")
	if err != nil {
		t.Fatal(err)
	}
	ahead := history.PartitionName("time_entries", history.MonthOf(time.Now()).Add(history.Ahead))
	for _, want := range []string{"messages_default", "checkin_answers_default", ahead, "all"} {
		if !strings.Contains(out, want) {
			t.Errorf("history partitions printed\n%s\nwant %s", out, want)
		}
	}
	out, _, err = runCmd(t, ctx, env, "history", "retain", "--dry-run")
	if err != nil || !strings.Contains(out, "no partition is past the horizon") || !strings.Contains(out, "message bodies would be cleared: 0") {
		t.Errorf("history retain --dry-run: %q, %v", out, err)
	}
	out, _, err = runCmd(t, ctx, env, "history", "retain", "--archive", t.TempDir())
	if err != nil || !strings.Contains(out, "message bodies cleared: 0") {
		t.Errorf("history retain: %q, %v", out, err)
	}
	d, err := db.Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var runs, months int
	if err := d.Get(&runs, `SELECT count(*) FROM audit_log WHERE action = 'history.retain'`); err != nil || runs != 1 {
		t.Errorf("%d retention runs audited (%v), want 1 (not the dry run)", runs, err)
	}
	if err := d.Get(&months, `SELECT message_retention_months FROM practices`); err != nil || months != 24 {
		t.Errorf("the practice keeps texts' words %d months (%v), want 24", months, err)
	}
	if _, _, err := runCmd(t, ctx, map[string]string{"DATABASE_URL": conn, "OUTREACH_RECORD_RETENTION_YEARS": "7"}, "history", "retain"); err == nil ||
		!strings.Contains(err.Error(), "OUTREACH_RECORD_RETENTION_YEARS") {
		t.Errorf("a record kept 7 years: %v, want refused", err)
	}
}
