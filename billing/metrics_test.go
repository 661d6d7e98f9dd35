package billing_test

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

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/practice"
)

// figuresStore is a store of the default practice in New York whose clock reads *now, and
// whose RPM patient R1 has 17 days of device data in the first month of their episode.
func figuresStore(t *testing.T, now *time.Time) (*billing.Store, *billing.Metrics) {
	t.Helper()
	d, rates, newYork := practiceDB(t, *now)
	st := &billing.Store{DB: d, Practice: practice.Default, Location: newYork, Rates: rates, Clock: func() time.Time { return *now },
		Devices: func(context.Context, db.Querier, time.Time, time.Time) (map[string]billing.Device, error) {
			return map[string]billing.Device{"R1": {Days: 17}}, nil
		}}
	return st, billing.NewMetrics(st, 5*time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// figuresNow is a time in December 2026.
var figuresNow = time.Date(2026, 12, 10, 15, 0, 0, 0, time.UTC)

// enrol stores a CCM patient P1 and an RPM patient R1, both with consent, and a nurse.
func enrol(t *testing.T, st *billing.Store) {
	t.Helper()
	for _, q := range []string{
		`INSERT INTO patients (practice_id, ext_id, timezone, chronic_conditions, billing_npi, programs, initiating_visit_on, care_plan_on, created_at, updated_at)
VALUES (1, 'P1', 'America/New_York', '{I10,E11.9}', '1111111112', '{ccm}', '2026-01-15', '2026-01-15', $1, $1),
       (1, 'R1', 'America/New_York', '{I10}', '1111111112', '{rpm}', NULL, NULL, $1, $1)`,
		`INSERT INTO consents (practice_id, patient_id, given_at, npi, documented, created_at, updated_at)
SELECT 1, id, '2026-01-15T00:00:00-05:00', '1111111112', true, $1, $1 FROM patients`,
		`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'RN1', 'clinical', $1, $1)`,
	} {
		st.DB.MustExec(q, figuresNow)
	}
}

// insertCCMTime stores 25 minutes of the nurse's CCM time for P1 on December 3rd, in one
// statement.
const insertCCMTime = `
WITH e AS (
	INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, program, started_at, ended_at, activity, source, created_by, created_at)
	SELECT 1, id, 'clinical', 'RN', 'ccm', '2026-12-03T10:00:00-05:00', '2026-12-03T10:25:00-05:00', 'patient_call', 'manual', 'test', now()
	FROM staff WHERE ext_id = 'RN1' RETURNING id)
INSERT INTO time_entry_patients (practice_id, entry_id, patient_id)
SELECT 1, e.id, p.id FROM e, patients p WHERE p.ext_id = 'P1'`

// scrape returns the exposition of the figures' metrics.
func scrape(t *testing.T, m *billing.Metrics, names ...string) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range families {
		for _, n := range names {
			if mf.GetName() == n {
				for _, s := range mf.Metric {
					b.WriteString(n)
					for _, l := range s.Label {
						b.WriteString(" " + l.GetName() + "=" + l.GetValue())
					}
					fmt.Fprintf(&b, " %g\n", s.GetGauge().GetValue())
				}
			}
		}
	}
	return b.String()
}

// direct returns the figures of the month's report computed now, as the metrics show them.
func direct(t *testing.T, st *billing.Store) []billing.Figure {
	t.Helper()
	rep, err := st.Report(context.Background(), billing.MonthOf(st.Clock(), st.Location))
	if err != nil {
		t.Fatal(err)
	}
	return billing.MonthFigures(rep.Report, st.Clock(), st.Location)
}

// shown returns the figures the metrics show, in the order MonthFigures gives them.
func shown(t *testing.T, m *billing.Metrics) []billing.Figure {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]map[[2]string]float64{}
	for _, mf := range families {
		values[mf.GetName()] = map[[2]string]float64{}
		for _, s := range mf.Metric {
			var k [2]string
			for _, l := range s.Label {
				switch l.GetName() {
				case "program":
					k[0] = l.GetValue()
				case "code":
					k[1] = l.GetValue()
				}
			}
			values[mf.GetName()][k] = s.GetGauge().GetValue()
		}
	}
	out := billing.MonthFigures(billing.Report{}, m.Store.Clock(), m.Store.Location)
	for i, f := range out {
		k := [2]string{string(f.Program), string(f.Code)}
		out[i].Patients = int(values["outreach_billing_patients"][k])
		out[i].NearNext = int(values["outreach_billing_patients_near_next"][k])
	}
	return out
}

func refresh(t *testing.T, m *billing.Metrics, want bool) {
	t.Helper()
	did, err := m.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if did != want {
		t.Fatalf("Refresh computed the figures: %v, want %v", did, want)
	}
}

