package billing

import (
	"fmt"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
)

// BenchmarkCompute measures the pure engine on a month of 10,000 patients and 200,000 entries
// (20 per patient, 25 staff members): go test -run X -bench Compute ./billing
func BenchmarkCompute(b *testing.B) {
	const patients, perPatient, staff = 10000, 20, 25
	in := Input{Month: march(), Location: ny, Patients: make([]Patient, patients)}
	var err error
	if in.Rates, err = BundledRates(); err != nil {
		b.Fatal(err)
	}
	start := local("2026-03-01 08:00")
	slot := 0
	for i := range patients {
		id := fmt.Sprintf("P%05d", i)
		in.Patients[i] = patient(id)
		for range perPatient {
			s := start.Add(time.Duration(slot/staff) * 3 * time.Minute)
			in.Entries = append(in.Entries, Entry{ID: int64(slot), Staff: fmt.Sprint(slot % staff), Role: Clinical,
				Program: care.CCM, Start: s, End: s.Add(3 * time.Minute), Patients: []string{id}})
			slot++
		}
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := Compute(in)
		if err != nil || len(rep.Rows) != patients {
			b.Fatal(err, len(rep.Rows))
		}
	}
}
