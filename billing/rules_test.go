package billing

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/csvfile"
)

// TestRules covers each rule and reason beyond the worked examples.
func TestRules(t *testing.T) {
	p := func(edit ...func(*Patient)) []Patient { return []Patient{patient("P", edit...)} }
	enrol := func(progs ...care.Program) func(*Patient) { return func(p *Patient) { p.Programs = progs } }
	rpm := func(start string, minutes int, interactive bool) Entry {
		return withProgram(rn(start, minutes, "P"), care.RPM, interactive)
	}
	tests := []struct {
		name     string
		patients []Patient
		entries  []Entry
		services []BilledService
		want     []want
	}{
		{"19:59 is below 20", p(), []Entry{{ID: 1, Staff: "RN1", Role: Clinical, Program: care.CCM, Start: local("2026-03-10 10:00"), End: local("2026-03-10 10:19").Add(59 * time.Second), Patients: []string{"P"}}}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 1199, "", 0, "below_threshold", "99490:1"}}},
		{"99439 capped at 2 units", p(), []Entry{rn("2026-03-10 10:00", 100, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 6000, "99490 99439x2", 16701, "complex_candidate", ""}}},
		{"99489 has no cap", p(), []Entry{rn("2026-03-10 10:00", 140, "P"), md("2026-03-11 10:00", 10, MDMHigh, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 9000, "99487 99489x3", 14429 + 3*7816, "", "99489:30"}}},
		{"low MDM is not complex", p(), []Entry{rn("2026-03-10 10:00", 60, "P"), md("2026-03-11 10:00", 5, MDMLow, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 3900, "99490 99439x2", 16701, "complex_candidate", ""}}},
		{"MDM by another practitioner does not count", p(), []Entry{rn("2026-03-10 10:00", 60, "P"), func() Entry {
			e := md("2026-03-11 10:00", 10, MDMHigh, "P")
			e.NPI = otherNPI
			return e
		}()}, nil,
			[]want{{"P", care.CCM, Billable, 3600, "99490 99439x2", 16701, "complex_candidate", ""}}},
		{"consent revoked mid-month", p(func(p *Patient) { p.Consents[0].RevokedAt = local("2026-03-15 00:00") }),
			[]Entry{rn("2026-03-10 10:00", 15, "P"), rn("2026-03-20 10:00", 30, "P")}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 900, "", 0, "below_threshold", "99490:5"}}},
		{"consent revoked before the month", p(func(p *Patient) { p.Consents[0].RevokedAt = local("2026-02-15 00:00") }),
			[]Entry{rn("2026-03-10 10:00", 30, "P")}, nil,
			[]want{{"P", care.CCM, NotEligible, 0, "", 0, "no_consent", ""}}},
		{"consent for another practitioner", p(func(p *Patient) { p.Consents[0].NPI = otherNPI }),
			[]Entry{rn("2026-03-10 10:00", 30, "P")}, nil,
			[]want{{"P", care.CCM, NotEligible, 0, "", 0, "consent_other_practitioner", ""}}},
		{"undocumented consent", p(func(p *Patient) { p.Consents[0].Documented = false }),
			[]Entry{rn("2026-03-10 10:00", 30, "P")}, nil,
			[]want{{"P", care.CCM, NotEligible, 0, "", 0, "no_consent", ""}}},
		{"new consent after the practitioner changed", p(func(p *Patient) {
			p.Consents = append(p.Consents, Consent{GivenAt: local("2026-03-10 00:00"), NPI: otherNPI, Documented: true})
			p.BillingNPI = otherNPI
		}), []Entry{rn("2026-03-05 10:00", 30, "P"), rn("2026-03-12 10:00", 25, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 1500, "99490", 6613, "", "99439:15"}}},
		{"initiating visit after the month", p(func(p *Patient) { p.InitiatingVisit = date("2026-04-02") }),
			[]Entry{rn("2026-03-10 10:00", 30, "P")}, nil,
			[]want{{"P", care.CCM, NotEligible, 0, "", 0, "no_initiating_visit", ""}}},
		{"no care plan", p(func(p *Patient) { p.CarePlan = time.Time{} }),
			[]Entry{rn("2026-03-10 10:00", 30, "P")}, nil,
			[]want{{"P", care.CCM, NotEligible, 0, "", 0, "no_care_plan", ""}}},
		{"no billing practitioner", p(func(p *Patient) { p.BillingNPI = "" }),
			[]Entry{rn("2026-03-10 10:00", 30, "P")}, nil,
			[]want{{"P", care.CCM, NotEligible, 0, "", 0, "no_billing_npi", ""}}},
		{"every eligibility reason at once", p(func(p *Patient) {
			p.ChronicConditions, p.Consents, p.InitiatingVisit, p.CarePlan = 0, nil, time.Time{}, time.Time{}
		}), nil, nil,
			[]want{{"P", care.CCM, NotEligible, 0, "", 0, "lt_2_chronic_conditions no_consent no_initiating_visit no_care_plan", ""}}},
		{"hospice supervision", p(), []Entry{rn("2026-03-10 10:00", 30, "P")}, []BilledService{{"P", "G0182", date("2026-03-31"), otherNPI}},
			[]want{{"P", care.CCM, Excluded, 0, "", 0, "excluded_g0182", ""}}},
		{"ESRD", p(), []Entry{rn("2026-03-10 10:00", 30, "P")}, []BilledService{{"P", "90960", date("2026-03-01"), otherNPI}},
			[]want{{"P", care.CCM, Excluded, 0, "", 0, "excluded_esrd", ""}}},
		{"APCM by the same practitioner", p(), []Entry{rn("2026-03-10 10:00", 30, "P")}, []BilledService{{"P", "G0557", date("2026-03-01"), billingNPI}},
			[]want{{"P", care.CCM, Excluded, 0, "", 0, "excluded_apcm_same_practitioner", ""}}},
		{"APCM by another practitioner", p(), []Entry{rn("2026-03-10 10:00", 30, "P")}, []BilledService{{"P", "G0557", date("2026-03-01"), otherNPI}},
			[]want{{"P", care.CCM, Billable, 1800, "99490", 6613, "", "99439:10"}}},
		{"a service in another month does not exclude", p(), []Entry{rn("2026-03-10 10:00", 30, "P")}, []BilledService{{"P", "G0181", date("2026-02-28"), otherNPI}},
			[]want{{"P", care.CCM, Billable, 1800, "99490", 6613, "", "99439:10"}}},
		{"our own CCM code is not billed elsewhere", p(), []Entry{rn("2026-03-10 10:00", 30, "P")}, []BilledService{{"P", "99490", date("2026-03-31"), billingNPI}},
			[]want{{"P", care.CCM, Billable, 1800, "99490", 6613, "", "99439:10"}}},
		{"practitioner track below 30 min counts as staff time", p(func(p *Patient) { p.PractitionerTrack = true }),
			[]Entry{md("2026-03-10 10:00", 25, MDMNone, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 1500, "99490", 6613, "practitioner_time_as_staff", "99439:15"}}},
		{"practitioner track ignores staff time in its lane", p(func(p *Patient) { p.PractitionerTrack = true }),
			[]Entry{md("2026-03-10 10:00", 30, MDMNone, "P"), rn("2026-03-11 10:00", 40, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 1800, "99491", 8885, "", "99437:30"}}},
		{"non-billing practitioner time does not count", p(), []Entry{func() Entry {
			e := md("2026-03-10 10:00", 30, MDMNone, "P")
			e.NPI = otherNPI
			return e
		}()}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 0, "", 0, "below_threshold", "99490:20"}}},
		{"overlapping entries of one staff member", []Patient{patient("P"), patient("Q")},
			[]Entry{rn("2026-03-10 10:00", 30, "P"), rn("2026-03-10 10:20", 30, "Q")}, nil,
			[]want{{"P", care.CCM, Billable, 1200, "99490", 6613, "time_conflict", "99439:20"},
				{"Q", care.CCM, Billable, 1200, "99490", 6613, "time_conflict", "99439:20"}}},
		{"back-to-back entries do not conflict", p(), []Entry{rn("2026-03-10 10:00", 10, "P"), rn("2026-03-10 10:10", 10, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 1200, "99490", 6613, "", "99439:20"}}},
		{"different staff may overlap", p(), []Entry{rn("2026-03-10 10:00", 10, "P"), md("2026-03-10 10:00", 10, MDMNone, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 1200, "99490", 6613, "", "99439:20"}}},
		{"an entry inside another conflicts whole", p(), []Entry{rn("2026-03-10 10:00", 60, "P"), rn("2026-03-10 10:10", 10, "P")}, nil,
			[]want{{"P", care.CCM, Billable, 3000, "99490 99439", 11657, "time_conflict", "99439:10"}}},
		{"shared split remainder seconds go to the first patients", []Patient{patient("P"), patient("Q"), patient("R")},
			[]Entry{{ID: 1, Staff: "RN1", Role: Clinical, Program: care.CCM, Start: local("2026-03-10 10:00"), End: local("2026-03-10 10:00").Add(1001 * time.Second), Patients: []string{"P", "Q", "R"}}}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 334, "", 0, "below_threshold", "99490:15"},
				{"Q", care.CCM, BelowThreshold, 334, "", 0, "below_threshold", "99490:15"},
				{"R", care.CCM, BelowThreshold, 333, "", 0, "below_threshold", "99490:15"}}},
		{"timer across fall back counts elapsed time", p(), []Entry{{ID: 1, Staff: "RN1", Role: Clinical, Program: care.CCM,
			Start: time.Date(2026, 11, 1, 1, 50, 0, 0, ny), End: time.Date(2026, 11, 1, 1, 50, 0, 0, ny).Add(25 * time.Minute), Patients: []string{"P"}}}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 0, "", 0, "below_threshold", "99490:20"}}},
		{"entry crossing the month start", p(), []Entry{rn("2026-02-28 23:45", 30, "P")}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 900, "", 0, "below_threshold", "99490:5"}}},
		{"G0506 and TCM minutes never count toward CCM", p(), []Entry{withProgram(rn("2026-03-10 10:00", 30, "P"), care.G0506, false), withProgram(rn("2026-03-11 10:00", 30, "P"), care.TCM, false)}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 0, "", 0, "below_threshold", "99490:20"},
				{"P", care.G0506, Billable, 1800, "G0506", 6279, "", ""}}},
		{"G0506 once per initiation", p(), []Entry{withProgram(rn("2026-03-10 10:00", 30, "P"), care.G0506, false)}, []BilledService{{"P", "G0506", date("2026-01-15"), billingNPI}},
			[]want{{"P", care.CCM, BelowThreshold, 0, "", 0, "below_threshold", "99490:20"},
				{"P", care.G0506, BelowThreshold, 1800, "", 0, "g0506_already_billed", ""}}},
		{"RPM 10 to 19 min is 99470", p(enrol(care.RPM)), []Entry{rpm("2026-03-10 10:00", 15, true)}, nil,
			[]want{{"P", care.RPM, Billable, 900, "99470", 2605, "", "99457:5"}}},
		{"RPM below 10 min", p(enrol(care.RPM)), []Entry{rpm("2026-03-10 10:00", 9, true)}, nil,
			[]want{{"P", care.RPM, BelowThreshold, 540, "", 0, "below_threshold", "99470:1"}}},
		{"RPM without interactive contact", p(enrol(care.RPM)), []Entry{rpm("2026-03-10 10:00", 45, false)}, nil,
			[]want{{"P", care.RPM, BelowThreshold, 2700, "", 0, "no_interactive_contact", "99457:0+interactive_contact"}}},
		{"99458 capped at 3 units", p(enrol(care.RPM)), []Entry{rpm("2026-03-10 10:00", 100, true)}, nil,
			[]want{{"P", care.RPM, Billable, 6000, "99457 99458x3", 5177 + 3*4142, "", ""}}},
		{"BHI below 20 min", p(enrol(care.BHI)), []Entry{withProgram(rn("2026-03-10 10:00", 12, "P"), care.BHI, false)}, nil,
			[]want{{"P", care.BHI, BelowThreshold, 720, "", 0, "below_threshold", "99484:8"}}},
		{"PCM 99426 and 99427", p(enrol(care.PCM), func(p *Patient) { p.ChronicConditions = 1 }), []Entry{withProgram(rn("2026-03-10 10:00", 65, "P"), care.PCM, false)}, nil,
			[]want{{"P", care.PCM, Billable, 3900, "99426 99427", 6246 + 4542, "", "99427:25"}}},
		{"enrolled with no time yet", p(enrol(care.CCM, care.RPM)), nil, nil,
			[]want{{"P", care.CCM, BelowThreshold, 0, "", 0, "below_threshold", "99490:20"},
				{"P", care.RPM, BelowThreshold, 0, "", 0, "below_threshold", "99470:10+interactive_contact"}}},
		{"time for an unknown patient is ignored", p(), []Entry{rn("2026-03-10 10:00", 30, "X")}, nil,
			[]want{{"P", care.CCM, BelowThreshold, 0, "", 0, "below_threshold", "99490:20"}}},
	}
	rates := mustRates(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Compute(Input{Month: march(), Location: ny, Rates: rates, Patients: tt.patients, Entries: tt.entries, Services: tt.services})
			if tt.name == "timer across fall back counts elapsed time" {
				rep, err = Compute(Input{Month: Month{2026, time.November}, Location: ny, Rates: rates, Patients: tt.patients, Entries: tt.entries})
				tt.want[0] = want{"P", care.CCM, Billable, 1500, "99490", 6613, "", "99439:15"}
			}
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, rep, tt.want)
		})
	}
}

