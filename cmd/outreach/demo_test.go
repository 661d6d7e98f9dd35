package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/timelog"
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

// TestDemoMonthBills seeds the demo and its month so far, and reads the month's billing as a
// manager would: one patient 3 minutes short of 99490, complex CCM, RPM management with an
// interactive call, ordinary 99490 patients, a worklist, no conflicts; seeding again adds
// nothing.
func TestDemoMonthBills(t *testing.T) {
	ctx := context.Background()
	d, conn := dbtest.Fresh(t)
	cfg, err := LoadConfig(envFrom(map[string]string{"DATABASE_URL": conn}), readFiles(nil))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 9, 16, 0, 0, 0, time.UTC) // a Wednesday, 11:00 in New York
	a := &app{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: func() time.Time { return now }}
	month := billing.MonthOf(now, cfg.Location)
	from, to := month.Bounds(cfg.Location)

	seed := func() (int, int) {
		t.Helper()
		if _, err := a.seedDemo(ctx, d); err != nil {
			t.Fatal(err)
		}
		recorded, skipped, err := a.seedDemoMonth(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		return recorded, skipped
	}
	if recorded, skipped := seed(); recorded != len(demoMonth) || skipped != 0 {
		t.Fatalf("seeded %d entries, %d skipped; want %d, 0", recorded, skipped, len(demoMonth))
	}
	summary := func() string {
		t.Helper()
		rep, err := a.billingStore(d).Report(ctx, month)
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, r := range rep.Rows {
			if r.Seconds == 0 {
				continue
			}
			s := fmt.Sprintf("%s %s %dm %s", r.Patient, r.Program, r.Seconds/60, r.Status)
			for _, c := range r.Codes {
				s += fmt.Sprintf(" %s×%d", c.Code, c.Units)
			}
			if r.Next != nil {
				s += fmt.Sprintf(" (next %s in %dm)", r.Next.Code, r.Next.MinutesNeeded)
			}
			rows = append(rows, s)
		}
		var work []string
		for _, w := range billing.Worklist(rep.Report, now, cfg.Location, 10) {
			work = append(work, fmt.Sprintf("%s %s %dm", w.Patient, w.Code, w.MinutesNeeded))
		}
		return strings.Join(rows, "\n") + "\nworklist: " + strings.Join(work, ", ")
	}
	want := `DEMO-01 ccm 17m below_threshold (next 99490 in 3m)
DEMO-02 ccm 63m billable 99487×1 (next 99489 in 27m)
DEMO-03 ccm 24m billable 99490×1 (next 99439 in 16m)
DEMO-05 ccm 41m billable 99490×1 99439×1 (next 99439 in 19m)
DEMO-07 ccm 33m billable 99490×1 (next 99439 in 7m)
DEMO-08 rpm 23m billable 99457×1 (next 99458 in 17m)
worklist: DEMO-01 99490 3m, DEMO-07 99439 7m`
	got := summary()
	if got != want {
		t.Errorf("the demo month's billing:\n%s\nwant\n%s", got, want)
	}

	// The time came from worked items and timers, in working hours of the month so far, and no
	// staff member's entries overlap.
	times := a.timelog(d)
	entries, err := times.List(ctx, timelog.ListFilter{From: from, To: to, AllVersion: true})
	if err != nil {
		t.Fatal(err)
	}
	sources := map[timelog.Source]int{}
	for _, e := range entries {
		sources[e.Source]++
		local := e.StartedAt.In(cfg.Location)
		if e.StartedAt.Before(from) || e.EndedAt.After(now) || local.Hour() < 8 || e.EndedAt.In(cfg.Location).Hour()*60+e.EndedAt.In(cfg.Location).Minute() > 17*60+30 ||
			local.Weekday() == time.Saturday || local.Weekday() == time.Sunday {
			t.Errorf("entry %d of %s from %s to %s is outside the month's working hours so far", e.ID, e.Patients[0], e.StartedAt, e.EndedAt)
		}
	}
	if sources[timelog.SourceEscalation] != 4 || sources[timelog.SourceTimer] != 7 || len(entries) != 11 {
		t.Errorf("entries by source: %v", sources)
	}
	if cs, err := times.Conflicts(ctx, from, to); err != nil || len(cs) != 0 {
		t.Errorf("conflicts: %+v, %v", cs, err)
	}
	var resolved int
	if err := d.Get(&resolved, `SELECT count(*) FROM escalations WHERE status = 'resolved'`); err != nil || resolved != 4 {
		t.Errorf("%d resolved items (%v)", resolved, err)
	}

	// The demo started again on the same database, later the same day: nothing is added.
	now = now.Add(3 * time.Hour)
	if recorded, skipped := seed(); recorded != 0 || skipped != 0 {
		t.Errorf("seeding again recorded %d entries, skipped %d", recorded, skipped)
	}
	if n := countEntries(t, d); n != len(entries) {
		t.Errorf("%d entries after seeding again, want %d", n, len(entries))
	}
	if got := summary(); !strings.HasPrefix(got, want[:strings.Index(want, "\nworklist")]) {
		t.Errorf("the billing after seeding again:\n%s", got)
	}
}

// TestDemoMonthLayout places the demo month's work in the month so far: in working hours,
// spread over the days, when they hold it, else at any hour since the month began, and what
// finds no room is left out; one staff member's pieces never overlap.
func TestDemoMonthLayout(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	monthStart := time.Date(2026, 12, 1, 0, 0, 0, 0, newYork) // a Tuesday
	tests := []struct {
		name         string
		now          time.Time
		placed       int
		workingHours bool
		days         int // on at least so many days
	}{
		{"a weekday afternoon", time.Date(2026, 12, 9, 15, 0, 0, 0, newYork), len(demoMonth), true, 5},
		{"a Sunday: Friday and before", time.Date(2026, 12, 6, 12, 0, 0, 0, newYork), len(demoMonth), true, 4},
		{"the first morning", time.Date(2026, 12, 1, 9, 0, 0, 0, newYork), len(demoMonth), false, 1},
		{"the first hour", time.Date(2026, 12, 1, 1, 0, 0, 0, newYork), 3, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans := layoutDemoWork(demoMonth, monthStart, tt.now, newYork)
			placed, inHours := 0, true
			byStaff, days := map[string][]demoSpan{}, map[int]bool{}
			for i, s := range spans {
				if s == nil {
					continue
				}
				placed++
				if s.from.Before(monthStart) || s.to.After(tt.now) || s.to.Sub(s.from) != time.Duration(demoMonth[i].minutes)*time.Minute {
					t.Errorf("%s's %d minutes placed from %s to %s", demoMonth[i].patient, demoMonth[i].minutes, s.from, s.to)
				}
				from, to := s.from.In(newYork), s.to.In(newYork)
				days[from.Day()] = true
				if wd := from.Weekday(); wd == time.Saturday || wd == time.Sunday || from.Hour()*60+from.Minute() < 8*60+30 || to.Hour()*60+to.Minute() > 17*60+30 {
					inHours = false
				}
				for _, o := range byStaff[demoMonth[i].staff] {
					if s.from.Before(o.to) && o.from.Before(s.to) {
						t.Errorf("%s's pieces %v and %v overlap", demoMonth[i].staff, *s, o)
					}
				}
				byStaff[demoMonth[i].staff] = append(byStaff[demoMonth[i].staff], *s)
			}
			if placed != tt.placed || (tt.workingHours && !inHours) || len(days) < tt.days {
				t.Errorf("%d pieces placed on %d days (working hours: %v), want %d on %d or more (%v)", placed, len(days), inHours, tt.placed, tt.days, tt.workingHours)
			}
		})
	}
}
