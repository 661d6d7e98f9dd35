package billing

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
)

// TestCountAllSplitChangesNothing: counting the staff members on several goroutines gives the
// tallies of counting them in turn, with overlapping entries (conflicts), shared entries,
// practitioner time and interactive RPM contacts spread over staff members.
func TestCountAllSplitChangesNothing(t *testing.T) {
	in := Input{Month: march(), Location: ny}
	patients := map[string]*Patient{}
	for i := range 12 {
		p := patient(fmt.Sprintf("P%02d", i))
		in.Patients = append(in.Patients, p)
	}
	for i := range in.Patients {
		patients[in.Patients[i].ID] = &in.Patients[i]
	}
	var byStaff [][]Entry
	start := local("2026-03-02 09:00")
	id := int64(0)
	for s := range 7 {
		var es []Entry
		role, npi := Clinical, ""
		if s == 0 {
			role, npi = Practitioner, in.Patients[0].BillingNPI
		}
		for k := range 9 {
			id++
			from := start.Add(time.Duration(k*17+s) * time.Minute) // 20-minute entries every 17: overlaps
			program := []care.Program{care.CCM, care.RPM, care.PCM}[k%3]
			ps := []string{in.Patients[(s+k)%12].ID}
			if k%4 == 0 {
				ps = append(ps, in.Patients[(s+k+5)%12].ID)
			}
			es = append(es, Entry{ID: id, Staff: fmt.Sprint(s), Role: role, NPI: npi, Program: program,
				Start: from, End: from.Add(20 * time.Minute), Patients: ps, Interactive: k%2 == 0})
		}
		byStaff = append(byStaff, es)
	}
	entries := func(add func([]Entry)) error {
		for _, es := range byStaff {
			add(es)
		}
		return nil
	}
	want, err := countAll(in, patients, entries, 1)
	if err != nil {
		t.Fatal(err)
	}
	conflicts := 0
	for _, programs := range want {
		for _, tl := range programs {
			if tl.conflict {
				conflicts++
			}
		}
	}
	if conflicts == 0 || len(want) < 10 {
		t.Fatalf("the fixture has %d conflicts over %d patients: it tests little", conflicts, len(want))
	}
	for _, workers := range []int{2, 3, 8} {
		got, err := countAll(in, patients, entries, workers)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d workers: tallies differ from counting in turn", workers)
		}
	}
}
