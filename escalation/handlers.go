package escalation

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
)

// Handlers serve the queue's JSON API.
type Handlers struct {
	Queue *Queue
	Log   *slog.Logger
}

// CanWork reports whether a staff member may work items: clinical staff and practitioners,
// whose time on them is care management time.
func CanWork(id web.Identity) bool { return id.Role == "clinical" || id.Role == "practitioner" }

// item returns the caller and the item id of a request about one item, or answers it with
// the error.
func (h *Handlers) item(w http.ResponseWriter, r *http.Request) (web.Identity, int64, bool) {
	ident, ok := web.IdentityFrom(r.Context())
	if !ok {
		web.WriteError(w, http.StatusUnauthorized, "authentication required")
		return ident, 0, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		web.Fail(w, h.Log, errkind.Errorf(errkind.ErrInvalid, "escalation id %q is not a positive integer", r.PathValue("id")))
		return ident, 0, false
	}
	return ident, id, true
}

// worker is item for a request that works the item: clinical staff and practitioners only.
func (h *Handlers) worker(w http.ResponseWriter, r *http.Request) (web.Identity, int64, bool) {
	ident, ok := web.IdentityFrom(r.Context())
	if ok && !CanWork(ident) {
		web.Fail(w, h.Log, errkind.Errorf(errkind.ErrForbidden, "only clinical staff and practitioners work escalation items"))
		return ident, 0, false
	}
	return h.item(w, r)
}

// List serves GET /api/v1/escalations[?status=open|claimed|resolved][&severity=…][&claimed_by=STAFF_ID|me].
// The read is audited.
func (h *Handlers) List(w http.ResponseWriter, r *http.Request) {
	ident, ok := web.IdentityFrom(r.Context())
	if !ok {
		web.WriteError(w, http.StatusUnauthorized, "authentication required")
		return
	}
	q := r.URL.Query()
	f := Filter{Status: q.Get("status"), Severity: Severity(q.Get("severity")), ClaimedBy: q.Get("claimed_by")}
	if f.ClaimedBy == "me" {
		f.ClaimedBy = ident.Staff
	}
	items, err := h.Queue.List(r.Context(), f)
	if err == nil {
		err = h.Queue.AuditList(r.Context(), ident.StaffID, f, "api")
	}
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, items)
}

// Get serves GET /api/v1/escalations/{id}: the item with the answers that raised it.
func (h *Handlers) Get(w http.ResponseWriter, r *http.Request) {
	ident, id, ok := h.item(w, r)
	if !ok {
		return
	}
	item, err := h.Queue.Get(r.Context(), id, ident.StaffID)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, item)
}

// Claim serves POST /api/v1/escalations/{id}/claim: 200 with the lease's end, or 409 when
// someone else holds the item.
func (h *Handlers) Claim(w http.ResponseWriter, r *http.Request) {
	ident, id, ok := h.worker(w, r)
	if !ok {
		return
	}
	until, err := h.Queue.Claim(r.Context(), id, ident.StaffID)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": "claimed", "claimed_by": ident.Staff,
		"claim_expires_at": until.Format(time.RFC3339)})
}

// Reassign serves POST /api/v1/escalations/{id}/reassign with {"staff"}: managers give an item
// to a member of the care team (the route requires manager or admin access).
func (h *Handlers) Reassign(w http.ResponseWriter, r *http.Request) {
	ident, id, ok := h.item(w, r)
	if !ok {
		return
	}
	var body struct {
		Staff string `json:"staff"`
	}
	if err := web.DecodeJSON(w, r, &body); err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	if err := h.Queue.Reassign(r.Context(), id, ident.StaffID, body.Staff); err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": "claimed", "claimed_by": body.Staff})
}

// Release serves POST /api/v1/escalations/{id}/release.
func (h *Handlers) Release(w http.ResponseWriter, r *http.Request) {
	ident, id, ok := h.worker(w, r)
	if !ok {
		return
	}
	if err := h.Queue.Release(r.Context(), id, ident.StaffID); err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": "open"})
}

// Resolve serves POST /api/v1/escalations/{id}/resolve with {"outcome", "note"}. The answer
// carries the proposed time entry, to confirm with POST /api/v1/time-entries.
func (h *Handlers) Resolve(w http.ResponseWriter, r *http.Request) {
	ident, id, ok := h.worker(w, r)
	if !ok {
		return
	}
	var body struct {
		Outcome string `json:"outcome"`
		Note    string `json:"note"`
	}
	if err := web.DecodeJSON(w, r, &body); err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	proposal, err := h.Queue.Resolve(r.Context(), id, ident.StaffID, body.Outcome, body.Note)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": "resolved", "outcome": body.Outcome,
		"proposed_time_entry": proposal})
}
