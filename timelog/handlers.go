package timelog

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/web"
)

// Handlers serve the time log's JSON API. Every handler expects an authenticated identity.
type Handlers struct {
	Svc      *Service
	Log      *slog.Logger
	Location *time.Location // the practice's zone, for months and exports
}

// entryBody is a time entry as posted: the fields of the time CSV file (patients as a list or
// a ';'-separated string; ended_at, minutes or seconds), so that the time entry an escalation's
// resolution proposes is taken as it is.
type entryBody struct {
	Patients    patientList  `json:"patients"`
	Staff       string       `json:"staff"`
	Program     care.Program `json:"program"`
	StartedAt   *time.Time   `json:"started_at"`
	EndedAt     *time.Time   `json:"ended_at"`
	Minutes     *int64       `json:"minutes"`
	Seconds     *int64       `json:"seconds"`
	Activity    Activity     `json:"activity"`
	Note        string       `json:"note"`
	Changed     Change       `json:"changed"`
	MDM         MDM          `json:"mdm"`
	Interactive bool         `json:"interactive"`
	Reason      string       `json:"reason"`
}

// amendBody is an amendment as posted: the reason and the fields that change.
type amendBody struct {
	Reason      string        `json:"reason"`
	Patients    *patientList  `json:"patients"`
	Staff       *string       `json:"staff"`
	Program     *care.Program `json:"program"`
	StartedAt   *time.Time    `json:"started_at"`
	EndedAt     *time.Time    `json:"ended_at"`
	Minutes     *int64        `json:"minutes"`
	Seconds     *int64        `json:"seconds"`
	Activity    *Activity     `json:"activity"`
	Note        *string       `json:"note"`
	Changed     *Change       `json:"changed"`
	MDM         *MDM          `json:"mdm"`
	Interactive *bool         `json:"interactive"`
}

// patch returns what the body changes; patients given as "" or [] are an empty list, refused.
func (b amendBody) patch() Patch {
	p := Patch{Staff: b.Staff, Program: b.Program, StartedAt: b.StartedAt, EndedAt: b.EndedAt,
		Minutes: b.Minutes, Seconds: b.Seconds, Activity: b.Activity, Note: b.Note, Changed: b.Changed,
		MDM: b.MDM, Interactive: b.Interactive}
	if b.Patients != nil {
		p.Patients = append([]string{}, *b.Patients...)
	}
	return p
}

// patientList accepts ["P1","P2"] or "P1;P2".
type patientList []string

func (p *patientList) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*p = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("patients must be a list of patient ids or a ';'-separated string")
	}
	*p = nil
	for item := range strings.SplitSeq(s, ";") {
		if item = strings.TrimSpace(item); item != "" {
			*p = append(*p, item)
		}
	}
	return nil
}

// draft turns the body into a draft; the staff member defaults to the caller.
func (b entryBody) draft(caller string) (Draft, error) {
	d := Draft{Patients: b.Patients, Staff: b.Staff, Program: b.Program, Activity: b.Activity,
		Note: b.Note, Changed: b.Changed, MDM: b.MDM, Interactive: b.Interactive}
	if d.Staff == "" {
		d.Staff = caller
	}
	if b.StartedAt == nil {
		return d, &InvalidError{[]*FieldError{fieldErr("started_at", "started_at is empty")}}
	}
	d.StartedAt = *b.StartedAt
	end, given, fe := endOf(d.StartedAt, b.EndedAt, b.Minutes, b.Seconds)
	switch {
	case fe != nil:
		return d, &InvalidError{[]*FieldError{fe}}
	case !given:
		return d, &InvalidError{[]*FieldError{fieldErr("ended_at", "ended_at, minutes and seconds are all empty: give one")}}
	}
	d.EndedAt = end
	return d, nil
}

func identity(r *http.Request) web.Identity {
	id, ok := web.IdentityFrom(r.Context())
	if !ok {
		panic("timelog: handler reached without authentication")
	}
	return id
}

// Create records an entry: POST /api/v1/time-entries. The answer is the entry with its
// warnings (overlaps, a closed month), if any.
func (h *Handlers) Create(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	var b entryBody
	if err := web.DecodeJSON(w, r, &b); err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	if b.Reason != "" {
		web.Fail(w, h.Log, errkind.Errorf(errkind.ErrInvalid, "reason is only for amendments"))
		return
	}
	d, err := b.draft(id.Staff)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	e, err := h.Svc.Record(r.Context(), CallerOf(id), d, SourceManual)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, e)
}

// Amend records a corrected version: POST /api/v1/time-entries/{id}/amend with the reason and
// the fields that change.
func (h *Handlers) Amend(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	entry, err := pathEntryID(r)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	var b amendBody
	if err := web.DecodeJSON(w, r, &b); err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	e, err := h.Svc.Amend(r.Context(), CallerOf(id), entry, b.patch(), b.Reason)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, e)
}

