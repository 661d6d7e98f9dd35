package billing_test

import (
	"testing"
	"time"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/care"
)

// TestMonthFigures sums rows into per-code figures: billed patients and amounts per code line,
// near-next counts from the worklist (time within 10 minutes, device data short of a code),
// every code the engine bills at 0 otherwise, and none near once the month has ended.
func TestMonthFigures(t *testing.T) {
	days := func(n int) *int { return &n }
	rep := billing.Report{Month: "2026-12", Timezone: "UTC", Rows: []billing.Row{
		{Patient: "A", Program: care.CCM, Seconds: 1500, Status: billing.Billable, AmountCents: 6000,
			Codes: []billing.CodeLine{{Code: billing.Code99490, Units: 1, AmountCents: 6000}},
			Next:  &billing.Next{Code: billing.Code99439, MinutesNeeded: 15}},
		{Patient: "B", Program: care.CCM, Seconds: 2700, Status: billing.Billable, AmountCents: 9000,
			Codes: []billing.CodeLine{{Code: billing.Code99490, Units: 1, AmountCents: 6000}, {Code: billing.Code99439, Units: 1, AmountCents: 3000}},
			Next:  &billing.Next{Code: billing.Code99439, MinutesNeeded: 15}},
		{Patient: "C", Program: care.CCM, Seconds: 900, Status: billing.BelowThreshold,
			Codes: []billing.CodeLine{}, Next: &billing.Next{Code: billing.Code99490, MinutesNeeded: 5}},
		{Patient: "D", Program: care.RPM, Days: days(10), Status: billing.Billable, AmountCents: 7000,
			Codes:      []billing.CodeLine{{Code: billing.Code99453, Units: 1, AmountCents: 2000}, {Code: billing.Code99445, Units: 1, AmountCents: 5000}},
			DeviceNext: &billing.DeviceNext{Code: billing.Code99454, DaysNeeded: 6}},
	}}
	during := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	figures := billing.MonthFigures(rep, during, time.UTC)
	if len(figures) != 18 {
		t.Errorf("%d figures, want one per code the engine bills (18)", len(figures))
	}
	want := map[[2]string]billing.Figure{
		{"ccm", "99490"}: {Patients: 2, NearNext: 1, Cents: 12000},
		{"ccm", "99439"}: {Patients: 1, Cents: 3000},
		{"rpm", "99453"}: {Patients: 1, Cents: 2000},
		{"rpm", "99445"}: {Patients: 1, Cents: 5000},
		{"rpm", "99454"}: {NearNext: 1},
	}
	for _, f := range figures {
		w := want[[2]string{string(f.Program), string(f.Code)}]
		if f.Patients != w.Patients || f.NearNext != w.NearNext || f.Cents != w.Cents {
			t.Errorf("%s %s: %+v, want %+v", f.Program, f.Code, f, w)
		}
	}
	for _, f := range billing.MonthFigures(rep, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC) {
		if f.NearNext != 0 {
			t.Errorf("after the month: %s %s near next %d, want 0", f.Program, f.Code, f.NearNext)
		}
	}
}

// TestMonthFiguresKnowEveryCode: a code the engine bills on a report row is one of the figures'
// known label values (none is appended after the 18).
func TestMonthFiguresKnowEveryCode(t *testing.T) {
	pairs := map[care.Program][]billing.Code{
		care.CCM:   {billing.Code99490, billing.Code99439, billing.Code99487, billing.Code99489, billing.Code99491, billing.Code99437},
		care.RPM:   {billing.Code99457, billing.Code99458, billing.Code99470, billing.Code99453, billing.Code99454, billing.Code99445},
		care.BHI:   {billing.Code99484},
		care.PCM:   {billing.Code99424, billing.Code99425, billing.Code99426, billing.Code99427},
		care.G0506: {billing.CodeG0506},
	}
	var rows []billing.Row
	for p, codes := range pairs {
		for _, c := range codes {
			rows = append(rows, billing.Row{Program: p, Codes: []billing.CodeLine{{Code: c, Units: 1}}})
		}
	}
	figures := billing.MonthFigures(billing.Report{Month: "2026-12", Rows: rows}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.UTC)
	if len(figures) != 18 {
		t.Fatalf("%d figures, want 18", len(figures))
	}
	for _, f := range figures {
		if f.Patients != 1 {
			t.Errorf("%s %s: %d patients, want 1", f.Program, f.Code, f.Patients)
		}
	}
}
