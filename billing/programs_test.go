package billing

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
)

// TestPrograms covers the rules of the programs other than CCM (billing-rules.md §8) and how
// PCM and CCM meet (§4). Each case names its source.
func TestPrograms(t *testing.T) {
	p := func(edit ...func(*Patient)) []Patient { return []Patient{patient("P", edit...)} }
	enrol := func(progs ...care.Program) func(*Patient) { return func(p *Patient) { p.Programs = progs } }
	oneCondition := func(p *Patient) { p.ChronicConditions = 1 }
	pcmTrack := func(p *Patient) { p.PCMPractitionerTrack = true }
	noConsent := func(p *Patient) { p.Consents = nil }
	as := func(prog care.Program, e Entry) Entry { return withProgram(e, prog, false) }
	tests := []struct {
		name     string
		patients []Patient
		entries  []Entry
		services []BilledService
		choice   Choice
		want     []want
	}{
		// PCM lanes: 99424/99425 on the practitioner's own time, 99426/99427 on clinical staff
		// time; one lane per patient per month (billing-rules §8; CPT 2026 99424-99427).
		{"PCM practitioner lane 99424 at 30 min (CPT 99424, ccnhealth 99424)", p(enrol(care.PCM), oneCondition, pcmTrack),
			[]Entry{as(care.PCM, md("2026-03-10 10:00", 30, MDMNone, "P"))}, nil, "",
			[]want{{"P", care.PCM, Billable, 1800, "99424", 8784, "", "99425:30"}}},
		{"PCM practitioner lane 99425 per further full 30 min (CPT 99425, CY2026 PFS)", p(enrol(care.PCM), oneCondition, pcmTrack),
			[]Entry{as(care.PCM, md("2026-03-10 10:00", 95, MDMNone, "P"))}, nil, "",
			[]want{{"P", care.PCM, Billable, 5700, "99424 99425x2", 8784 + 2*6146, "", "99425:25"}}},
		{"PCM practitioner lane leaves staff time uncounted (CPT 99424: personally)", p(enrol(care.PCM), oneCondition, pcmTrack),
			[]Entry{as(care.PCM, md("2026-03-10 10:00", 40, MDMNone, "P")), as(care.PCM, rn("2026-03-11 10:00", 30, "P"))}, nil, "",
			[]want{{"P", care.PCM, Billable, 2400, "99424", 8784, "", "99425:20"}}},
		{"PCM practitioner track below 30 min counts as staff time (engine policy, as CCM in billing-rules §3)", p(enrol(care.PCM), oneCondition, pcmTrack),
			[]Entry{as(care.PCM, md("2026-03-10 10:00", 20, MDMNone, "P")), as(care.PCM, rn("2026-03-11 10:00", 15, "P"))}, nil, "",
			[]want{{"P", care.PCM, Billable, 2100, "99426", 6246, "practitioner_time_as_staff", "99427:25"}}},
		{"PCM staff track counts the practitioner's time as staff time (CPT 99426)", p(enrol(care.PCM), oneCondition),
			[]Entry{as(care.PCM, md("2026-03-10 10:00", 40, MDMNone, "P"))}, nil, "",
			[]want{{"P", care.PCM, Billable, 2400, "99426", 6246, "", "99427:20"}}},

		// PCM and CCM by the same practitioner in one month: only one (billing-rules §4, §8).
		{"PCM and CCM by one practitioner: the one worth more, CCM excluded (billing-rules §8)",
			p(enrol(care.CCM, care.PCM)),
			[]Entry{rn("2026-03-10 10:00", 25, "P"), as(care.PCM, rn("2026-03-11 10:00", 65, "P"))}, nil, "",
			[]want{{"P", care.CCM, Excluded, 1500, "", 0, "excluded_pcm_same_practitioner", ""},
				{"P", care.PCM, Billable, 3900, "99426 99427", 6246 + 4542, "", "99427:25"}}},
		{"PCM and CCM by one practitioner: the one worth more, PCM excluded (billing-rules §8)",
			p(enrol(care.CCM, care.PCM)),
			[]Entry{rn("2026-03-10 10:00", 45, "P"), as(care.PCM, rn("2026-03-11 10:00", 35, "P"))}, nil, "",
			[]want{{"P", care.CCM, Billable, 2700, "99490 99439", 11657, "", "99439:15"},
				{"P", care.PCM, Excluded, 2100, "", 0, "excluded_ccm_same_practitioner", ""}}},
		{"PCM and CCM by one practitioner: the practice chooses CCM (billing-rules §8)",
			p(enrol(care.CCM, care.PCM)),
			[]Entry{rn("2026-03-10 10:00", 25, "P"), as(care.PCM, rn("2026-03-11 10:00", 65, "P"))}, nil, ChooseCCM,
			[]want{{"P", care.CCM, Billable, 1500, "99490", 6613, "", "99439:15"},
				{"P", care.PCM, Excluded, 3900, "", 0, "excluded_ccm_same_practitioner", ""}}},
		{"PCM and CCM by one practitioner: the practice chooses PCM (billing-rules §8)",
			p(enrol(care.CCM, care.PCM)),
			[]Entry{rn("2026-03-10 10:00", 45, "P"), as(care.PCM, rn("2026-03-11 10:00", 35, "P"))}, nil, ChoosePCM,
			[]want{{"P", care.CCM, Excluded, 2700, "", 0, "excluded_pcm_same_practitioner", ""},
				{"P", care.PCM, Billable, 2100, "99426", 6246, "", "99427:25"}}},
		{"PCM below its threshold leaves CCM billed (billing-rules §4: only one is billed)",
			p(enrol(care.CCM, care.PCM)),
			[]Entry{rn("2026-03-10 10:00", 25, "P"), as(care.PCM, rn("2026-03-11 10:00", 20, "P"))}, nil, "",
			[]want{{"P", care.CCM, Billable, 1500, "99490", 6613, "", "99439:15"},
				{"P", care.PCM, BelowThreshold, 1200, "", 0, "below_threshold", "99426:10"}}},
		{"CCM billed as a service by the same practitioner excludes the engine's PCM (billing-rules §8)",
			p(enrol(care.PCM)),
			[]Entry{as(care.PCM, rn("2026-03-11 10:00", 35, "P"))}, []BilledService{{"P", "99490", date("2026-03-05"), billingNPI}}, "",
			[]want{{"P", care.PCM, Excluded, 2100, "", 0, "excluded_ccm_same_practitioner", ""}}},
		{"CCM by another practitioner does not exclude PCM (billing-rules §4)",
			p(enrol(care.PCM)),
			[]Entry{as(care.PCM, rn("2026-03-11 10:00", 35, "P"))}, []BilledService{{"P", "99490", date("2026-03-05"), otherNPI}}, "",
			[]want{{"P", care.PCM, Billable, 2100, "99426", 6246, "", "99427:25"}}},

		// Eligibility per program (billing-rules §8).
		{"PCM needs consent (billing-rules §8; college.acaai.org PCM codes)", p(enrol(care.PCM), noConsent),
			[]Entry{as(care.PCM, rn("2026-03-11 10:00", 35, "P"))}, nil, "",
			[]want{{"P", care.PCM, NotEligible, 0, "", 0, "no_consent", ""}}},
		{"PCM needs a disease-specific care plan (billing-rules §8; ccnhealth 99424)", p(enrol(care.PCM), func(p *Patient) { p.CarePlan = time.Time{} }),
			[]Entry{as(care.PCM, rn("2026-03-11 10:00", 35, "P"))}, nil, "",
			[]want{{"P", care.PCM, NotEligible, 0, "", 0, "no_care_plan", ""}}},
		{"PCM needs a qualifying condition (billing-rules §8)", p(enrol(care.PCM), func(p *Patient) { p.ChronicConditions = 0 }),
			[]Entry{as(care.PCM, rn("2026-03-11 10:00", 35, "P"))}, nil, "",
			[]want{{"P", care.PCM, NotEligible, 0, "", 0, "no_qualifying_condition", ""}}},
		{"PCM takes a condition of 3 to 12 months (billing-rules §8: 12 is not required)", p(enrol(care.PCM), func(p *Patient) {
			p.ChronicConditions, p.ShortTermConditions = 0, 1
		}), []Entry{as(care.PCM, rn("2026-03-11 10:00", 35, "P"))}, nil, "",
			[]want{{"P", care.PCM, Billable, 2100, "99426", 6246, "", "99427:25"}}},
		{"PCM needs no initiating visit (billing-rules §8)", p(enrol(care.PCM), func(p *Patient) { p.InitiatingVisit = time.Time{} }),
			[]Entry{as(care.PCM, rn("2026-03-11 10:00", 35, "P"))}, nil, "",
			[]want{{"P", care.PCM, Billable, 2100, "99426", 6246, "", "99427:25"}}},
		{"a condition of 3 to 12 months does not count for CCM (billing-rules §1, §8)", p(func(p *Patient) {
			p.ChronicConditions, p.ShortTermConditions = 1, 1
		}), []Entry{rn("2026-03-10 10:00", 25, "P")}, nil, "",
			[]want{{"P", care.CCM, NotEligible, 1500, "", 0, "lt_2_chronic_conditions pcm_candidate", ""}}},
		{"no condition at all is no PCM candidate (billing-rules §1: one condition)", p(func(p *Patient) { p.ChronicConditions = 0 }),
			[]Entry{rn("2026-03-10 10:00", 25, "P")}, nil, "",
			[]want{{"P", care.CCM, NotEligible, 1500, "", 0, "lt_2_chronic_conditions", ""}}},
		{"BHI needs consent (billing-rules §8; CMS BHI booklet)", p(enrol(care.BHI), noConsent),
			[]Entry{as(care.BHI, rn("2026-03-11 10:00", 25, "P"))}, nil, "",
			[]want{{"P", care.BHI, NotEligible, 0, "", 0, "no_consent", ""}}},
		{"BHI needs an initiating visit (billing-rules §8; CMS BHI booklet)", p(enrol(care.BHI), func(p *Patient) { p.InitiatingVisit = time.Time{} }),
			[]Entry{as(care.BHI, rn("2026-03-11 10:00", 25, "P"))}, nil, "",
			[]want{{"P", care.BHI, NotEligible, 0, "", 0, "no_initiating_visit", ""}}},
		{"BHI needs no care plan on file (billing-rules §8)", p(enrol(care.BHI), func(p *Patient) { p.CarePlan = time.Time{} }),
			[]Entry{as(care.BHI, rn("2026-03-11 10:00", 25, "P"))}, nil, "",
			[]want{{"P", care.BHI, Billable, 1500, "99484", 5745, "", ""}}},
		{"RPM management needs consent (billing-rules §8; CMS CY2021 final rule)", p(enrol(care.RPM), noConsent),
			[]Entry{withProgram(rn("2026-03-10 10:00", 20, "P"), care.RPM, true)}, nil, "",
			[]want{{"P", care.RPM, NotEligible, 1200, "", 0, "no_consent", ""}}},
		{"RPM consent given late in the month counts the month (billing-rules §8: consent may come when RPM is furnished)",
			p(enrol(care.RPM), func(p *Patient) { p.Consents[0].GivenAt = local("2026-03-20 09:00") }),
			[]Entry{withProgram(rn("2026-03-10 10:00", 20, "P"), care.RPM, true)}, nil, "",
			[]want{{"P", care.RPM, Billable, 1200, "99457", 5177, "", "99458:20"}}},

		// RPM management without an interactive contact (billing-rules §3: 99457 and 99470 need one).
		{"RPM time enough but no interactive contact (billing-rules §3)", p(enrol(care.RPM)),
			[]Entry{withProgram(rn("2026-03-10 10:00", 25, "P"), care.RPM, false)}, nil, "",
			[]want{{"P", care.RPM, BelowThreshold, 1500, "", 0, "no_interactive_contact", "99457:0+interactive_contact"}}},
		{"RPM 10 to 19 min but no interactive contact (billing-rules §3)", p(enrol(care.RPM)),
			[]Entry{withProgram(rn("2026-03-10 10:00", 12, "P"), care.RPM, false)}, nil, "",
			[]want{{"P", care.RPM, BelowThreshold, 720, "", 0, "no_interactive_contact", "99470:0+interactive_contact"}}},
		{"RPM below 10 min and no interactive contact (billing-rules §3)", p(enrol(care.RPM)),
			[]Entry{withProgram(rn("2026-03-10 10:00", 4, "P"), care.RPM, false)}, nil, "",
			[]want{{"P", care.RPM, BelowThreshold, 240, "", 0, "below_threshold no_interactive_contact", "99470:6+interactive_contact"}}},
		{"RPM with no time needs both (billing-rules §3)", p(enrol(care.RPM)), nil, nil, "",
			[]want{{"P", care.RPM, BelowThreshold, 0, "", 0, "below_threshold", "99470:10+interactive_contact"}}},
	}
	rates := mustRates(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Compute(Input{Month: march(), Location: ny, Rates: rates, Patients: tt.patients, Entries: tt.entries,
				Services: tt.services, SamePractitioner: tt.choice})
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, rep, tt.want)
		})
	}
}

