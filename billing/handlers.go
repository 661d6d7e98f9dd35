package billing

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/staff"
)

// Handlers serve the billing JSON API.
type Handlers struct {
	Store *Store
	Log   *slog.Logger
}

// ReportHandler serves GET /api/v1/billing/report?month=YYYY-MM[&format=json|csv][&all=1]. The
// rows of enrolled patients with no time and nothing else to report are left out unless all=1
// (see MonthReport.WithoutIdle). The read is audited.
func (h *Handlers) ReportHandler(w http.ResponseWriter, r *http.Request) {
	m, err := ParseMonth(r.URL.Query().Get("month"))
	if err != nil {
		web.Fail(w, h.Log, errkind.Errorf(errkind.ErrInvalid, "month: %v", err))
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		web.Fail(w, h.Log, errkind.Errorf(errkind.ErrInvalid, "format %q is not json or csv", format))
		return
	}
	all, err := AllRows(r)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	rep, err := h.Store.Report(r.Context(), m)
	if err == nil {
		err = h.Store.AuditRead(r.Context(), actor(r), m, map[string]any{"view": "report", "format": format, "all": all})
	}
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	if !all {
		rep = rep.WithoutIdle()
	}
	if format == "json" {
		web.WriteJSON(w, http.StatusOK, rep)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="billing-%s.csv"`, m))
	w.Header().Set("Cache-Control", "no-store")
	if err := WriteCSV(w, rep); err != nil {
		h.Log.Error("writing report failed", "err", err)
	}
}

// AllRows reads the query parameter all: 1 or true asks for every row of a report, idle ones
// included; empty, 0 or false for the rows as shown by default.
func AllRows(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("all"); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, errkind.Errorf(errkind.ErrInvalid, "all %q is not 1 or 0", v)
	}
}

// actor is the audit actor of an authenticated request.
func actor(r *http.Request) audit.Actor {
	id, ok := web.IdentityFrom(r.Context())
	if !ok {
		panic("billing: handler reached without authentication")
	}
	return id.Actor()
}

// WorklistHandler serves GET /api/v1/billing/worklist[?month=YYYY-MM][&within=MINUTES]: the
// patients close to their next threshold, most valuable first. The month defaults to the
// current one. The read is audited.
func (h *Handlers) WorklistHandler(r *http.Request, who staff.Identity) (int, any, error) {
	now := h.Store.Clock()
	m := MonthOf(now, h.Store.Location)
	if q := r.URL.Query().Get("month"); q != "" {
		var err error
		if m, err = ParseMonth(q); err != nil {
			return 0, nil, errkind.Errorf(errkind.ErrInvalid, "month: %v", err)
		}
	}
	within := int64(10)
	if q := r.URL.Query().Get("within"); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n < 0 || n > 600 {
			return 0, nil, errkind.Errorf(errkind.ErrInvalid, "within %q is not a number of minutes from 0 to 600", q)
		}
		within = n
	}
	rep, err := h.Store.Report(r.Context(), m)
	if err == nil {
		err = h.Store.AuditRead(r.Context(), who.Actor(), m, map[string]any{"view": "worklist", "within": within})
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, Worklist(rep.Report, now, h.Store.Location, within), nil
}
