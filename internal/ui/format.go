package ui

import "github.com/outreach-engine/outreach/escalation"

// itemGroup is one patient's items in the queue, the most pressing first; or the items of a
// number that matches no patient (Patient empty).
type itemGroup struct {
	Patient, Name, Number string
	Resolved              bool
	Items                 []escalation.View
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
