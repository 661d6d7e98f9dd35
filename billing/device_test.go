package billing

import (
	"fmt"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/internal/care"
)

// TestDeviceCodes covers RPM's device codes (billing-rules §8): the day thresholds, 99453 in an
// episode's first month only, consent, and device codes without management minutes. The days
// are counted by monitoring.DataDays (manual readings, zones, duplicates are tested there);
// the engine takes the count as a fact.
func TestDeviceCodes(t *testing.T) {
	rpm := func(days int, earlier bool, edit ...func(*Patient)) []Patient {
		return []Patient{patient("P", append([]func(*Patient){func(p *Patient) {
			p.Programs = []care.Program{care.RPM}
			p.Device = Device{Days: days, Earlier: earlier}
		}}, edit...)...)}
	}
	minutes := func(m int) []Entry { return []Entry{withProgram(rn("2026-03-10 10:00", m, "P"), care.RPM, true)} }
	tests := []struct {
		name     string
		patients []Patient
		entries  []Entry
		want     string // status codes amount reasons days device_next
	}{
		{"1 day bills nothing; 99445 needs 1 more day", rpm(1, true), nil,
			"below_threshold [] 0 [below_threshold] days=1 next=99445:1"},
		{"2 days: 99445", rpm(2, true), nil,
			"billable [99445] 4743 [] days=2 next=99454:14"},
		{"15 days: 99445, 99454 needs 1 more", rpm(15, true), nil,
			"billable [99445] 4743 [] days=15 next=99454:1"},
		{"16 days: 99454, never with 99445", rpm(16, true), nil,
			"billable [99454] 4743 [] days=16 next="},
		{"30 days: 99454", rpm(30, true), nil,
			"billable [99454] 4743 [] days=30 next="},
		{"31 days of a calendar month: one 99454", rpm(31, true), nil,
			"billable [99454] 4743 [] days=31 next="},
		{"first month of the episode with 16 days: 99453 and 99454", rpm(16, false), nil,
			"billable [99453 99454] 6914 [] days=16 next="},
		{"first month of the episode with 2 days: 99453 and 99445", rpm(2, false), nil,
			"billable [99453 99445] 6914 [] days=2 next=99454:14"},
		{"first month with 1 day: no 99453 (below the 2-day minimum)", rpm(1, false), nil,
			"below_threshold [] 0 [below_threshold] days=1 next=99445:1"},
		{"a later month: no 99453 again", rpm(20, true), nil,
			"billable [99454] 4743 [] days=20 next="},
		{"no consent: no device codes", rpm(20, false, func(p *Patient) { p.Consents = nil }), nil,
			"not_eligible [] 0 [no_consent] days=20 next="},
		{"consent for another practitioner: no device codes", rpm(20, false, func(p *Patient) { p.Consents[0].NPI = otherNPI }), nil,
			"not_eligible [] 0 [consent_other_practitioner] days=20 next="},
		{"device codes and management minutes are independent", rpm(16, true), minutes(25),
			"billable [99457 99454] 9920 [] days=16 next="},
		{"management minutes with no device data", rpm(0, true), minutes(20),
			"billable [99457] 5177 [] days=0 next="},
		{"device codes without an interactive contact", rpm(16, true), []Entry{withProgram(rn("2026-03-10 10:00", 25, "P"), care.RPM, false)},
			"billable [99454] 4743 [no_interactive_contact] days=16 next="},
		{"device data without RPM enrolment still gets an RPM row", rpm(5, true, func(p *Patient) { p.Programs = []care.Program{care.CCM} }), nil,
			"billable [99445] 4743 [] days=5 next=99454:11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Compute(Input{Month: march(), Location: ny, Rates: mustRates(t), Patients: tt.patients, Entries: tt.entries})
			if err != nil {
				t.Fatal(err)
			}
			r, ok := findRow(rep, "P", care.RPM)
			if !ok {
				t.Fatalf("no RPM row: %+v", rep.Rows)
			}
			days, next := "nil", ""
			if r.Days != nil {
				days = fmt.Sprint(*r.Days)
			}
			if r.DeviceNext != nil {
				next = fmt.Sprintf("%s:%d", r.DeviceNext.Code, r.DeviceNext.DaysNeeded)
			}
			codes := strings.Fields(codesOf(r))
			got := fmt.Sprintf("%s %v %d %v days=%s next=%s", r.Status, codes, r.AmountCents, r.Reasons, days, next)
			if got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestDeviceRowsOnlyForRPM: other programs' rows carry no days.
func TestDeviceRowsOnlyForRPM(t *testing.T) {
	p := patient("P", func(p *Patient) { p.Device = Device{Days: 20} })
	rep, err := Compute(Input{Month: march(), Location: ny, Rates: mustRates(t), Patients: []Patient{p}, Entries: []Entry{rn("2026-03-10 10:00", 20, "P")}})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := findRow(rep, "P", care.CCM)
	if r.Days != nil || r.DeviceNext != nil {
		t.Errorf("CCM row with device fields: %+v", r)
	}
	if _, ok := findRow(rep, "P", care.RPM); !ok {
		t.Errorf("no RPM row for device data: %+v", rep.Rows)
	}
}

// TestWorklistDeviceDays: the worklist says how many days of device data a patient still needs
// and whether the month still has that many days left (today included).
func TestWorklistDeviceDays(t *testing.T) {
	rpm := func(id string, days int, earlier bool) Patient {
		return patient(id, func(p *Patient) {
			p.Programs = []care.Program{care.RPM}
			p.Device = Device{Days: days, Earlier: earlier}
		})
	}
	patients := []Patient{rpm("A", 10, true), rpm("B", 1, false), rpm("C", 16, true), rpm("D", 0, true), rpm("E", 3, true),
		rpm("F", 12, true)}
	patients[5].Consents = nil // not eligible: no item
	rep, err := Compute(Input{Month: march(), Location: ny, Rates: mustRates(t), Patients: patients})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		now  string
		want string
	}{
		// B's 99445 brings 99453 with it; A's and E's 99454 adds nothing over 99445 in 2026.
		{"2026-03-20 09:00", "B:99445:1:true:6914 A:99454:6:true:0 E:99454:13:false:0"},
		{"2026-03-26 09:00", "B:99445:1:true:6914 A:99454:6:true:0 E:99454:13:false:0"},
		{"2026-03-27 09:00", "B:99445:1:true:6914 A:99454:6:false:0 E:99454:13:false:0"},
		{"2026-03-31 23:00", "B:99445:1:true:6914 A:99454:6:false:0 E:99454:13:false:0"},
	}
	for _, tt := range tests {
		var got []string
		for _, it := range Worklist(rep, local(tt.now), ny, 10) {
			if it.DaysNeeded == 0 {
				continue
			}
			got = append(got, fmt.Sprintf("%s:%s:%d:%v:%d", it.Patient, it.Code, it.DaysNeeded, *it.MonthHasDays, it.ValueCents))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("at %s: %v, want %s", tt.now, got, tt.want)
		}
	}
}
