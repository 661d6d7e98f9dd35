package escalation

import (
	"net/http"
	"time"

	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/staff"
)

// Handlers serve the queue's JSON API (see web.API).
type Handlers struct {
	Queue *Queue
}

// worker returns the id of an item that the caller works: clinical staff and practitioners only.
func worker(r *http.Request, who staff.Identity) (int64, error) {
	if !who.Clinical() {
		return 0, errkind.Errorf(errkind.ErrForbidden, "only clinical staff and practitioners work escalation items")
	}
	return web.PathID(r, "id", "escalation")
}

// List serves GET /api/v1/escalations[?status=open|claimed|resolved][&severity=…][&claimed_by=STAFF_ID|me].
// The read is audited.
func (h *Handlers) List(r *http.Request, who staff.Identity) (int, any, error) {
	q := r.URL.Query()
	f := Filter{Status: q.Get("status"), Severity: Severity(q.Get("severity")), ClaimedBy: q.Get("claimed_by")}
	if f.ClaimedBy == "me" {
		f.ClaimedBy = who.Staff
	}
	items, err := h.Queue.List(r.Context(), f)
	if err == nil {
		err = h.Queue.AuditList(r.Context(), who.StaffID, f, "api")
	}
	return http.StatusOK, items, err
}

// Get serves GET /api/v1/escalations/{id}: the item with the answers that raised it.
func (h *Handlers) Get(r *http.Request, who staff.Identity) (int, any, error) {
	id, err := web.PathID(r, "id", "escalation")
	if err != nil {
		return 0, nil, err
	}
	item, err := h.Queue.Get(r.Context(), id, who.StaffID)
	return http.StatusOK, item, err
}

// Claim serves POST /api/v1/escalations/{id}/claim: 200 with the lease's end, or 409 when
// someone else holds the item.
func (h *Handlers) Claim(r *http.Request, who staff.Identity) (int, any, error) {
	id, err := worker(r, who)
	if err != nil {
		return 0, nil, err
	}
	until, err := h.Queue.Claim(r.Context(), id, who.StaffID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": id, "status": "claimed", "claimed_by": who.Staff,
		"claim_expires_at": until.Format(time.RFC3339)}, nil
}

// ReassignBody is the body of a reassignment.
type ReassignBody struct {
	Staff string `json:"staff"`
}

// Reassign serves POST /api/v1/escalations/{id}/reassign with {"staff"}: managers give an item
// to a member of the care team (the route requires manager or admin access).
func (h *Handlers) Reassign(r *http.Request, who staff.Identity, body ReassignBody) (int, any, error) {
	id, err := web.PathID(r, "id", "escalation")
	if err != nil {
		return 0, nil, err
	}
	if err := h.Queue.Reassign(r.Context(), id, who.StaffID, body.Staff); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": id, "status": "claimed", "claimed_by": body.Staff}, nil
}

// Release serves POST /api/v1/escalations/{id}/release.
func (h *Handlers) Release(r *http.Request, who staff.Identity) (int, any, error) {
	id, err := worker(r, who)
	if err != nil {
		return 0, nil, err
	}
	if err := h.Queue.Release(r.Context(), id, who.StaffID); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": id, "status": "open"}, nil
}

// ResolveBody is the body of a resolution.
type ResolveBody struct {
	Outcome string `json:"outcome"`
	Note    string `json:"note"`
}

// Resolve serves POST /api/v1/escalations/{id}/resolve with {"outcome", "note"}. The answer
// carries the proposed time entry, to confirm with POST /api/v1/time-entries.
func (h *Handlers) Resolve(r *http.Request, who staff.Identity, body ResolveBody) (int, any, error) {
	id, err := worker(r, who)
	if err != nil {
		return 0, nil, err
	}
	proposal, err := h.Queue.Resolve(r.Context(), id, who.StaffID, body.Outcome, body.Note)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": id, "status": "resolved", "outcome": body.Outcome,
		"proposed_time_entry": proposal}, nil
}
