package timelog_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/timelog"
)

// closeMonth closes a billing month of the practice in New York.
func closeMonth(t *testing.T, d *sqlx.DB, m time.Month) {
	t.Helper()
	rates, err := billing.BundledRates()
	if err != nil {
		t.Fatal(err)
	}
	st := &billing.Store{DB: d, Practice: practice.Default, Location: newYork, Rates: rates, Clock: func() time.Time { return now }}
	if _, err := st.Close(context.Background(), audit.ActorCLI, billing.Month{Year: 2026, Month: m}); err != nil {
		t.Fatal(err)
	}
}

// TestImportWarnings imports a file whose entries overlap a stored entry, overlap each other,
// or fall in a closed month: all are stored, each with a warning that names its line.
func TestImportWarnings(t *testing.T) {
	ctx := context.Background()
	s, d := setup(t)
	stored, err := s.Record(ctx, timelog.CLI, draft("P1", 20), timelog.SourceManual) // RN1, Mar 2 10:00–10:20 EST
	if err != nil {
		t.Fatal(err)
	}
	closeMonth(t, d, time.February)
	file := `patients,staff,program,started_at,minutes
P2,RN1,ccm,2026-03-02T10:10:00-05:00,15
P2,RN1,ccm,2026-03-03T09:00:00-05:00,30
P3,RN1,ccm,2026-03-03T09:20:00-05:00,20
P1,MD1,ccm,2026-03-03T09:00:00-05:00,30
P1,RN1,ccm,2026-02-10T09:00:00-05:00,10
P2,RN1,ccm,2026-03-01T00:00:00-05:00,10
P3,RN1,ccm,2026-02-28T23:55:00-05:00,10
`
	res, err := s.ImportFile(ctx, "time.csv", strings.NewReader(file), timelog.CLI)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("time.csv:2: 2026-03-02 10:10–10:25 EST overlaps entry %d of staff RN1: the overlapping time counts for neither until one is amended or voided", stored.ID),
		"time.csv:3: 2026-03-03 09:00–09:30 EST overlaps line 4 of staff RN1",
		"time.csv:4: 2026-03-03 09:20–09:40 EST overlaps line 3 of staff RN1",
		"time.csv:6: 2026-02-10 09:00 EST falls in 2026-02, whose billing was closed on 2026-03-20 08:00 EDT: the closed report does not reflect it (it is listed under amended_after_close)",
		"time.csv:7: 2026-03-01 00:00–00:10 EST overlaps line 8 of staff RN1",
		"time.csv:8: 2026-02-28 23:55 EST – 2026-03-01 00:05 EST overlaps line 7 of staff RN1",
		"time.csv:8: 2026-02-28 23:55 EST falls in 2026-02",
	}
	if res.Rows != 7 || len(res.Warnings) != len(want) {
		t.Fatalf("import = %d rows, warnings:\n%s", res.Rows, warningLines(res.Warnings))
	}
	for i, w := range res.Warnings {
		if !strings.HasPrefix(w.String(), want[i]) {
			t.Errorf("warning %d = %s\nwant %s", i, w, want[i])
		}
	}
	if w := res.Warnings[0]; w.Kind != timelog.WarnOverlap || !slices.Equal(w.Entries, []timelog.EntryID{stored.ID}) || w.Line != 2 || w.File != "time.csv" {
		t.Errorf("overlap warning = %+v", w)
	}
	if w := res.Warnings[3]; w.Kind != timelog.WarnClosedMonth || w.Month != "2026-02" || w.Line != 6 {
		t.Errorf("closed month warning = %+v", w)
	}
	var n int
	if err := d.Get(&n, `SELECT count(*) FROM time_entries`); err != nil || n != 8 {
		t.Errorf("%d entries stored, %v; want all 8", n, err)
	}
}

