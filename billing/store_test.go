package billing_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/practice"
)

// TestClosedMonths closes January 2026 in UTC and February 2026 in New York, and asks which
// closed months periods overlap: each month's bounds are those of the zone it was closed in.
func TestClosedMonths(t *testing.T) {
	ctx := context.Background()
	closedAt := time.Date(2026, 3, 5, 15, 0, 0, 0, time.UTC)
	d, rates, newYork := practiceDB(t, closedAt)
	for m, loc := range map[time.Month]*time.Location{time.January: time.UTC, time.February: newYork} {
		st := &billing.Store{DB: d, Practice: practice.Default, Location: loc, Rates: rates, Clock: func() time.Time { return closedAt }}
		if _, err := st.Close(ctx, audit.ActorCLI, billing.Month{Year: 2026, Month: m}); err != nil {
			t.Fatal(err)
		}
	}
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	tests := []struct {
		name     string
		from, to string
		want     string
	}{
		{"inside February", "2026-02-10T12:00:00Z", "2026-02-11T12:00:00Z", "[2026-02]"},
		{"March in New York", "2026-03-01T05:00:00Z", "2026-03-02T00:00:00Z", "[]"},
		{"across February's end in New York", "2026-03-01T04:59:00Z", "2026-03-01T05:01:00Z", "[2026-02]"},
		{"across January's end in UTC", "2026-01-31T23:30:00Z", "2026-02-01T00:30:00Z", "[2026-01]"},
		{"between the two closes", "2026-02-01T00:00:00Z", "2026-02-01T05:00:00Z", "[]"},
		{"both", "2026-01-15T00:00:00Z", "2026-03-15T00:00:00Z", "[2026-01 2026-02]"},
		{"before", "2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z", "[]"},
		{"after", "2026-04-01T00:00:00Z", "2026-04-02T00:00:00Z", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cms, err := billing.ClosedMonths(ctx, d, practice.Default, utc(tt.from), utc(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cms {
				got = append(got, c.Month.String())
				if !c.ClosedAt.Equal(closedAt) {
					t.Errorf("%s closed at %s, want %s", c.Month, c.ClosedAt, closedAt)
				}
			}
			if fmt.Sprint(got) != tt.want {
				t.Errorf("ClosedMonths(%s, %s) = %v, want %s", tt.from, tt.to, got, tt.want)
			}
		})
	}
	feb, err := billing.ClosedMonths(ctx, d, practice.Default, utc("2026-02-10T00:00:00Z"), utc("2026-02-11T00:00:00Z"))
	if err != nil || len(feb) != 1 || !feb[0].Start.Equal(utc("2026-02-01T05:00:00Z")) || !feb[0].End.Equal(utc("2026-03-01T05:00:00Z")) {
		t.Errorf("February's bounds: %+v, %v; want New York's", feb, err)
	}
}

// TestReportLoadsProgramFacts stores a patient whose PCM the practitioner furnishes and whose
// only condition is expected to last 3 to 12 months, and a patient with no time: the report
// bills 99424, shows the staff time beside it apart, and leaves the idle row to WithoutIdle.
func TestReportLoadsProgramFacts(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 20, 15, 0, 0, 0, time.UTC)
	d, rates, newYork := practiceDB(t, now)
	for _, q := range []string{
		`INSERT INTO patients (practice_id, ext_id, timezone, chronic_conditions, short_term_conditions, billing_npi, programs, pcm_track, initiating_visit_on, care_plan_on, created_at, updated_at)
VALUES (1, 'P1', 'America/New_York', '{}', '{S72.001A}', '1111111112', '{pcm}', 'practitioner', NULL, '2026-01-15', $1, $1),
       (1, 'P2', 'America/New_York', '{I10,E11.9}', '{}', '1111111112', '{ccm}', 'staff', '2026-01-15', '2026-01-15', $1, $1)`,
		`INSERT INTO consents (practice_id, patient_id, given_at, npi, documented, created_at, updated_at)
SELECT 1, id, '2026-01-15T00:00:00-05:00', '1111111112', true, $1, $1 FROM patients`,
		`INSERT INTO staff (practice_id, ext_id, role, npi, created_at, updated_at)
VALUES (1, 'MD1', 'practitioner', '1111111112', $1, $1), (1, 'RN1', 'clinical', NULL, $1, $1)`,
		`INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, staff_npi, program, started_at, ended_at, activity, source, created_by, created_at)
SELECT 1, s.id, s.role, 'MD', s.npi, 'pcm', v.start, v.start + interval '35 minutes', 'care_plan', 'manual', 'test', $1
FROM staff s, (VALUES (timestamptz '2026-03-10T10:00:00-04:00')) v(start) WHERE s.ext_id = 'MD1'`,
		`INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, program, started_at, ended_at, activity, source, created_by, created_at)
SELECT 1, s.id, s.role, 'RN', 'pcm', '2026-03-11T10:00:00-04:00', '2026-03-11T10:20:00-04:00', 'patient_call', 'manual', 'test', $1
FROM staff s WHERE s.ext_id = 'RN1'`,
		`INSERT INTO time_entry_patients (practice_id, entry_id, patient_id)
SELECT 1, e.id, p.id FROM time_entries e, patients p WHERE p.ext_id = 'P1'`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, now)
		}
		d.MustExec(q, args...)
	}
	st := &billing.Store{DB: d, Practice: practice.Default, Location: newYork, Rates: rates, Clock: func() time.Time { return now }}
	rep, err := st.Report(ctx, billing.Month{Year: 2026, Month: time.March})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Rows {
		got = append(got, fmt.Sprintf("%s:%s:%s:%d+%d:%v", r.Patient, r.Program, r.Status, r.Seconds, r.UncountedSeconds, r.Codes))
	}
	want := "[P1:pcm:billable:2100+1200:[{99424 1 8784}] P2:ccm:below_threshold:0+0:[]]"
	if fmt.Sprint(got) != want {
		t.Errorf("rows %v, want %s", got, want)
	}
	if shown := rep.WithoutIdle(); len(shown.Rows) != 1 || shown.HiddenRows != 1 {
		t.Errorf("shown %+v, want P1's row only and one hidden", shown)
	}
}

// practiceDB returns a fresh database holding the default practice in New York, created at
// now, with the bundled rate table and the zone.
func practiceDB(t *testing.T, now time.Time) (*sqlx.DB, billing.Rates, *time.Location) {
	t.Helper()
	d, _ := dbtest.Fresh(t)
	rates, err := billing.BundledRates()
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	if err := practice.Ensure(context.Background(), d, practice.Settings{ID: practice.Default, Location: newYork}, audit.ActorCLI, now); err != nil {
		t.Fatal(err)
	}
	return d, rates, newYork
}
