package ui

import "github.com/outreach-engine/outreach/escalation"

// itemGroup is one patient's items in the queue, the most pressing first.
type itemGroup struct {
	Patient, Name string
	Resolved      bool
	Items         []escalation.View
}

// groupByPatient gathers a listing's items by patient, keeping the listing's order: a group
// stands where its patient's first (most pressing) item stood. A patient's resolved items form a
// group of their own among the resolved.
func groupByPatient(items []escalation.View) []itemGroup {
	var groups []itemGroup
	at := map[string]int{} // patient and resolution → index in groups
	for _, it := range items {
		resolved := it.Status == "resolved"
		key := it.Patient
		if resolved {
			key += "\x00resolved"
		}
		i, ok := at[key]
		if !ok {
			i = len(groups)
			at[key] = i
			groups = append(groups, itemGroup{Patient: it.Patient, Name: it.PatientName, Resolved: resolved})
		}
		groups[i].Items = append(groups[i].Items, it)
	}
	return groups
}
