package ui

import (
	"fmt"
	"net/http"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
)

// billingData is the billing page.
type billingData struct {
	page
	Report   billing.MonthReport
	Worklist []billing.WorkItem
	All      bool // every row, those of enrolled patients with no time included
}

// month reads ?month=YYYY-MM, the current month by default.
func (p *Pages) month(r *http.Request) (billing.Month, error) {
	if q := r.URL.Query().Get("month"); q != "" {
		m, err := billing.ParseMonth(q)
		if err != nil {
			return m, errkind.Errorf(errkind.ErrInvalid, "month: %v", err)
		}
		return m, nil
	}
	return billing.MonthOf(p.Billing.Clock(), p.Location), nil
}

func (p *Pages) billingPage(w http.ResponseWriter, r *http.Request) {
	d := billingData{page: page{Title: "Billing", Me: me(r)}}
	m, err := p.month(r)
	if err == nil {
		d.All, err = billing.AllRows(r)
	}
	if err == nil {
		d.Report, err = p.Billing.Report(r.Context(), m)
	}
	if err == nil {
		err = p.Billing.AuditRead(r.Context(), d.Me.Actor(), m, map[string]any{"view": "page", "all": d.All})
	}
	if err != nil {
		d.Error = p.message(err)
		p.render(w, web.StatusOf(err), "billing", d)
		return
	}
	d.Title = "Billing " + d.Report.Month
	d.Worklist = billing.Worklist(d.Report.Report, p.Billing.Clock(), p.Location, 10)
	if !d.All {
		d.Report = d.Report.WithoutIdle()
	}
	p.render(w, http.StatusOK, "billing", d)
}

func (p *Pages) billingCSV(w http.ResponseWriter, r *http.Request) {
	m, err := p.month(r)
	var rep billing.MonthReport
	var all bool
	if err == nil {
		all, err = billing.AllRows(r)
	}
	if err == nil {
		rep, err = p.Billing.Report(r.Context(), m)
	}
	if err == nil {
		err = p.Billing.AuditRead(r.Context(), me(r).Actor(), m, map[string]any{"view": "page", "format": "csv", "all": all})
	}
	if err != nil {
		http.Error(w, p.message(err), web.StatusOf(err))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="billing-%s.csv"`, m))
	if !all {
		rep = rep.WithoutIdle()
	}
	if err := billing.WriteCSV(w, rep); err != nil {
		p.Log.Error("billing CSV not written", "err", err)
	}
}
