package ui

import (
	"fmt"
	"testing"

	"github.com/outreach-engine/outreach/escalation"
)

func TestPhoneDisplay(t *testing.T) {
	for in, want := range map[string]string{
		"+15551110006":  "(555) 111-0006",
		"+442071838750": "+442071838750",
		"+1555111000":   "+1555111000",
	} {
		if got := phoneDisplay(in); got != want {
			t.Errorf("phoneDisplay(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTelLink(t *testing.T) {
	if got := telLink("+15551110006"); got != "tel:+15551110006" {
		t.Errorf("telLink = %q", got)
	}
	for _, bad := range []string{"javascript:alert(1)", "+1555 111", "1+555"} {
		if got := telLink(bad); got != "" {
			t.Errorf("telLink(%q) = %q, want nothing", bad, got)
		}
	}
}

func TestGroupByPatient(t *testing.T) {
	item := func(id int64, patient, status string) escalation.View {
		return escalation.View{ID: id, Patient: patient, PatientName: "Name " + patient, Status: status}
	}
	// A listing as the queue orders it: unresolved first, most severe and oldest first.
	items := []escalation.View{item(1, "A", "open"), item(2, "B", "claimed"), item(3, "A", "open"),
		item(4, "C", "open"), item(5, "B", "open"), item(6, "A", "resolved"), item(7, "C", "resolved"), item(8, "A", "resolved")}
	var got []string
	for _, g := range groupByPatient(items) {
		ids := ""
		for _, it := range g.Items {
			ids += fmt.Sprint(it.ID)
		}
		got = append(got, fmt.Sprintf("%s:%s:%v:%s", g.Patient, g.Name, g.Resolved, ids))
	}
	want := []string{"A:Name A:false:13", "B:Name B:false:25", "C:Name C:false:4", "A:Name A:true:68", "C:Name C:true:7"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
	if len(groupByPatient(nil)) != 0 {
		t.Error("groups of nothing")
	}
}
