package ui

import (
	"net/http"
	"strings"
)

// forbiddenData is the page a staff member gets for a page their access does not open.
type forbiddenData struct {
	page
	Need string
}

// requireAccess lets through staff whose access is one of levels; the others get a 403 page
// (not the API's JSON) that says what access it needs, with a link back to the queue.
func (p *Pages) requireAccess(h http.HandlerFunc, levels ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who := me(r)
		if who.Allowed(levels...) {
			h(w, r)
			return
		}
		p.render(w, http.StatusForbidden, "forbidden", forbiddenData{page: page{Title: "Not allowed", Me: who},
			Need: "This page needs " + strings.Join(levels, " or ") + " access; yours is " + who.Access + "."})
	}
}
