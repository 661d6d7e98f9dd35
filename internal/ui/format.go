package ui

import (
	"html/template"
	"strings"

	"github.com/outreach-engine/outreach/escalation"
)

// phoneDisplay shows an E.164 number as people read it: (555) 111-0006 for a North American
// number, the number as stored otherwise.
func phoneDisplay(e164 string) string {
	if len(e164) == 12 && strings.HasPrefix(e164, "+1") {
		n := e164[2:]
		return "(" + n[:3] + ") " + n[3:6] + "-" + n[6:]
	}
	return e164
}

// telLink is the click-to-call link of an E.164 number. html/template lets only http(s) and
// mailto links through as they are; a number of + and digits is safe in a tel: link.
func telLink(e164 string) template.URL {
	for i, r := range e164 {
		if !(r >= '0' && r <= '9' || r == '+' && i == 0) {
			return ""
		}
	}
	return template.URL("tel:" + e164)
}

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
