package ui

import (
	"fmt"
	"strings"
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

func TestIDPart(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"P1", "P1"},
		{"DEMO-03", "DEMO-03"},
		{"MRN:7.2", "MRN_3a7_2e2"},
		{"MRN_7.2", "MRN_5f7_2e2"},
		{"a_3a", "a_5f3a"},
		{"é\x01", "_c3_a9_01"},
	} {
		if got := idPart(tt.in); got != tt.want {
			t.Errorf("idPart(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Every patient id, as the schema allows them, gives a part of its own that needs no escape
	// in a CSS selector.
	ids := []string{"A", "a", "A.1", "A:1", "A_1", "A-1", "A_2e1", "A_3a1", "A_5f1", "A._", "A_.", "A::", "A__3a"}
	parts := map[string]string{}
	for _, id := range ids {
		p := idPart(id)
		if strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			t.Errorf("idPart(%q) = %q, which a selector must escape", id, p)
		}
		if other, ok := parts[p]; ok {
			t.Errorf("idPart(%q) = idPart(%q) = %q", id, other, p)
		}
		parts[p] = id
	}
}

func TestLinkID(t *testing.T) {
	open, resolved := itemGroup{Patient: "MRN:7.2"}, itemGroup{Patient: "MRN:7.2", Resolved: true}
	if open.LinkID() != "patient-MRN_3a7_2e2" || resolved.LinkID() != "resolved-patient-MRN_3a7_2e2" {
		t.Errorf("link ids %q and %q", open.LinkID(), resolved.LinkID())
	}
}
