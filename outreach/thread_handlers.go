package outreach

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/staff"
)

// patientOf finds the patient a request names by the practice's own id ({id}); a missing one
// is an errkind.ErrNotFound.
func (e *Engine) patientOf(r *http.Request) (int64, error) {
	var patient int64
	ext := r.PathValue("id")
	err := e.DB.GetContext(r.Context(), &patient, selectPatientID, e.pid(), ext)
	if db.IsNoRows(err) {
		return 0, errkind.Errorf(errkind.ErrNotFound, "no patient %q", ext)
	}
	if err != nil {
		return 0, fmt.Errorf("error finding patient: %w", err)
	}
	return patient, nil
}

// pageParams reads a listing's paging from the query: limit (def when absent, 1 to max) and
// before (a positive id, 0 when absent). A bad value is errkind.ErrInvalid.
func pageParams(r *http.Request, def, max int) (limit int, before int64, err error) {
	limit = def
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			return 0, 0, errkind.Errorf(errkind.ErrInvalid, "limit %q is not a number from 1 to %d", v, max)
		}
		limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return 0, 0, errkind.Errorf(errkind.ErrInvalid, "before %q is not an id", v)
		}
		before = n
	}
	return limit, before, nil
}

// MessagesHandler serves GET /api/v1/patients/{id}/messages[?limit=N][&before=TEXT]: the
// patient's texts both ways, newest first (50 by default, at most MaxThread), or those older
// than text TEXT (the last id of a page, for the next one). The read is audited.
func (e *Engine) MessagesHandler(r *http.Request, who staff.Identity) (int, any, error) {
	limit, before, err := pageParams(r, 50, MaxThread)
	if err != nil {
		return 0, nil, err
	}
	patient, err := e.patientOf(r)
	if err != nil {
		return 0, nil, err
	}
	list, err := e.ThreadBefore(r.Context(), e.DB, Party{Patient: patient}, before, limit)
	if err != nil {
		return 0, nil, err
	}
	err = audit.Record(r.Context(), e.DB, audit.Event{PracticeID: e.pid(), At: e.now(), Actor: who.Actor(),
		Action: "patient.read", Entity: "patient", EntityID: strconv.FormatInt(patient, 10),
		Detail: map[string]any{"view": "messages"}})
	return http.StatusOK, list, err
}

// MessageBody is the body of a text from the care team.
type MessageBody struct {
	Body string `json:"body"`
}

// SendMessageHandler serves POST /api/v1/patients/{id}/messages with {"body"}: a text from the
// care team (clinical staff and practitioners), sent through the outbox. 201 {"id", "status"};
// 409 when the patient opted out; 400 for an empty or overlong body.
func (e *Engine) SendMessageHandler(r *http.Request, who staff.Identity, in MessageBody) (int, any, error) {
	if !who.Clinical() {
		return 0, nil, errkind.Errorf(errkind.ErrForbidden, "only clinical staff and practitioners write to patients")
	}
	patient, err := e.patientOf(r)
	if err != nil {
		return 0, nil, err
	}
	m, err := e.SendStaffText(r.Context(), Party{Patient: patient}, who, in.Body)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"id": m.ID, "status": m.Status}, nil
}

// AttachBody is the body of an attachment of an item to a patient.
type AttachBody struct {
	Patient string `json:"patient"`
}

// AttachHandler serves POST /api/v1/escalations/{id}/attach with {"patient"}: an item about a
// number that matched no patient is given to the patient the care team knows it belongs to, with
// the number's texts. For clinical staff, practitioners, managers and admins.
func (e *Engine) AttachHandler(r *http.Request, who staff.Identity, in AttachBody) (int, any, error) {
	if !who.Clinical() && !who.Allowed(staff.AccessManager, staff.AccessAdmin) {
		return 0, nil, errkind.Errorf(errkind.ErrForbidden, "only the care team and managers attach items to patients")
	}
	id, err := web.PathID(r, "id", "escalation")
	if err != nil {
		return 0, nil, err
	}
	holder, err := e.AttachNumber(r.Context(), id, in.Patient, who.StaffID)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"id": id, "patient": in.Patient, "item": holder}, nil
}
