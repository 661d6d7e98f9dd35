package ui

import (
	"net/http"

	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/staff"
)

// staffData is the staff admin page.
type staffData struct {
	page
	Staff  []staff.Account
	Levels []staff.Access
}

func (p *Pages) staffPage(w http.ResponseWriter, r *http.Request) {
	d := staffData{page: page{Title: "Staff", Me: me(r)}, Levels: staff.Levels}
	var err error
	if d.Staff, err = staff.ListAccounts(r.Context(), p.DB, int64(p.Practice)); err != nil {
		d.Error = p.message(err)
		p.render(w, web.StatusOf(err), "staff", d)
		return
	}
	if r.URL.Query().Get("saved") != "" {
		d.Notice = "Saved."
	}
	p.render(w, http.StatusOK, "staff", d)
}

// staffChange sets an account's access, or disables or enables it.
func (p *Pages) staffChange(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	access, change := "", r.PathValue("change")
	if change == "access" {
		access, change = r.PostFormValue("access"), ""
	}
	err := staff.ChangeAccount(r.Context(), p.DB, me(r), r.PathValue("id"), access, change, p.Queue.Clock())
	if err == nil {
		http.Redirect(w, r, "/staff?saved=1", http.StatusSeeOther)
		return
	}
	d := staffData{page: page{Title: "Staff", Me: me(r), Error: p.message(err)}, Levels: staff.Levels}
	d.Staff, _ = staff.ListAccounts(r.Context(), p.DB, int64(p.Practice))
	p.render(w, web.StatusOf(err), "staff", d)
}
