package timelog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/timelog"
)

// benchEntries is the number of entries in each file BenchmarkImportFile imports.
const benchEntries = 5000

// timeFile returns a time file of n entries of RN1, 10 minutes each, one every 15 minutes
// ending before end; every tenth entry is a shared activity with three patients.
func timeFile(n int, end time.Time) string {
	var b strings.Builder
	b.WriteString("patients,staff,program,started_at,minutes,activity,note\n")
	start := end.Add(-time.Duration(n) * 15 * time.Minute)
	for i := range n {
		patients := []string{"P1", "P2", "P3"}[i%3]
		if i%10 == 0 {
			patients = "P1;P2;P3"
		}
		fmt.Fprintf(&b, "%s,RN1,ccm,%s,10,patient_call,entry %d\n", patients, start.Add(time.Duration(i)*15*time.Minute).Format(time.RFC3339), i)
	}
	return b.String()
}

// BenchmarkImportFile imports files of benchEntries entries into one practice, each file
// following the one before, as a practice imports its time period after period, and reports
// the time per entry.
func BenchmarkImportFile(b *testing.B) {
	ctx := context.Background()
	s, _ := setup(b)
	const period = benchEntries * 15 * time.Minute
	end := now.Add(-time.Hour).Add(-time.Duration(b.N) * period)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		end = end.Add(period)
		file := timeFile(benchEntries, end)
		b.StartTimer()
		res, err := s.ImportFile(ctx, fmt.Sprintf("time-%d.csv", i), strings.NewReader(file), timelog.CLI)
		if err != nil {
			b.Fatal(err)
		}
		if res.Rows != benchEntries || len(res.Warnings) != 0 {
			b.Fatalf("import = %d rows, %d warnings; want %d, 0", res.Rows, len(res.Warnings), benchEntries)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*benchEntries), "ms/entry")
}
