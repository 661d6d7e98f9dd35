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
	"github.com/outreach-engine/outreach/staff"
)

// Handlers serve the time log's JSON API (see web.API) and its CSV export.
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

// Create records an entry: POST /api/v1/time-entries. The answer is the entry with its
// warnings (overlaps, a closed month), if any.
func (h *Handlers) Create(r *http.Request, who staff.Identity, b entryBody) (int, any, error) {
	if b.Reason != "" {
		return 0, nil, errkind.Errorf(errkind.ErrInvalid, "reason is only for amendments")
	}
	d, err := b.draft(who.Staff)
	if err != nil {
		return 0, nil, err
	}
	e, err := h.Svc.Record(r.Context(), CallerOf(who), d, SourceManual)
	return http.StatusCreated, e, err
}

// Amend records a corrected version: POST /api/v1/time-entries/{id}/amend with the reason and
// the fields that change.
func (h *Handlers) Amend(r *http.Request, who staff.Identity, b amendBody) (int, any, error) {
	entry, err := pathEntryID(r)
	if err != nil {
		return 0, nil, err
	}
	e, err := h.Svc.Amend(r.Context(), CallerOf(who), entry, b.patch(), b.Reason)
	return http.StatusCreated, e, err
}

// voidBody is a void as posted.
type voidBody struct {
	Reason string `json:"reason"`
}

// Void withdraws an entry: POST /api/v1/time-entries/{id}/void with {"reason"}.
func (h *Handlers) Void(r *http.Request, who staff.Identity, b voidBody) (int, any, error) {
	entry, err := pathEntryID(r)
	if err != nil {
		return 0, nil, err
	}
	e, err := h.Svc.Void(r.Context(), CallerOf(who), entry, b.Reason)
	return http.StatusCreated, e, err
}

// History lists an entry's versions: GET /api/v1/time-entries/{id}/history. The read is
// audited.
func (h *Handlers) History(r *http.Request, who staff.Identity) (int, any, error) {
	entry, err := pathEntryID(r)
	if err != nil {
		return 0, nil, err
	}
	hist, err := h.Svc.History(r.Context(), entry)
	if err == nil {
		err = h.Svc.AuditRead(r.Context(), who.Actor(), "time_entry.history", "", entry, "", nil)
	}
	return http.StatusOK, hist, err
}

// List lists a month's entries: GET /api/v1/time-entries?month=YYYY-MM[&patient=ID][&versions=all].
// The read is audited.
func (h *Handlers) List(r *http.Request, who staff.Identity) (int, any, error) {
	from, to, err := h.month(r)
	if err != nil {
		return 0, nil, err
	}
	f := ListFilter{From: from, To: to, Patient: r.URL.Query().Get("patient"), AllVersion: r.URL.Query().Get("versions") == "all"}
	entries, err := h.Svc.List(r.Context(), f)
	if err == nil {
		err = h.Svc.AuditRead(r.Context(), who.Actor(), "time_entry.list", r.URL.Query().Get("month"), 0, f.Patient,
			map[string]any{"versions": map[bool]string{true: "all", false: "current"}[f.AllVersion], "rows": len(entries)})
	}
	return http.StatusOK, entries, err
}

// Conflicts lists a month's overlapping entries: GET /api/v1/time-entries/conflicts?month=YYYY-MM.
// The read is audited.
func (h *Handlers) Conflicts(r *http.Request, who staff.Identity) (int, any, error) {
	from, to, err := h.month(r)
	if err != nil {
		return 0, nil, err
	}
	cs, err := h.Svc.Conflicts(r.Context(), from, to)
	if err == nil {
		err = h.Svc.AuditRead(r.Context(), who.Actor(), "time_entry.conflicts", r.URL.Query().Get("month"), 0, "", nil)
	}
	return http.StatusOK, cs, err
}

// Export writes a month's entries with every audit element as CSV:
// GET /api/v1/time-entries/export?month=YYYY-MM. The export is audited before it is written.
func (h *Handlers) Export(w http.ResponseWriter, r *http.Request) {
	who, ok := web.IdentityFrom(r.Context())
	if !ok {
		web.WriteError(w, http.StatusUnauthorized, "authentication required")
		return
	}
	from, to, err := h.month(r)
	if err == nil {
		err = h.Svc.AuditRead(r.Context(), who.Actor(), "time_entry.export", r.URL.Query().Get("month"), 0, "", nil)
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

// timerBody is a timer's start as posted.
type timerBody struct {
	Patients patientList  `json:"patients"`
	Program  care.Program `json:"program"`
	Activity Activity     `json:"activity"`
}

// StartTimer starts the caller's timer: POST /api/v1/timers.
func (h *Handlers) StartTimer(r *http.Request, who staff.Identity, b timerBody) (int, any, error) {
	t, err := h.Svc.StartTimer(r.Context(), CallerOf(who), TimerStart{Patients: b.Patients, Program: b.Program, Activity: b.Activity})
	return http.StatusCreated, t, err
}

// StopTimer stops the caller's timer and records its entry: POST /api/v1/timers/{id}/stop.
func (h *Handlers) StopTimer(r *http.Request, who staff.Identity, b TimerStop) (int, any, error) {
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || n <= 0 {
		return 0, nil, errkind.Errorf(errkind.ErrNotFound, "timer id %q is not a number", r.PathValue("id"))
	}
	e, err := h.Svc.StopTimer(r.Context(), CallerOf(who), TimerID(n), b)
	return http.StatusCreated, e, err
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
