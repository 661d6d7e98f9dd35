package timelog_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/dbgauge"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/timelog"
)

// recountCareTime is the staff time per month (in the practice's zone) and program as the
// month's time-log report reads it: the current versions only, voids and superseded entries
// left out. Months and programs with no time are left out.
const recountCareTime = `
SELECT to_char(date_trunc('month', e.started_at AT TIME ZONE p.timezone), 'YYYY-MM') || ' ' || e.program AS key,
	sum(extract(epoch FROM e.ended_at - e.started_at))::float8 AS seconds
FROM time_entries e JOIN practices p ON p.id = e.practice_id
WHERE NOT e.voided AND NOT EXISTS (SELECT 1 FROM time_entries n WHERE n.practice_id = e.practice_id AND n.supersedes = e.id)
GROUP BY 1`

// rolledCareTime is the same read from the rollup the trigger keeps.
const rolledCareTime = `
SELECT to_char(month, 'YYYY-MM') || ' ' || program AS key, sum(seconds)::float8 AS seconds
FROM care_time_months GROUP BY 1 HAVING sum(seconds) <> 0`

// TestCareTimeRollupEqualsRecount records, amends (twice in a row), voids, and imports entries
// in two months, one of them late on the month's last evening in the practice's zone (the next
// month in UTC), and checks after each step that the rollup equals a full recount, and that the
// gauge shows this month's figure per program.
func TestCareTimeRollupEqualsRecount(t *testing.T) {
	ctx := context.Background()
	s, d := setup(t)
	s.Clock = func() time.Time { return now.AddDate(0, 1, 0) } // entries of March and April are in the past
	actor := as(t, s, "RN1")
	check := func(step string) {
		t.Helper()
		read := func(q string) map[string]float64 {
			var rows []struct {
				Key     string  `db:"key"`
				Seconds float64 `db:"seconds"`
			}
			if err := d.Select(&rows, q); err != nil {
				t.Fatal(err)
			}
			out := map[string]float64{}
			for _, r := range rows {
				out[r.Key] = r.Seconds
			}
			return out
		}
		want, got := read(recountCareTime), read(rolledCareTime)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after %s: rollup %v, recount %v", step, got, want)
		}
	}
	record := func(patients string, program care.Program, start string, minutes int) timelog.EntryID {
		t.Helper()
		dr := draft(patients, minutes)
		dr.Program, dr.StartedAt = program, at(start)
		dr.EndedAt = dr.StartedAt.Add(time.Duration(minutes) * time.Minute)
		e, err := s.Record(ctx, actor, dr, timelog.SourceManual)
		if err != nil {
			t.Fatal(err)
		}
		return e.ID
	}
	a := record("P1", care.CCM, "2026-03-02T10:00:00-05:00", 20)
	b := record("P1", care.RPM, "2026-03-03T10:00:00-05:00", 15)
	c := record("P2", care.CCM, "2026-03-31T23:30:00-04:00", 25) // March in New York, April in UTC
	record("P3", care.CCM, "2026-04-02T10:00:00-04:00", 10)
	check("recording")

	a2, err := s.Amend(ctx, actor, a, timelog.Patch{Minutes: ptr[int64](30)}, "longer call")
	if err != nil {
		t.Fatal(err)
	}
	check("an amendment")
	if _, err := s.Amend(ctx, actor, a2.ID, timelog.Patch{StartedAt: ptr(at("2026-04-01T09:00:00-04:00")), Minutes: ptr[int64](30)}, "wrong day"); err != nil {
		t.Fatal(err)
	}
	check("an amendment of the amendment, into the next month")
	if _, err := s.Void(ctx, actor, b, "not RPM work"); err != nil {
		t.Fatal(err)
	}
	c2, err := s.Amend(ctx, actor, c, timelog.Patch{Minutes: ptr[int64](5)}, "shorter")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Void(ctx, actor, c2.ID, "never happened"); err != nil {
		t.Fatal(err)
	}
	check("voids")
	file := "patients,staff,program,started_at,minutes,note\n" +
		"P2,RN1,ccm,2026-03-10T09:00:00-04:00,12,plan\n" +
		"P4,RN1,pcm,2026-03-11T09:00:00-04:00,40,plan\n"
	if _, err := s.ImportFile(ctx, "time.csv", strings.NewReader(file), actor); err != nil {
		t.Fatal(err)
	}
	check("an import")

	// The gauge in the middle of March: the March entries still current (the import's 12 and 40
	// minutes), every other program at 0.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(timelog.Gauges(d, practice.Default, func() time.Time { return now }, dbgauge.NewErrors(reg),
		slog.New(slog.NewTextHandler(io.Discard, nil))))
	want := "# HELP outreach_care_time_seconds Staff time logged this month (current versions), by program.\n" +
		"# TYPE outreach_care_time_seconds gauge\n"
	for _, p := range care.Programs {
		v := map[care.Program]int{care.CCM: 12 * 60, care.PCM: 40 * 60}[p]
		want += fmt.Sprintf("outreach_care_time_seconds{program=%q} %d\n", p, v)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "outreach_care_time_seconds"); err != nil {
		t.Error(err)
	}
}
