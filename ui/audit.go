package ui

import (
	"net/http"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/web"
)

// auditData is the audit log page.
type auditData struct {
	page
	Entries                 []audit.Entry
	Entities                []string
	Entity, EntityID, Actor string
}

// auditPage shows managers the last 7 days of the audit log; reading it is audited too.
func (p *Pages) auditPage(w http.ResponseWriter, r *http.Request) {
	who := me(r)
	q := r.URL.Query()
	now := p.Queue.Clock()
	d := auditData{page: page{Title: "Audit log", Me: who}, Entity: q.Get("entity"), EntityID: q.Get("entity_id"), Actor: q.Get("actor"),
		Entities: []string{"patient", "escalation", "queue", "staff", "api_token", "billing_month", "time_log", "time_entry", "import", "practice", "audit_log"}}
	var err error
	d.Entries, err = audit.List(r.Context(), p.DB, int64(p.Practice), audit.Filter{From: now.AddDate(0, 0, -7), To: now.Add(time.Minute),
		Entity: d.Entity, EntityID: d.EntityID, Actor: d.Actor}, 500)
	if err == nil {
		err = audit.Record(r.Context(), p.DB, audit.Event{PracticeID: int64(p.Practice), At: now, Actor: who.Actor(),
			Action: "audit_log.read", Entity: "audit_log", Detail: map[string]any{"entity": d.Entity, "actor": d.Actor}})
	}
	if err != nil {
		d.Error = p.message(err)
		p.render(w, web.StatusOf(err), "audit", d)
		return
	}
	p.render(w, http.StatusOK, "audit", d)
}
