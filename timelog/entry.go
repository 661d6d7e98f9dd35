// Package timelog records staff time per patient and program with the elements an auditor asks
// for. Entries are append-only: a correction is an amendment that supersedes an entry, and a
// removal is a void; nothing is updated in place or deleted.
package timelog

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
)

// EntryID is a time entry's id.
type EntryID int64

// Activity is what was done.
type Activity string

// Activities are the kinds of work an entry may record.
var Activities = []Activity{"care_plan", "medication_reconciliation", "patient_call", "caregiver_call", "coordination", "education", "data_review", "other"}

// Change is what changed as a result of the work.
type Change string

// Changes are what the work may have changed.
var Changes = []Change{"no_change", "decision", "care_plan_update", "medication_change", "escalation", "referral"}

// MDM is the level of medical decision-making the billing practitioner documented.
type MDM string

// MDMs are the levels of medical decision-making, lowest first.
var MDMs = []MDM{"none", "low", "moderate", "high"}

// Source is how an entry was recorded.
type Source string

// Sources.
const (
	SourceManual     Source = "manual"
	SourceTimer      Source = "timer"
	SourceEscalation Source = "escalation"
	SourceImport     Source = "import"
)

// MaxDuration is the longest single entry accepted.
const MaxDuration = 12 * time.Hour

// Draft is a time entry as submitted, with the practice's own ids for staff and patients.
type Draft struct {
	Patients    []string     `json:"patients"`
	Staff       string       `json:"staff"`
	Program     care.Program `json:"program"`
	StartedAt   time.Time    `json:"started_at"`
	EndedAt     time.Time    `json:"ended_at"`
	Activity    Activity     `json:"activity"`
	Note        string       `json:"note"`
	Changed     Change       `json:"changed"`
	MDM         MDM          `json:"mdm"`
	Interactive bool         `json:"interactive"`
}

// FieldError is a problem with one field of a draft.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Msg }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Normalize fills defaults (activity other, no change, no MDM) and checks what can be checked
// without the database: the program, activity, change and MDM values, a stop after the start,
// at most MaxDuration, not in the future, a note of reasonable size and distinct patients.
func (d *Draft) Normalize(now time.Time) []*FieldError {
	var errs []*FieldError
	if d.Activity == "" {
		d.Activity = "other"
	}
	if d.Changed == "" {
		d.Changed = "no_change"
	}
	if d.MDM == "" {
		d.MDM = "none"
	}
	d.Note = strings.TrimSpace(d.Note)
	if len(d.Patients) == 0 {
		errs = append(errs, fieldErr("patients", "patients is empty"))
	}
	seen := map[string]bool{}
	for _, p := range d.Patients {
		if seen[p] {
			errs = append(errs, fieldErr("patients", "patients lists %q twice", p))
		}
		seen[p] = true
	}
	if len(d.Patients) > 50 {
		errs = append(errs, fieldErr("patients", "patients lists %d patients; a shared activity has at most 50", len(d.Patients)))
	}
	if d.Staff == "" {
		errs = append(errs, fieldErr("staff", "staff is empty"))
	}
	if !slices.Contains(care.Programs, d.Program) {
		errs = append(errs, fieldErr("program", "program %q is not one of ccm, rpm, pcm, bhi, tcm, g0506", d.Program))
	}
	if !slices.Contains(Activities, d.Activity) {
		errs = append(errs, fieldErr("activity", "activity %q is not one of %s", d.Activity, join(Activities)))
	}
	if !slices.Contains(Changes, d.Changed) {
		errs = append(errs, fieldErr("changed", "changed %q is not one of %s", d.Changed, join(Changes)))
	}
	if !slices.Contains(MDMs, d.MDM) {
		errs = append(errs, fieldErr("mdm", "mdm %q is not one of none, low, moderate, high", d.MDM))
	}
	if len(d.Note) > 4000 {
		errs = append(errs, fieldErr("note", "note is longer than 4000 characters"))
	}
	switch {
	case d.StartedAt.IsZero():
		errs = append(errs, fieldErr("started_at", "started_at is empty"))
	case d.EndedAt.IsZero():
		errs = append(errs, fieldErr("ended_at", "ended_at is empty"))
	case !d.EndedAt.After(d.StartedAt):
		errs = append(errs, fieldErr("ended_at", "ended_at %s is not after started_at %s", d.EndedAt.Format(time.RFC3339), d.StartedAt.Format(time.RFC3339)))
	case d.EndedAt.Sub(d.StartedAt) > MaxDuration:
		errs = append(errs, fieldErr("ended_at", "the entry lasts %s; one entry may last at most %s", d.EndedAt.Sub(d.StartedAt), MaxDuration))
	case d.EndedAt.After(now.Add(time.Minute)):
		errs = append(errs, fieldErr("ended_at", "ended_at %s is in the future", d.EndedAt.Format(time.RFC3339)))
	}
	return errs
}

func join[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

// Entry is a stored time entry.
type Entry struct {
	ID              EntryID      `json:"id" db:"id"`
	Patients        []string     `json:"patients" db:"-"`
	Staff           string       `json:"staff" db:"staff"`
	StaffName       string       `json:"staff_name" db:"staff_name"`
	StaffRole       string       `json:"staff_role" db:"staff_role"`
	StaffCredential string       `json:"staff_credential" db:"staff_credential"`
	StaffNPI        *string      `json:"staff_npi" db:"staff_npi"`
	Program         care.Program `json:"program" db:"program"`
	StartedAt       time.Time    `json:"started_at" db:"started_at"`
	EndedAt         time.Time    `json:"ended_at" db:"ended_at"`
	Seconds         int64        `json:"seconds" db:"-"`
	Activity        Activity     `json:"activity" db:"activity"`
	Note            string       `json:"note" db:"note"`
	Changed         Change       `json:"changed" db:"changed"`
	MDM             MDM          `json:"mdm" db:"mdm"`
	Interactive     bool         `json:"interactive" db:"interactive"`
	Source          Source       `json:"source" db:"source"`
	Supersedes      *EntryID     `json:"supersedes" db:"supersedes"`
	Voided          bool         `json:"voided" db:"voided"`
	AmendReason     *string      `json:"amend_reason" db:"amend_reason"`
	SupersededBy    *EntryID     `json:"superseded_by" db:"superseded_by"`
	CreatedBy       string       `json:"created_by" db:"created_by"`           // who recorded this version: a staff id, or cli
	CreatedByName   string       `json:"created_by_name" db:"created_by_name"` // their name
	CreatedAt       time.Time    `json:"created_at" db:"created_at"`
	// Warnings says what to know about the entry as it was recorded (overlaps, a closed
	// month); only the call that records it fills them.
	Warnings []Warning `json:"warnings,omitempty" db:"-"`

	staffID int64 // the staff member's internal id
}

// draft returns the entry's facts as a draft.
func (e Entry) draft() Draft {
	return Draft{Patients: e.Patients, Staff: e.Staff, Program: e.Program, StartedAt: e.StartedAt,
		EndedAt: e.EndedAt, Activity: e.Activity, Note: e.Note, Changed: e.Changed, MDM: e.MDM,
		Interactive: e.Interactive}
}
