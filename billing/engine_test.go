package billing

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
)

var ny = func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return loc
}()

const billingNPI = "1111111112"
const otherNPI = "2222222228"

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// local parses "2006-01-02 15:04" in New York.
func local(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, ny)
	if err != nil {
		panic(err)
	}
	return t
}

// patient is the default patient of the examples: two chronic conditions, documented verbal
// consent on 2026-01-15 for the billing NPI, initiating visit the same day, a care plan, CCM on
// the staff track.
func patient(id string, edit ...func(*Patient)) Patient {
	p := Patient{
		ID: id, BillingNPI: billingNPI, ChronicConditions: 2, Programs: []care.Program{care.CCM},
		Consents:        []Consent{{GivenAt: local("2026-01-15 00:00"), NPI: billingNPI, Documented: true}},
		InitiatingVisit: date("2026-01-15"), CarePlan: date("2026-01-15"),
	}
	for _, e := range edit {
		e(&p)
	}
	return p
}

var entrySeq int64

// rn logs minutes of RN time for patients from a start.
func entry(role Role, npi string, prog care.Program, start time.Time, minutes int, patients ...string) Entry {
	entrySeq++
	staff := map[Role]string{Clinical: "RN1", Practitioner: "MD1", NonClinical: "FD1"}[role]
	return Entry{ID: entrySeq, Staff: staff, Role: role, NPI: npi, Program: prog, Start: start,
		End: start.Add(time.Duration(minutes) * time.Minute), Patients: patients, MDM: MDMNone}
}

func rn(start string, minutes int, patients ...string) Entry {
	return entry(Clinical, "", care.CCM, local(start), minutes, patients...)
}

func md(start string, minutes int, mdm MDM, patients ...string) Entry {
	e := entry(Practitioner, billingNPI, care.CCM, local(start), minutes, patients...)
	e.MDM = mdm
	return e
}

func withProgram(e Entry, p care.Program, interactive bool) Entry {
	e.Program, e.Interactive = p, interactive
	return e
}

func march() Month { return Month{2026, time.March} }

type want struct {
	patient string
	program care.Program
	status  Status
	seconds int64
	codes   string // "99490 99439x2"
	amount  int64
	reasons string // space-separated, in order
	next    string // "99490:1" or ""
}

