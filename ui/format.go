package ui

import (
	"fmt"
	"strings"

	"github.com/outreach-engine/outreach/escalation"
)

// itemGroup is one patient's items in the queue, the most pressing first; or the items of a
// number that matches no patient (Patient empty).
type itemGroup struct {
	Patient, Name, Number string
	Resolved              bool
	Items                 []escalation.View
}

// LinkID is the element id of the group's link to its patient, the same at every refresh of
// the queue so that htmx gives the focus back to it; a patient's resolved items have a group
// (and a link) of their own.
func (g itemGroup) LinkID() string {
	if g.Resolved {
		return "resolved-patient-" + idPart(g.Patient)
	}
	return "patient-" + idPart(g.Patient)
}

// idPart writes s with only letters, digits, '-' and '_', so that it can stand in an element id
// that CSS selectors take as is: every other byte becomes '_' and its two hex digits ("MRN:7.2"
// is "MRN_3a7_2e2", "MRN_7.2" is "MRN_5f7_2e2"). Two strings never give the same part.
func idPart(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return b.String()
}

// groupByPatient gathers a listing's items by patient, keeping the listing's order: a group
// stands where its patient's first (most pressing) item stood. A patient's resolved items form a
// group of their own among the resolved.
func groupByPatient(items []escalation.View) []itemGroup {
	var groups []itemGroup
	at := map[string]int{} // patient and resolution → index in groups
	for _, it := range items {
		g := itemGroup{Name: it.PatientName, Resolved: it.Status == "resolved"}
		key := "patient\x00"
		switch {
		case it.Patient != nil:
			g.Patient, key = *it.Patient, key+*it.Patient
		case it.Number != nil:
			g.Number, key = *it.Number, "number\x00"+*it.Number
		}
		if g.Resolved {
			key += "\x00resolved"
		}
		i, ok := at[key]
		if !ok {
			i = len(groups)
			at[key] = i
			groups = append(groups, g)
		}
		groups[i].Items = append(groups[i].Items, it)
	}
	return groups
}
