package outreach

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
)

// patientOf finds the patient a request names by the practice's own id ({id}), answering a
// missing one with 404.
func (e *Engine) patientOf(w http.ResponseWriter, r *http.Request) (int64, bool) {
	var patient int64
	ext := r.PathValue("id")
	err := e.DB.GetContext(r.Context(), &patient, selectPatientID, e.pid(), ext)
	if db.IsNoRows(err) {
		web.Fail(w, e.Log, errkind.Errorf(errkind.ErrNotFound, "no patient %q", ext))
		return 0, false
	}
	if err != nil {
		web.Fail(w, e.Log, fmt.Errorf("error finding patient: %w", err))
		return 0, false
	}
	return patient, true
}

// MessagesHandler serves GET /api/v1/patients/{id}/messages[?limit=N]: the patient's texts both
// ways, newest first (50 by default, at most MaxThread). The read is audited.
func (e *Engine) MessagesHandler(w http.ResponseWriter, r *http.Request) {
	who, ok := web.IdentityFrom(r.Context())
	if !ok {
		web.WriteError(w, http.StatusUnauthorized, "authentication required")
		return
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxThread {
			web.Fail(w, e.Log, errkind.Errorf(errkind.ErrInvalid, "limit %q is not a number from 1 to %d", v, MaxThread))
			return
		}
		limit = n
	}
	patient, ok := e.patientOf(w, r)
	if !ok {
		return
	}
	list, err := e.Thread(r.Context(), e.DB, Party{Patient: patient}, limit)
	if err == nil {
		err = audit.Record(r.Context(), e.DB, audit.Event{PracticeID: e.pid(), At: e.now(), Actor: who.Actor(),
			Action: "patient.read", Entity: "patient", EntityID: strconv.FormatInt(patient, 10),
			Detail: map[string]any{"view": "messages"}})
	}
	if err != nil {
		web.Fail(w, e.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, list)
}

// SendMessageHandler serves POST /api/v1/patients/{id}/messages with {"body"}: a text from the
// care team (clinical staff and practitioners), sent through the outbox. 201 {"id", "status"};
// 409 when the patient opted out; 400 for an empty or overlong body.
func (e *Engine) SendMessageHandler(w http.ResponseWriter, r *http.Request) {
	who, ok := web.IdentityFrom(r.Context())
	if !ok {
		web.WriteError(w, http.StatusUnauthorized, "authentication required")
		return
	}
	if !escalation.CanWork(who) {
		web.Fail(w, e.Log, errkind.Errorf(errkind.ErrForbidden, "only clinical staff and practitioners write to patients"))
		return
	}
	var body struct {
		Body string `json:"body"`
	}
	if err := web.DecodeJSON(w, r, &body); err != nil {
		web.Fail(w, e.Log, err)
		return
	}
	patient, ok := e.patientOf(w, r)
	if !ok {
		return
	}
	m, err := e.SendStaffText(r.Context(), Party{Patient: patient}, who, body.Body)
	if err != nil {
		web.Fail(w, e.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, map[string]any{"id": m.ID, "status": m.Status})
}

// AttachHandler serves POST /api/v1/escalations/{id}/attach with {"patient"}: an item about a
// number that matched no patient is given to the patient the care team knows it belongs to, with
// the number's texts. For clinical staff, practitioners, managers and admins.
func (e *Engine) AttachHandler(w http.ResponseWriter, r *http.Request) {
	who, ok := web.IdentityFrom(r.Context())
	if !ok {
		web.WriteError(w, http.StatusUnauthorized, "authentication required")
		return
	}
	if !escalation.CanWork(who) && !who.Allowed(web.AccessManager, web.AccessAdmin) {
		web.Fail(w, e.Log, errkind.Errorf(errkind.ErrForbidden, "only the care team and managers attach items to patients"))
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		web.Fail(w, e.Log, errkind.Errorf(errkind.ErrInvalid, "escalation id %q is not a positive integer", r.PathValue("id")))
		return
	}
	var body struct {
		Patient string `json:"patient"`
	}
	if err := web.DecodeJSON(w, r, &body); err != nil {
		web.Fail(w, e.Log, err)
		return
	}
	holder, err := e.AttachNumber(r.Context(), id, body.Patient, who.StaffID)
	if err != nil {
		web.Fail(w, e.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "patient": body.Patient, "item": holder})
}