// TestUncountedSeconds: a practitioner lane's row counts the practitioner's own time, and
// shows the staff time beside it apart (CPT 99491 and 99424: "personally").
func TestUncountedSeconds(t *testing.T) {
	tests := []struct {
		name                 string
		patient              Patient
		entries              []Entry
		program              care.Program
		seconds, uncounted   int64
		wantJSONHasUncounted bool
	}{
		{"CCM practitioner lane (CPT 99491)", patient("P", func(p *Patient) { p.PractitionerTrack = true }),
			[]Entry{md("2026-03-10 10:00", 30, MDMNone, "P"), rn("2026-03-11 10:00", 40, "P")}, care.CCM, 1800, 2400, true},
		{"PCM practitioner lane (CPT 99424)", patient("P", func(p *Patient) { p.Programs, p.PCMPractitionerTrack = []care.Program{care.PCM}, true }),
			[]Entry{withProgram(md("2026-03-10 10:00", 31, MDMNone, "P"), care.PCM, false), withProgram(rn("2026-03-11 10:00", 10, "P"), care.PCM, false)}, care.PCM, 1860, 600, true},
		{"staff lane counts everything (billing-rules §2)", patient("P"),
			[]Entry{md("2026-03-10 10:00", 30, MDMNone, "P"), rn("2026-03-11 10:00", 40, "P")}, care.CCM, 4200, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Compute(Input{Month: march(), Location: ny, Rates: mustRates(t), Patients: []Patient{tt.patient}, Entries: tt.entries})
			if err != nil {
				t.Fatal(err)
			}
			r, ok := findRow(rep, "P", tt.program)
			if !ok {
				t.Fatalf("no %s row: %+v", tt.program, rep.Rows)
			}
			if r.Seconds != tt.seconds || r.UncountedSeconds != tt.uncounted {
				t.Errorf("seconds %d, uncounted %d; want %d, %d", r.Seconds, r.UncountedSeconds, tt.seconds, tt.uncounted)
			}
			var buf bytes.Buffer
			if err := jsonEncode(&buf, r); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(buf.String(), `"uncounted_seconds":`); got != tt.wantJSONHasUncounted {
				t.Errorf("JSON %s: uncounted_seconds present %v, want %v", buf.String(), got, tt.wantJSONHasUncounted)
			}
		})
	}
}

