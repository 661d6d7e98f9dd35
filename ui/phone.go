package ui

import (
	"html/template"

	"github.com/outreach-engine/outreach/internal/ident"
)

// phoneText formats an E.164 number for reading: a North American number as (555) 111-0006,
// any other as stored.
func phoneText(e164 string) string {
	if len(e164) != 12 || e164[:2] != "+1" || !ident.E164(e164) {
		return e164
	}
	d := e164[2:]
	return "(" + d[:3] + ") " + d[3:6] + "-" + d[6:]
}

// telHref is a number as a click-to-call link; empty for anything that is not E.164.
func telHref(e164 string) template.URL {
	if !ident.E164(e164) {
		return ""
	}
	// E.164 is a plus and digits only: nothing in it can change the link's meaning.
	return template.URL("tel:" + e164)
}
