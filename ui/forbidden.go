package ui

import (
	"net/http"
	"strings"

	"github.com/outreach-engine/outreach/staff"
)

// forbiddenData is the page a staff member gets for a page their access does not open.
type forbiddenData struct {
	page
	Need string
}

// requireAccess lets through staff whose access is one of levels; the others get a 403 page
// (not the API's JSON) that says what access it needs, with a link back to the queue.
func (p *Pages) requireAccess(h http.HandlerFunc, levels ...staff.Access) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who := me(r)
		if who.Allowed(levels...) {
			h(w, r)
			return
		}
		names := make([]string, len(levels))
		for i, l := range levels {
			names[i] = string(l)
		}
		p.render(w, http.StatusForbidden, "forbidden", forbiddenData{page: page{Title: "Not allowed", Me: who},
			Need: "This page needs " + strings.Join(names, " or ") + " access; yours is " + string(who.Access) + "."})
	}
}