// Void withdraws an entry: POST /api/v1/time-entries/{id}/void with {"reason"}.
func (h *Handlers) Void(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	entry, err := pathEntryID(r)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	var b struct {
		Reason string `json:"reason"`
	}
	if err := web.DecodeJSON(w, r, &b); err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	e, err := h.Svc.Void(r.Context(), CallerOf(id), entry, b.Reason)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, e)
}

// History lists an entry's versions: GET /api/v1/time-entries/{id}/history. The read is
// audited.
func (h *Handlers) History(w http.ResponseWriter, r *http.Request) {
	entry, err := pathEntryID(r)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	hist, err := h.Svc.History(r.Context(), entry)
	if err == nil {
		err = h.Svc.AuditRead(r.Context(), identity(r).Actor(), "time_entry.history", "", entry, "", nil)
	}
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, hist)
}

// List lists a month's entries: GET /api/v1/time-entries?month=YYYY-MM[&patient=ID][&versions=all].
// The read is audited.
func (h *Handlers) List(w http.ResponseWriter, r *http.Request) {
	from, to, err := h.month(r)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	f := ListFilter{From: from, To: to, Patient: r.URL.Query().Get("patient"), AllVersion: r.URL.Query().Get("versions") == "all"}
	entries, err := h.Svc.List(r.Context(), f)
	if err == nil {
		err = h.Svc.AuditRead(r.Context(), identity(r).Actor(), "time_entry.list", r.URL.Query().Get("month"), 0, f.Patient,
			map[string]any{"versions": map[bool]string{true: "all", false: "current"}[f.AllVersion], "rows": len(entries)})
	}
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, entries)
}

// Conflicts lists a month's overlapping entries: GET /api/v1/time-entries/conflicts?month=YYYY-MM.
// The read is audited.
func (h *Handlers) Conflicts(w http.ResponseWriter, r *http.Request) {
	from, to, err := h.month(r)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	cs, err := h.Svc.Conflicts(r.Context(), from, to)
	if err == nil {
		err = h.Svc.AuditRead(r.Context(), identity(r).Actor(), "time_entry.conflicts", r.URL.Query().Get("month"), 0, "", nil)
	}
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusOK, cs)
}

// Export writes a month's entries with every audit element as CSV:
// GET /api/v1/time-entries/export?month=YYYY-MM. The export is audited before it is written.
func (h *Handlers) Export(w http.ResponseWriter, r *http.Request) {
	from, to, err := h.month(r)
	if err == nil {
		err = h.Svc.AuditRead(r.Context(), identity(r).Actor(), "time_entry.export", r.URL.Query().Get("month"), 0, "", nil)
	}
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="time-entries-%s.csv"`, r.URL.Query().Get("month")))
	w.Header().Set("Cache-Control", "no-store")
	if err := h.Svc.Export(r.Context(), w, from, to, h.Location); err != nil {
		h.Log.Error("export failed", "err", err)
	}
}

// StartTimer starts the caller's timer: POST /api/v1/timers.
func (h *Handlers) StartTimer(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	var b struct {
		Patients patientList  `json:"patients"`
		Program  care.Program `json:"program"`
		Activity Activity     `json:"activity"`
	}
	if err := web.DecodeJSON(w, r, &b); err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	t, err := h.Svc.StartTimer(r.Context(), CallerOf(id), TimerStart{Patients: b.Patients, Program: b.Program, Activity: b.Activity})
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, t)
}

// StopTimer stops the caller's timer and records its entry: POST /api/v1/timers/{id}/stop.
func (h *Handlers) StopTimer(w http.ResponseWriter, r *http.Request) {
	id := identity(r)
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n <= 0 {
		web.Fail(w, h.Log, errkind.Errorf(errkind.ErrNotFound, "timer id %q is not a number", r.PathValue("id")))
		return
	}
	var b TimerStop
	if err := web.DecodeJSON(w, r, &b); err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	e, err := h.Svc.StopTimer(r.Context(), CallerOf(id), TimerID(n), b)
	if err != nil {
		web.Fail(w, h.Log, err)
		return
	}
	web.WriteJSON(w, http.StatusCreated, e)
}

func pathEntryID(r *http.Request) (EntryID, error) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n <= 0 {
		return 0, errkind.Errorf(errkind.ErrNotFound, "time entry id %q is not a number", r.PathValue("id"))
	}
	return EntryID(n), nil
}

func (h *Handlers) month(r *http.Request) (time.Time, time.Time, error) {
	m, err := billing.ParseMonth(r.URL.Query().Get("month"))
	if err != nil {
		return time.Time{}, time.Time{}, errkind.Errorf(errkind.ErrInvalid, "month: %v", err)
	}
	from, to := m.Bounds(h.Location)
	return from, to, nil
}