// TestIdleRows: rows of enrolled patients with no time and nothing else to say are left out
// of the report as shown unless all rows are asked for; any other reason keeps a row.
func TestIdleRows(t *testing.T) {
	patients := []Patient{
		patient("A", func(p *Patient) { p.Programs = []care.Program{care.CCM, care.RPM} }), // no time: both rows idle
		patient("B"), // time: shown
		patient("C", func(p *Patient) { p.Consents = nil }), // not eligible: shown
		patient("D"), // excluded: shown
		patient("E"), // time lost to a conflict: shown
	}
	entries := []Entry{rn("2026-03-10 10:00", 5, "B"),
		{ID: 900, Staff: "RN2", Role: Clinical, Program: care.CCM, Start: local("2026-03-12 10:00"), End: local("2026-03-12 10:20"), Patients: []string{"E"}},
		{ID: 901, Staff: "RN2", Role: Clinical, Program: care.CCM, Start: local("2026-03-12 10:00"), End: local("2026-03-12 10:20"), Patients: []string{"E"}}}
	rep, err := Compute(Input{Month: march(), Location: ny, Rates: mustRates(t), Patients: patients, Entries: entries,
		Services: []BilledService{{"D", "G0181", date("2026-03-05"), otherNPI}}})
	if err != nil {
		t.Fatal(err)
	}
	shown := MonthReport{Report: rep}.WithoutIdle()
	var got []string
	for _, r := range shown.Rows {
		got = append(got, r.Patient+":"+string(r.Program))
	}
	if strings.Join(got, " ") != "B:ccm C:ccm D:ccm E:ccm" || shown.HiddenRows != 2 {
		t.Errorf("shown rows %v, hidden %d; want B:ccm C:ccm D:ccm E:ccm, 2 hidden", got, shown.HiddenRows)
	}
	if len(rep.Rows) != 6 {
		t.Errorf("the computed report has %d rows, want all 6", len(rep.Rows))
	}
}