// TestRecordWarnings: recording, amending and stopping a timer say when the entry overlaps
// another current entry of the staff member or falls in a closed month.
func TestRecordWarnings(t *testing.T) {
	ctx := context.Background()
	s, d := setup(t)
	closeMonth(t, d, time.February)
	first, err := s.Record(ctx, timelog.CLI, draft("P1", 30), timelog.SourceManual)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Warnings) != 0 {
		t.Errorf("the first entry has warnings: %s", warningLines(first.Warnings))
	}
	over := draft("P2", 30)
	over.StartedAt, over.EndedAt = over.StartedAt.Add(20*time.Minute), over.EndedAt.Add(20*time.Minute)
	second, err := s.Record(ctx, timelog.CLI, over, timelog.SourceManual)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Warnings) != 1 || !slices.Equal(second.Warnings[0].Entries, []timelog.EntryID{first.ID}) ||
		!strings.HasPrefix(second.Warnings[0].Message, fmt.Sprintf("2026-03-02 10:20–10:50 EST overlaps entry %d of staff RN1", first.ID)) {
		t.Errorf("overlapping entry warnings:\n%s", warningLines(second.Warnings))
	}
	// Amending the second to start when the first ends settles it; the first stays quiet.
	moved, err := s.Amend(ctx, timelog.CLI, second.ID, timelog.Patch{StartedAt: &first.EndedAt, Minutes: ptr[int64](30)}, "started later")
	if err != nil {
		t.Fatal(err)
	}
	if len(moved.Warnings) != 0 {
		t.Errorf("the amended entry has warnings: %s", warningLines(moved.Warnings))
	}
	// Amending the first onto the second's new time warns again.
	back, err := s.Amend(ctx, timelog.CLI, first.ID, timelog.Patch{Minutes: ptr[int64](40)}, "call ran long")
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Warnings) != 1 || !slices.Equal(back.Warnings[0].Entries, []timelog.EntryID{moved.ID}) {
		t.Errorf("amendment warnings:\n%s", warningLines(back.Warnings))
	}
	feb := draft("P3", 10)
	feb.StartedAt, feb.EndedAt = at("2026-02-27T10:00:00-05:00"), at("2026-02-27T10:10:00-05:00")
	late, err := s.Record(ctx, timelog.CLI, feb, timelog.SourceManual)
	if err != nil {
		t.Fatal(err)
	}
	if len(late.Warnings) != 1 || late.Warnings[0].Kind != timelog.WarnClosedMonth || late.Warnings[0].Month != "2026-02" {
		t.Errorf("closed month warnings:\n%s", warningLines(late.Warnings))
	}
	void, err := s.Void(ctx, timelog.CLI, late.ID, "wrong month")
	if err != nil {
		t.Fatal(err)
	}
	if len(void.Warnings) != 1 || void.Warnings[0].Kind != timelog.WarnClosedMonth {
		t.Errorf("void in a closed month warnings:\n%s", warningLines(void.Warnings))
	}
	// A timer's entry over another entry of the same staff member.
	s.Clock = func() time.Time { return first.StartedAt.Add(5 * time.Minute) }
	tm, err := s.StartTimer(ctx, as(t, s, "RN1"), timelog.TimerStart{Patients: []string{"P2"}, Program: care.CCM})
	if err != nil {
		t.Fatal(err)
	}
	s.Clock = func() time.Time { return first.StartedAt.Add(10 * time.Minute) }
	timed, err := s.StopTimer(ctx, as(t, s, "RN1"), tm.ID, timelog.TimerStop{})
	if err != nil {
		t.Fatal(err)
	}
	if len(timed.Warnings) != 1 || !slices.Equal(timed.Warnings[0].Entries, []timelog.EntryID{back.ID}) {
		t.Errorf("timer entry warnings:\n%s", warningLines(timed.Warnings))
	}
	// Listed entries carry no warnings: they belong to the call that records one.
	list, err := s.List(ctx, timelog.ListFilter{From: at("2026-03-01T00:00:00-05:00"), To: at("2026-04-01T00:00:00-04:00")})
	if err != nil || len(list) == 0 {
		t.Fatalf("list: %d, %v", len(list), err)
	}
	for _, e := range list {
		if e.Warnings != nil {
			t.Errorf("listed entry %d has warnings", e.ID)
		}
	}
}

func warningLines(ws []timelog.Warning) string {
	var b strings.Builder
	for _, w := range ws {
		fmt.Fprintln(&b, w)
	}
	return b.String()
}