func codesOf(r Row) string {
	var parts []string
	for _, c := range r.Codes {
		if c.Units == 1 {
			parts = append(parts, string(c.Code))
		} else {
			parts = append(parts, string(c.Code)+"x"+itoa(int64(c.Units)))
		}
	}
	return strings.Join(parts, " ")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func nextOf(r Row) string {
	if r.Next == nil {
		return ""
	}
	s := string(r.Next.Code) + ":" + itoa(r.Next.MinutesNeeded)
	if r.Next.Needs != "" {
		s += "+" + string(r.Next.Needs)
	}
	return s
}

func reasonsOf(r Row) string {
	s := make([]string, len(r.Reasons))
	for i, x := range r.Reasons {
		s[i] = string(x)
	}
	return strings.Join(s, " ")
}

func mustRates(t *testing.T) Rates {
	t.Helper()
	r, err := BundledRates()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func findRow(rep Report, patient string, prog care.Program) (Row, bool) {
	for _, r := range rep.Rows {
		if r.Patient == patient && r.Program == prog {
			return r, true
		}
	}
	return Row{}, false
}

// checkRows compares a report's rows with the wanted ones. The seconds of rows that are not
// eligible or excluded are not compared: they are reported but decide nothing.
func checkRows(t *testing.T, rep Report, wants []want) {
	t.Helper()
	if len(rep.Rows) != len(wants) {
		t.Errorf("%d rows, want %d: %+v", len(rep.Rows), len(wants), rep.Rows)
	}
	for _, w := range wants {
		r, ok := findRow(rep, w.patient, w.program)
		if !ok {
			t.Errorf("no row for %s %s", w.patient, w.program)
			continue
		}
		got := want{r.Patient, r.Program, r.Status, r.Seconds, codesOf(r), r.AmountCents, reasonsOf(r), nextOf(r)}
		if w.status == NotEligible || w.status == Excluded {
			got.seconds = w.seconds
		}
		if got != w {
			t.Errorf("row\n got %+v\nwant %+v", got, w)
		}
	}
}

func TestWorkedExamples(t *testing.T) {
	p := func(edit ...func(*Patient)) []Patient { return []Patient{patient("P", edit...)} }
	tests := []struct {
		name     string
		patients []Patient
		entries  []Entry
		services []BilledService
		want     []want
	}{
		{"E1 19 min", p(), []Entry{rn("2026-03-10 10:00", 19, "P")}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 1140, "", 0, "below_threshold", "99490:1"}}},
		{"E2 20 min", p(), []Entry{rn("2026-03-10 10:00", 20, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 1200, "99490", 6613, "", "99439:20"}}},
		{"E3 39 min", p(), []Entry{rn("2026-03-10 10:00", 39, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 2340, "99490", 6613, "", "99439:1"}}},
		{"E4 40 min", p(), []Entry{rn("2026-03-10 10:00", 40, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 2400, "99490 99439", 11657, "", "99439:20"}}},
		{"E5 60 min", p(), []Entry{rn("2026-03-10 10:00", 60, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 3600, "99490 99439x2", 16701, "complex_candidate", ""}}},
		{"E6 120 min without MDM", p(), []Entry{rn("2026-03-10 10:00", 120, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 7200, "99490 99439x2", 16701, "complex_candidate", ""}}},
		{"E7 59 min with moderate MDM", p(), []Entry{rn("2026-03-10 10:00", 49, "P"), md("2026-03-11 10:00", 10, MDMModerate, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 3540, "99490 99439", 11657, "", "99487:1"}}},
		{"E8 60 min with MDM", p(), []Entry{rn("2026-03-10 10:00", 50, "P"), md("2026-03-11 10:00", 10, MDMModerate, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 3600, "99487", 14429, "", "99489:30"}}},
		{"E9 89 min with MDM", p(), []Entry{rn("2026-03-10 10:00", 79, "P"), md("2026-03-11 10:00", 10, MDMHigh, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 5340, "99487", 14429, "", "99489:1"}}},
		{"E10 90 min with MDM", p(), []Entry{rn("2026-03-10 10:00", 80, "P"), md("2026-03-11 10:00", 10, MDMModerate, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 5400, "99487 99489", 22245, "", "99489:30"}}},
		{"E11 75 min without MDM", p(), []Entry{rn("2026-03-10 10:00", 75, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 4500, "99490 99439x2", 16701, "complex_candidate", ""}}},
		{"E12 one chronic condition", p(func(p *Patient) { p.ChronicConditions = 1 }), []Entry{rn("2026-03-10 10:00", 45, "P")}, nil,
			[]want{{"P", care.CCM, NotEligible, 2700, "", 0, "lt_2_chronic_conditions pcm_candidate", ""}}},
		{"E13 no consent", p(func(p *Patient) { p.Consents = nil }), []Entry{rn("2026-03-10 10:00", 40, "P")}, nil,
			[]want{{"P", care.CCM, NotEligible, 0, "", 0, "no_consent", ""}}},
		{"E14 consent mid-month", p(func(p *Patient) {
			p.Consents = []Consent{{GivenAt: local("2026-03-15 09:00"), NPI: billingNPI, Documented: true}}
		}), []Entry{rn("2026-03-14 10:00", 25, "P"), rn("2026-03-16 10:00", 15, "P")}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 900, "", 0, "below_threshold", "99490:5"}}},
		{"E15 entry crossing the month end", p(), []Entry{rn("2026-03-12 10:00", 10, "P"), rn("2026-03-31 23:50", 15, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 1200, "99490", 6613, "", "99439:20"}}},
		{"E16 12 min in March", p(), []Entry{rn("2026-02-20 10:00", 12, "P"), rn("2026-03-20 10:00", 12, "P")}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 720, "", 0, "below_threshold", "99490:8"}}},
		{"E17 timer across spring forward", p(), []Entry{{ID: 1, Staff: "RN1", Role: Clinical, Program: care.CCM,
			Start: local("2026-03-08 01:50"), End: time.Date(2026, 3, 8, 3, 10, 0, 0, ny), Patients: []string{"P"}}}, nil,
			[]want{{"P", care.CCM, Billable, 1200, "99490", 6613, "", "99439:20"}}},
		{"E18 CCM and RPM", p(func(p *Patient) { p.Programs = []care.Program{care.CCM, care.RPM} }),
			[]Entry{rn("2026-03-10 10:00", 15, "P"), withProgram(rn("2026-03-11 10:00", 25, "P"), care.RPM, true)}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 900, "", 0, "below_threshold", "99490:5"},
				{"P", care.RPM, Billable, 1500, "99457", 5177, "", "99458:15"}}},
		{"E19 shared activity", []Patient{patient("P"), patient("Q"), patient("R")},
			[]Entry{rn("2026-03-10 10:00", 30, "P", "Q", "R"), rn("2026-03-11 10:00", 12, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 1320, "99490", 6613, "", "99439:18"},
				{"Q", care.CCM, BelowThreshold, 600, "", 0, "below_threshold", "99490:10"},
				{"R", care.CCM, BelowThreshold, 600, "", 0, "below_threshold", "99490:10"}}},
		{"E20 non-clinical staff", p(), []Entry{entry(NonClinical, "", care.CCM, local("2026-03-10 10:00"), 25, "P"), rn("2026-03-11 10:00", 5, "P")}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 300, "", 0, "below_threshold", "99490:15"}}},
		{"E21 automated messages are not time", p(), []Entry{rn("2026-03-10 10:00", 12, "P")}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 720, "", 0, "below_threshold", "99490:8"}}},
		{"E22 staff track with practitioner time", p(), []Entry{md("2026-03-10 10:00", 35, MDMNone, "P"), rn("2026-03-11 10:00", 25, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 3600, "99490 99439x2", 16701, "complex_candidate", ""}}},
		{"E23 practitioner track", p(func(p *Patient) { p.PractitionerTrack = true }), []Entry{md("2026-03-10 10:00", 60, MDMNone, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 3600, "99491 99437", 15365, "", "99437:30"}}},
		{"E24 home health supervision", p(), []Entry{rn("2026-03-10 10:00", 30, "P")}, []BilledService{{"P", "G0181", date("2026-03-05"), otherNPI}},
			[]want{{"P", care.CCM, Excluded, 1800, "", 0, "excluded_g0181", ""}}},
		{"E25 PCM by the same practitioner", p(), []Entry{rn("2026-03-10 10:00", 30, "P")}, []BilledService{{"P", "99426", date("2026-03-05"), billingNPI}},
			[]want{{"P", care.CCM, Excluded, 1800, "", 0, "excluded_pcm_same_practitioner", ""}}},
		{"E26 PCM by another practitioner", p(), []Entry{rn("2026-03-10 10:00", 25, "P")}, []BilledService{{"P", "99426", date("2026-03-05"), otherNPI}},
			[]want{{"P", care.CCM, Billable, 1500, "99490", 6613, "", "99439:15"}}},
		{"E27 TCM alongside", p(), []Entry{rn("2026-03-10 10:00", 25, "P"), withProgram(rn("2026-03-11 10:00", 15, "P"), care.TCM, false)},
			[]BilledService{{"P", "99495", date("2026-03-03"), billingNPI}},
			[]want{{"P", care.CCM, Billable, 1500, "99490", 6613, "", "99439:15"}}},
		{"E28 CCM billed elsewhere", p(), []Entry{rn("2026-03-10 10:00", 40, "P")}, []BilledService{{"P", "99490", date("2026-03-20"), otherNPI}},
			[]want{{"P", care.CCM, Excluded, 2400, "", 0, "billed_elsewhere", ""}}},
		{"E29 CCM and BHI", p(func(p *Patient) { p.Programs = []care.Program{care.CCM, care.BHI} }),
			[]Entry{rn("2026-03-10 10:00", 20, "P"), withProgram(rn("2026-03-11 10:00", 20, "P"), care.BHI, false)}, nil,
			[]want{{"P", care.CCM, Billable, 1200, "99490", 6613, "", "99439:20"},
				{"P", care.BHI, Billable, 1200, "99484", 5745, "", ""}}},
		{"E30 RPM 40 min", p(func(p *Patient) { p.Programs = []care.Program{care.RPM} }),
			[]Entry{withProgram(rn("2026-03-11 10:00", 40, "P"), care.RPM, true)}, nil,
			[]want{{"P", care.RPM, Billable, 2400, "99457 99458", 9319, "", "99458:20"}}},
	}
	rates := mustRates(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Compute(Input{Month: march(), Location: ny, Rates: rates, Patients: tt.patients, Entries: tt.entries, Services: tt.services})
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, rep, tt.want)
		})
	}
}
