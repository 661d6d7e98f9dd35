package ui

import (
	"fmt"
	"testing"

	"github.com/outreach-engine/outreach/escalation"
)

func TestGroupByPatient(t *testing.T) {
	item := func(id int64, patient, status string) escalation.View {
		return escalation.View{ID: id, Patient: &patient, PatientName: "Name " + patient, Status: status}
	}
	// A listing as the queue orders it: unresolved first, most severe and oldest first.
	items := []escalation.View{item(1, "A", "open"), item(2, "B", "claimed"), item(3, "A", "open"),
		item(4, "C", "open"), item(5, "B", "open"), item(6, "A", "resolved"), item(7, "C", "resolved"), item(8, "A", "resolved")}
	number := "+15550990001"
	items = append(items, escalation.View{ID: 9, Number: &number, Status: "open"}, escalation.View{ID: 10, Number: &number, Status: "open"})
	var got []string
	for _, g := range groupByPatient(items) {
		ids := ""
		for _, it := range g.Items {
			ids += fmt.Sprint(it.ID)
		}
		got = append(got, fmt.Sprintf("%s%s:%s:%v:%s", g.Patient, g.Number, g.Name, g.Resolved, ids))
	}
	want := []string{"A:Name A:false:13", "B:Name B:false:25", "C:Name C:false:4", "A:Name A:true:68", "C:Name C:true:7",
		"+15550990001::false:910"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
	if len(groupByPatient(nil)) != 0 {
		t.Error("groups of nothing")
	}
}
