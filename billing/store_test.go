package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/care"
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

// TestReportMatchesCompute stores a month of time for many staff members (overlapping entries,
// shared ones, amended and voided ones, some across the month's bounds, some of other programs
// than the patient's) and checks that the report the store loads them into is, byte for byte,
// the one Compute gives for the same facts held in memory.
func TestReportMatchesCompute(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 4, 2, 15, 0, 0, 0, time.UTC)
	d, rates, newYork := practiceDB(t, now)
	m := billing.Month{Year: 2026, Month: time.March}
	start, end := m.Bounds(newYork)
	rnd := rand.New(rand.NewPCG(21, 25))
	in := billing.Input{Month: m, Location: newYork, Rates: rates}
	const billingNPI, otherNPI = "1111111112", "2222222228"

	programSets := [][]care.Program{{care.CCM}, {care.CCM, care.RPM}, {care.PCM}, {care.BHI}, {care.CCM, care.BHI}, {care.RPM}}
	patientIDs := map[string]int64{}
	for i := range 60 {
		p := billing.Patient{ID: fmt.Sprintf("P%03d", i), BillingNPI: billingNPI, ChronicConditions: 2,
			Programs: programSets[i%len(programSets)], PractitionerTrack: i%7 == 3, PCMPractitionerTrack: i%5 == 2,
			InitiatingVisit: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), CarePlan: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)}
		if p.Programs[0] == care.PCM {
			p.ChronicConditions, p.ShortTermConditions = 0, 1
		}
		c := billing.Consent{GivenAt: time.Date(2026, 1, 15, 0, 0, 0, 0, newYork), NPI: billingNPI, Documented: i%11 != 4}
		switch i % 9 {
		case 1: // revoked in the middle of the month
			c.RevokedAt = time.Date(2026, 3, 14, 12, 0, 0, 0, newYork)
		case 5: // given in the middle of the month
			c.GivenAt = time.Date(2026, 3, 10, 9, 30, 0, 0, newYork)
		case 7: // for another practitioner
			c.NPI = otherNPI
		}
		p.Consents = []billing.Consent{c}
		programs := make([]string, len(p.Programs))
		for j, prog := range p.Programs {
			programs[j] = string(prog)
		}
		track, pcmTrack := "staff", "staff"
		if p.PractitionerTrack {
			track = "practitioner"
		}
		if p.PCMPractitionerTrack {
			pcmTrack = "practitioner"
		}
		var id int64
		if err := d.GetContext(ctx, &id, `INSERT INTO patients (practice_id, ext_id, timezone, chronic_conditions, short_term_conditions,
				billing_npi, programs, ccm_track, pcm_track, initiating_visit_on, care_plan_on, created_at, updated_at)
			VALUES (1, $1, 'America/New_York', $2, $3, $4, $5, $6, $7, '2026-01-15', '2026-01-15', $8, $8) RETURNING id`,
			p.ID, pq.Array([]string{"I10", "E11.9"}[:p.ChronicConditions]), pq.Array([]string{"S72.001A"}[:p.ShortTermConditions]),
			p.BillingNPI, pq.Array(programs), track, pcmTrack, now); err != nil {
			t.Fatal(err)
		}
		patientIDs[p.ID] = id
		var revoked *time.Time
		if !c.RevokedAt.IsZero() {
			revoked = &c.RevokedAt
		}
		d.MustExec(`INSERT INTO consents (practice_id, patient_id, given_at, npi, documented, revoked_at, created_at, updated_at)
			VALUES (1, $1, $2, $3, $4, $5, $6, $6)`, id, c.GivenAt, c.NPI, c.Documented, revoked, now)
		in.Patients = append(in.Patients, p)
	}

	type member struct {
		id   int64
		role billing.Role
		npi  string
	}
	var staff []member
	for i := range 14 {
		s := member{role: billing.Clinical}
		switch i {
		case 0:
			s.role, s.npi = billing.Practitioner, billingNPI
		case 1:
			s.role, s.npi = billing.Practitioner, otherNPI
		case 2:
			s.role = billing.NonClinical
		}
		var npi *string
		if s.npi != "" {
			npi = &s.npi
		}
		if err := d.GetContext(ctx, &s.id, `INSERT INTO staff (practice_id, ext_id, role, npi, created_at, updated_at)
			VALUES (1, $1, $2, $3, $4, $4) RETURNING id`, fmt.Sprintf("S%02d", i), string(s.role), npi, now); err != nil {
			t.Fatal(err)
		}
		staff = append(staff, s)
	}

	// Each staff member's entries follow one another from a day before the month to a day after
	// it, now and then overlapping the one before. Ids are taken from the sequence first, so that
	// amendments and voids can name the entries they supersede, and the rows stored in a few
	// statements.
	type stored struct {
		billing.Entry
		current    bool
		supersedes *int64
		voided     bool
	}
	var entries []*stored
	var lastID int64
	if err := d.GetContext(ctx, &lastID, `SELECT nextval('time_entries_id_seq')`); err != nil {
		t.Fatal(err)
	}
	nextID := func() int64 {
		lastID++
		return lastID
	}
	add := func(s member, e billing.Entry, supersedes *int64, voided bool) *stored {
		e.ID, e.Staff, e.Role, e.NPI = nextID(), strconv.FormatInt(s.id, 10), s.role, s.npi
		st := &stored{Entry: e, current: !voided, supersedes: supersedes, voided: voided}
		entries = append(entries, st)
		return st
	}
	programs := []care.Program{care.CCM, care.RPM, care.PCM, care.BHI, care.TCM, care.G0506}
	for _, s := range staff {
		at := start.Add(-26 * time.Hour)
		for at.Before(end.Add(26 * time.Hour)) {
			length := time.Duration(1+rnd.IntN(90)) * time.Minute
			e := billing.Entry{Start: at, End: at.Add(length), MDM: billing.MDMNone}
			first := rnd.IntN(len(in.Patients))
			e.Patients = []string{in.Patients[first].ID}
			for range rnd.IntN(6) / 4 { // a shared entry now and then
				e.Patients = append(e.Patients, in.Patients[rnd.IntN(len(in.Patients))].ID)
			}
			e.Patients = slices.Compact(slices.Sorted(slices.Values(e.Patients)))
			e.Program = in.Patients[first].Programs[rnd.IntN(len(in.Patients[first].Programs))]
			if rnd.IntN(15) == 0 {
				e.Program = programs[rnd.IntN(len(programs))]
			}
			e.Interactive = e.Program == care.RPM && rnd.IntN(3) == 0
			if s.role == billing.Practitioner && rnd.IntN(4) == 0 {
				e.MDM = []billing.MDM{billing.MDMLow, billing.MDMModerate, billing.MDMHigh}[rnd.IntN(3)]
			}
			st := add(s, e, nil, false)
			switch rnd.IntN(12) {
			case 0: // amended: moved and made longer by a few minutes
				st.current = false
				amended := st.Entry
				amended.Start, amended.End = amended.Start.Add(7*time.Minute), amended.End.Add(10*time.Minute)
				add(s, amended, &st.ID, false)
			case 1: // voided
				st.current = false
				add(s, st.Entry, &st.ID, true).current = false
			}
			gap := time.Duration(rnd.IntN(240)-20) * time.Minute // now and then it overlaps
			at = e.End.Add(gap)
		}
	}
	var (
		ids, staffIDs, links, linked []int64
		supersedes                   []*int64
		roles, npis, progs, mdms     []string
		starts, ends                 []time.Time
		interactive, voided          []bool
	)
	for _, e := range entries {
		staffID, _ := strconv.ParseInt(e.Staff, 10, 64)
		ids, staffIDs, supersedes = append(ids, e.ID), append(staffIDs, staffID), append(supersedes, e.supersedes)
		roles, npis, progs, mdms = append(roles, string(e.Role)), append(npis, e.NPI), append(progs, string(e.Program)), append(mdms, string(e.MDM))
		starts, ends = append(starts, e.Start), append(ends, e.End)
		interactive, voided = append(interactive, e.Interactive), append(voided, e.voided)
		for _, p := range e.Patients {
			links, linked = append(links, e.ID), append(linked, patientIDs[p])
		}
		if e.current && e.Start.Before(end) && e.End.After(start) {
			in.Entries = append(in.Entries, e.Entry)
		}
	}
	d.MustExec(`SELECT setval('time_entries_id_seq', $1)`, lastID)
	d.MustExec(`INSERT INTO time_entries (practice_id, id, staff_id, staff_role, staff_credential, staff_npi, program, started_at,
			ended_at, activity, mdm, interactive, source, supersedes, voided, amend_reason, created_by, created_at)
		SELECT 1, id, staff_id, role, 'RN', nullif(npi, ''), program, started_at, ended_at, 'patient_call', mdm, interactive, 'manual',
			supersedes, voided, CASE WHEN supersedes IS NOT NULL THEN 'correction' END, 'test', $1
		FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[],
			$9::text[], $10::boolean[], $11::bigint[], $12::boolean[])
			AS e(id, staff_id, role, npi, program, started_at, ended_at, mdm, interactive, supersedes, voided)`,
		now, pq.Array(ids), pq.Array(staffIDs), pq.Array(roles), pq.Array(npis), pq.Array(progs), pq.Array(starts), pq.Array(ends),
		pq.Array(mdms), pq.Array(interactive), pq.Array(supersedes), pq.Array(voided))
	d.MustExec(`INSERT INTO time_entry_patients (practice_id, entry_id, patient_id)
		SELECT 1, entry_id, patient_id FROM unnest($1::bigint[], $2::bigint[]) AS l(entry_id, patient_id)`, pq.Array(links), pq.Array(linked))

	want, err := billing.Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	st := &billing.Store{DB: d, Practice: practice.Default, Location: newYork, Rates: rates, Clock: func() time.Time { return now }}
	got, err := st.Report(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(got.Report)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("the stored month's report differs from Compute's:\n got %s\nwant %s", gotJSON, wantJSON)
	}
	conflicts := 0
	for _, r := range want.Rows {
		if slices.Contains(r.Reasons, billing.ReasonTimeConflict) {
			conflicts++
		}
	}
	if len(in.Entries) < 1000 || conflicts == 0 {
		t.Errorf("%d entries, %d rows with a conflict: the month should have many entries and some conflicts", len(in.Entries), conflicts)
	}
}