// TestFiguresFollowTheFacts: the figures equal those of a report computed directly, before and
// after a time entry is added; the entry marks them stale, and they are computed again once
// Every has passed since the last computation, not before, and not when nothing changed.
func TestFiguresFollowTheFacts(t *testing.T) {
	now := figuresNow
	st, m := figuresStore(t, &now)
	enrol(t, st)
	refresh(t, m, true)
	if got, want := shown(t, m), direct(t, st); !equalFigures(got, want) {
		t.Errorf("figures %v, want %v", got, want)
	}
	if got, want := scrape(t, m, "outreach_rpm_patients_device_code"), `outreach_rpm_patients_device_code code=99445 0
outreach_rpm_patients_device_code code=99453 1
outreach_rpm_patients_device_code code=99454 1
`; got != want {
		t.Errorf("device codes:\n%s\nwant\n%s", got, want)
	}

	now = now.Add(10 * time.Minute)
	refresh(t, m, false) // nothing changed

	st.DB.MustExec(insertCCMTime)
	var stale bool
	if err := st.DB.Get(&stale, `SELECT stale FROM billing_figures_state`); err != nil || !stale {
		t.Fatalf("after a time entry: stale %v, %v", stale, err)
	}
	refresh(t, m, true)
	got, want := shown(t, m), direct(t, st)
	if !equalFigures(got, want) {
		t.Errorf("figures %v, want %v", got, want)
	}
	if f := find(got, "ccm", "99490"); f.Patients != 1 {
		t.Errorf("ccm 99490 after 25 minutes: %+v", f)
	}
	if s, cents := scrape(t, m, "outreach_billing_expected_dollars"), find(want, "ccm", "99490").Cents; cents == 0 ||
		!strings.Contains(s, fmt.Sprintf("program=ccm %g\n", float64(cents)/100)) {
		t.Errorf("expected dollars, with 99490 worth %d cents:\n%s", cents, s)
	}

	st.DB.MustExec(`UPDATE patients SET programs = '{ccm,bhi}' WHERE ext_id = 'P1'`)
	now = now.Add(time.Minute)
	refresh(t, m, false) // stale, but computed a minute ago
	now = now.Add(4 * time.Minute)
	refresh(t, m, true)
	if got, want := shown(t, m), direct(t, st); !equalFigures(got, want) {
		t.Errorf("figures %v, want %v", got, want)
	}
	if f := find(shown(t, m), "bhi", "99484"); f.NearNext != 0 || f.Patients != 0 {
		t.Errorf("bhi 99484 with no BHI time: %+v", f)
	}

	st.DB.MustExec(`UPDATE patients SET updated_at = updated_at + interval '1 second'`) // nothing billing reads
	now = now.Add(10 * time.Minute)
	refresh(t, m, false)
}

// TestFiguresZeroOnEmptyDatabase: a new install shows every program and code, and every device
// code, at 0, before and after its first computation.
func TestFiguresZeroOnEmptyDatabase(t *testing.T) {
	now := figuresNow
	_, m := figuresStore(t, &now)
	for _, step := range []string{"before", "after"} {
		if step == "after" {
			refresh(t, m, true)
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(m)
		for name, n := range map[string]int{"outreach_billing_patients": 18, "outreach_billing_patients_near_next": 18,
			"outreach_rpm_patients_device_code": 3, "outreach_billing_expected_dollars": 5} {
			if got, err := testutil.GatherAndCount(reg, name); err != nil || got != n {
				t.Errorf("%s the first computation: %s has %d series (%v), want %d", step, name, got, err, n)
			}
		}
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range families {
			for _, s := range mf.Metric {
				if v := s.GetGauge().GetValue() + s.GetCounter().GetValue(); v != 0 {
					t.Errorf("%s the first computation: %s%v = %v, want 0", step, mf.GetName(), s.Label, v)
				}
			}
		}
	}
}

// TestFiguresOneReplicaAtATime: while another session holds the practice's lock, Refresh
// leaves the figures alone; once it is released, it computes them.
func TestFiguresOneReplicaAtATime(t *testing.T) {
	ctx := context.Background()
	now := figuresNow
	st, m := figuresStore(t, &now)
	enrol(t, st)
	other, err := st.DB.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, `SELECT pg_advisory_lock(x'62696c6c'::int, 1)`); err != nil {
		t.Fatal(err)
	}
	refresh(t, m, false)
	var n int
	if err := st.DB.Get(&n, `SELECT count(*) FROM billing_figures_state`); err != nil || n != 0 {
		t.Fatalf("state rows while locked: %d, %v", n, err)
	}
	if _, err := other.ExecContext(ctx, `SELECT pg_advisory_unlock(x'62696c6c'::int, 1)`); err != nil {
		t.Fatal(err)
	}
	refresh(t, m, true)
}

// TestFiguresSeeChangesInFlight: a time entry written while the figures were already stale, in
// a transaction still open when they are computed, marks nothing; the computation cannot see
// it, so it leaves the figures stale, and the next one counts it.
func TestFiguresSeeChangesInFlight(t *testing.T) {
	ctx := context.Background()
	now := figuresNow
	st, m := figuresStore(t, &now)
	enrol(t, st)
	refresh(t, m, true)
	if err := m.MarkStale(ctx); err != nil {
		t.Fatal(err)
	}
	tx, err := st.DB.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, insertCCMTime); err != nil {
		t.Fatal(err)
	}
	now = now.Add(6 * time.Minute)
	refresh(t, m, true)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if f := find(shown(t, m), "ccm", "99490"); f.Patients != 0 {
		t.Fatalf("the entry in flight is counted: %+v", f)
	}
	now = now.Add(6 * time.Minute)
	refresh(t, m, true)
	if f := find(shown(t, m), "ccm", "99490"); f.Patients != 1 {
		t.Errorf("the entry committed since is not counted: %+v", f)
	}
}

func find(fs []billing.Figure, program, code string) billing.Figure {
	for _, f := range fs {
		if string(f.Program) == program && string(f.Code) == code {
			return f
		}
	}
	return billing.Figure{}
}

// equalFigures compares the patients and near-next counts (the metrics show dollars per
// program, not per code).
func equalFigures(a, b []billing.Figure) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Program != b[i].Program || a[i].Code != b[i].Code || a[i].Patients != b[i].Patients || a[i].NearNext != b[i].NearNext {
			return false
		}
	}
	return true
}