// TestWorklistNoTime: a patient with no counted time this month is not close to anything,
// however wide the window; RPM items say when an interactive contact is missing.
func TestWorklistNoTime(t *testing.T) {
	rpm := func(p *Patient) { p.Programs = []care.Program{care.RPM} }
	patients := []Patient{patient("A"), patient("B"), patient("R0", rpm), patient("R1", rpm), patient("R2", rpm)}
	entries := []Entry{
		rn("2026-03-10 10:00", 3, "B"),                                 // 17 min to 99490
		withProgram(rn("2026-03-10 11:00", 4, "R1"), care.RPM, false),  // 6 min to 99470, no contact yet
		withProgram(rn("2026-03-10 12:00", 12, "R2"), care.RPM, false), // 99470's time is there, no contact
	}
	rep, err := Compute(Input{Month: march(), Location: ny, Rates: mustRates(t), Patients: patients, Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		within int64
		want   string
	}{
		{20, "B:99490:17 R2:99470:0:interactive_contact R1:99470:6:interactive_contact"},
		{600, "B:99490:17 R2:99470:0:interactive_contact R1:99470:6:interactive_contact"},
		{5, "R2:99470:0:interactive_contact"},
	}
	for _, tt := range tests {
		var got []string
		for _, it := range Worklist(rep, local("2026-03-25 09:00"), ny, tt.within) {
			s := it.Patient + ":" + string(it.Code) + ":" + itoa(it.MinutesNeeded)
			if it.Needs != "" {
				s += ":" + string(it.Needs)
			}
			got = append(got, s)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("within %d: %v, want %s", tt.within, got, tt.want)
		}
	}
}