func TestReportJSON(t *testing.T) {
	rep, err := Compute(Input{Month: march(), Location: ny, Rates: mustRates(t), Patients: []Patient{patient("P001")},
		Entries: []Entry{rn("2026-03-10 10:00", 62, "P001")}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := jsonEncode(&buf, rep); err != nil {
		t.Fatal(err)
	}
	want := `{"month":"2026-03","timezone":"America/New_York","rows":[{"patient":"P001","program":"ccm","billing_npi":"1111111112","seconds":3720,"status":"billable","codes":[{"code":"99490","units":1,"amount_cents":6613},{"code":"99439","units":2,"amount_cents":10088}],"amount_cents":16701,"reasons":["complex_candidate"],"next":null}]}`
	if strings.TrimSpace(buf.String()) != want {
		t.Errorf("JSON\n got %s\nwant %s", buf.String(), want)
	}
	rep, _ = Compute(Input{Month: march(), Location: ny, Rates: mustRates(t), Patients: []Patient{patient("P002")}})
	buf.Reset()
	jsonEncode(&buf, rep)
	if !strings.Contains(buf.String(), `"codes":[],"amount_cents":0,"reasons":["below_threshold"],"next":{"code":"99490","minutes_needed":20}`) {
		t.Errorf("empty row JSON = %s", buf.String())
	}
}

func TestWorklist(t *testing.T) {
	patients := []Patient{patient("A"), patient("B"), patient("C"), patient("D", func(p *Patient) { p.Programs = []care.Program{care.RPM} })}
	entries := []Entry{
		rn("2026-03-10 10:00", 15, "A"),                               // 5 min to 99490 ($66.13)
		rn("2026-03-10 11:00", 32, "B"),                               // 8 min to 99439 ($50.44)
		rn("2026-03-10 12:00", 2, "C"),                                // 18 min to 99490: too far
		withProgram(rn("2026-03-10 13:00", 25, "D"), care.RPM, false), // only an interactive contact missing
	}
	rep, err := Compute(Input{Month: march(), Location: ny, Rates: mustRates(t), Patients: patients, Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	items := Worklist(rep, local("2026-03-25 09:00"), ny, 10)
	var got []string
	for _, it := range items {
		got = append(got, it.Patient+":"+string(it.Code)+":"+itoa(it.MinutesNeeded))
		if it.DaysLeft != 7 {
			t.Errorf("%s days left %d, want 7", it.Patient, it.DaysLeft)
		}
	}
	if strings.Join(got, " ") != "A:99490:5 D:99457:0 B:99439:8" {
		t.Errorf("worklist = %v", got)
	}
	if items := Worklist(rep, local("2026-04-01 00:00"), ny, 10); len(items) != 0 {
		t.Errorf("worklist after the month: %v", items)
	}
}

func TestBundledRatesQPColumn(t *testing.T) {
	rates := mustRates(t)
	for code, r := range rates[2026] {
		want := int64(math.Round(float64(r.NonQPCents) * 33.5675 / 33.4009))
		if r.QPCents != want {
			t.Errorf("%s QP %d, want %d (non-QP × QP CF / non-QP CF)", code, r.QPCents, want)
		}
	}
	qp, err := rates.Amount(2026, Code99490, QP)
	if err != nil || qp != 6646 {
		t.Errorf("99490 QP = %d, %v", qp, err)
	}
	if _, err := rates.Amount(2019, Code99490, NonQP); err == nil || !strings.Contains(err.Error(), "no 2019 rate for code 99490") {
		t.Errorf("missing year error = %v", err)
	}
	_, err = Compute(Input{Month: Month{2019, time.March}, Location: ny, Rates: rates, Patients: []Patient{patient("P")}, Entries: []Entry{}})
	if err == nil || !strings.Contains(err.Error(), "no rates for 2019") {
		t.Errorf("a report for a year with no rates: %v", err)
	}
}

func TestLoadRates(t *testing.T) {
	r, err := LoadRates("local.csv", strings.NewReader("year,code,non_qp_cents,qp_cents\n2026,99490,7001,7035\n"))
	if err != nil {
		t.Fatal(err)
	}
	merged := mustRates(t).Overlay(r)
	if a, _ := merged.Amount(2026, Code99490, NonQP); a != 7001 {
		t.Errorf("overlaid 99490 = %d", a)
	}
	if a, _ := merged.Amount(2026, Code99439, NonQP); a != 5044 {
		t.Errorf("99439 kept = %d", a)
	}
	tests := []struct{ content, want string }{
		{"year,code,non_qp_cents,qp_cents\n2026,99490,abc,1\n", `local.csv:2: non_qp_cents "abc" is not a whole number of cents`},
		{"year,code,non_qp_cents,qp_cents\n26x,99490,1,1\n", `local.csv:2: year "26x" is not a year`},
		{"year,code,non_qp_cents,qp_cents\n2026,XYZ,1,1\n", `local.csv:2: code "XYZ" is not a CPT or HCPCS code`},
		{"year,code,non_qp_cents,qp_cents\n2026,99490,1,1\n2026,99490,2,2\n", "local.csv:3: code 99490 appears twice for 2026"},
		{"year,code,non_qp_cents\n", `local.csv:1: missing required column "qp_cents"`},
	}
	for _, tt := range tests {
		_, err := LoadRates("local.csv", strings.NewReader(tt.content))
		var ces csvfile.Errors
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !errors.As(err, &ces) {
			t.Errorf("LoadRates error = %v, want %q", err, tt.want)
		}
	}
}

func TestMonth(t *testing.T) {
	m, err := ParseMonth("2026-03")
	if err != nil || m != march() || m.String() != "2026-03" {
		t.Fatalf("ParseMonth = %v, %v", m, err)
	}
	for _, bad := range []string{"2026-3", "2026-13", "March", "", "2026-03-01"} {
		if _, err := ParseMonth(bad); err == nil {
			t.Errorf("ParseMonth(%q) succeeded", bad)
		}
	}
	start, end := m.Bounds(ny)
	if start.Format(time.RFC3339) != "2026-03-01T00:00:00-05:00" || end.Format(time.RFC3339) != "2026-04-01T00:00:00-04:00" {
		t.Errorf("Bounds = %v, %v", start, end)
	}
	if end.Sub(start) != 31*24*time.Hour-time.Hour {
		t.Errorf("March in New York lasts %v (one hour lost to DST)", end.Sub(start))
	}
	if m.Next() != (Month{2026, time.April}) || (Month{2026, time.December}).Next() != (Month{2027, time.January}) {
		t.Error("Next is wrong")
	}
}

func TestOverlaps(t *testing.T) {
	e := func(from, to string) Entry {
		return Entry{Start: local("2026-03-10 " + from), End: local("2026-03-10 " + to)}
	}
	got := overlaps([]Entry{e("10:00", "11:00"), e("10:30", "10:45"), e("10:40", "11:30"), e("12:00", "12:10"), e("12:10", "12:20")})
	var s []string
	for _, iv := range got {
		s = append(s, iv.from.Format("15:04")+"-"+iv.to.Format("15:04"))
	}
	if strings.Join(s, " ") != "10:30-11:00" {
		t.Errorf("overlaps = %v, want 10:30-11:00", s)
	}
}
