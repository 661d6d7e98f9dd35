// Package escalation is the clinician queue: items raised by check-in rules and by the engine,
// with a severity, a reason and a due time.
package escalation

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/outreach-engine/outreach/internal/db"
)

// Severity is how soon a clinician must look at an item.
type Severity string

// Severities, most urgent first.
const (
	Urgent  Severity = "urgent"
	High    Severity = "high"
	Routine Severity = "routine"
)

// Severities lists every severity, most urgent first.
var Severities = []Severity{Urgent, High, Routine}

// Source says what raised an item.
type Source string

// Sources.
const (
	SourceRule          Source = "rule"            // a script's escalation rule
	SourceEmergency     Source = "emergency"       // emergency words in a reply
	SourceUnparseable   Source = "unparseable"     // replies that could not be read after re-asks
	SourceInvalidNumber Source = "invalid_number"  // the provider refused the patient's number
	SourceExpired       Source = "expired"         // a check-in nobody answered: call the patient
	SourceCallRequest   Source = "call_request"    // the patient asked for a call
	SourceMessage       Source = "message"         // a message outside any check-in
	SourceOptOutRequest Source = "opt_out_request" // a text that may ask to stop the texts: a human decides
	SourceReading       Source = "reading"         // a monitoring device's reading out of the patient's limits
	SourceDeviceSilent  Source = "device_silent"   // a monitoring device that sent nothing for days
)

// Sources lists every source of an item.
var Sources = []Source{SourceRule, SourceEmergency, SourceUnparseable, SourceInvalidNumber, SourceExpired,
	SourceCallRequest, SourceMessage, SourceOptOutRequest, SourceReading, SourceDeviceSilent}

// texted reports whether an item's words from this source are a text the patient wrote (which
// the care team has to read), not what a device measured or the engine noticed.
func (s Source) texted() bool { return s != SourceReading && s != SourceDeviceSilent }

// Item is an escalation to raise: about a patient, or about a number that matches no patient.
type Item struct {
	PracticeID int64
	PatientID  int64  // 0: no patient has the number Phone
	Phone      string // the number an item with no patient is about (E.164)
	CheckinID  *int64
	Severity   Severity
	Reason     string
	Source     Source
	Question   string    // the question answered, when an answer raised it
	Answer     string    // the answer as read (PHI: stored, never logged)
	Text       string    // the patient's own words that raised it, or the reading in words (PHI: stored, never logged)
	DueAt      time.Time // when it is due; zero: as its severity says
}

// DueTimes say how soon each severity must be handled.
type DueTimes struct {
	Urgent, High time.Duration
	RoutineDays  int // business days
}

// DefaultDueTimes are the due times unless configured: urgent in 15 minutes, high in 4 hours, routine in 2 business days.
var DefaultDueTimes = DueTimes{Urgent: 15 * time.Minute, High: 4 * time.Hour, RoutineDays: 2}

// Due returns when an item of a severity raised at now is due; business days are counted in loc.
func (d DueTimes) Due(sev Severity, now time.Time, loc *time.Location) time.Time {
	switch sev {
	case Urgent:
		return now.Add(d.Urgent)
	case High:
		return now.Add(d.High)
	}
	return BusinessDaysAfter(now, d.RoutineDays, loc)
}

// BusinessDaysAfter returns the instant n business days (Monday to Friday, in loc) after now.
func BusinessDaysAfter(now time.Time, n int, loc *time.Location) time.Time {
	t := now.In(loc)
	for i := 0; i < n; {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			i++
		}
	}
	return t
}

// raise opens an item or attaches a firing to the open one; a repeat can only make it more
// urgent. It is completed with the unique index that finds the open item: a patient's, or a
// number's for an item with no patient. A text outside a check-in ($10) marks the item unread.
const raise = `
INSERT INTO escalations AS e (practice_id, patient_id, phone, checkin_id, severity, reason, source, details,
	created_at, due_at, updated_at, unread_since)
VALUES ($1, NULLIF($2, 0), NULLIF($11, ''), $3, $4, $5, $6, jsonb_build_array($7::jsonb), $8, $9, $8,
	CASE WHEN $10 THEN $8::timestamptz END)
ON CONFLICT %s DO UPDATE
SET firings = e.firings + 1,
    details = e.details || EXCLUDED.details,
    severity = CASE WHEN array_position(ARRAY['urgent','high','routine'], EXCLUDED.severity)
                       < array_position(ARRAY['urgent','high','routine'], e.severity)
               THEN EXCLUDED.severity ELSE e.severity END,
    due_at = LEAST(e.due_at, EXCLUDED.due_at),
    checkin_id = COALESCE(EXCLUDED.checkin_id, e.checkin_id),
    unread_since = COALESCE(e.unread_since, EXCLUDED.unread_since),
    updated_at = EXCLUDED.updated_at
RETURNING id, (xmax = 0) AS created`

var (
	raiseForPatient = fmt.Sprintf(raise, `(practice_id, patient_id, reason) WHERE status <> 'resolved'`)
	raiseForNumber  = fmt.Sprintf(raise, `(practice_id, phone, reason) WHERE status <> 'resolved' AND patient_id IS NULL`)
)

// Raised is the outcome of Raise.
type Raised struct {
	ID      int64 `db:"id"`
	Created bool  `db:"created"` // false: attached to an open item of the same patient and reason
}

// Raise opens an item, or attaches the firing to the open item with the same reason of the
// patient, or of the number for an item with no patient (raising its severity and due time if
// this firing is more urgent). Each firing keeps the patient's words that raised it.
func Raise(ctx context.Context, q db.Querier, it Item, due DueTimes, now time.Time, loc *time.Location) (Raised, error) {
	stmt := raiseForPatient
	if it.PatientID == 0 {
		if it.Phone == "" {
			return Raised{}, fmt.Errorf("error raising escalation (%s, %s): neither a patient nor a number", it.Severity, it.Source)
		}
		stmt = raiseForNumber
	}
	at := it.DueAt
	if at.IsZero() {
		at = due.Due(it.Severity, now, loc)
	}
	var r Raised
	err := q.GetContext(ctx, &r, stmt, it.PracticeID, it.PatientID, it.CheckinID, string(it.Severity), it.Reason,
		string(it.Source), firingJSON(it, now), now, at, it.Text != "" && it.CheckinID == nil && it.Source.texted(), it.Phone)
	if err != nil {
		return Raised{}, fmt.Errorf("error raising escalation (%s, %s): %w", it.Severity, it.Source, err)
	}
	return r, nil
}

// firingJSON is one firing as an item's details keep it.
func firingJSON(it Item, now time.Time) string {
	b, _ := json.Marshal(map[string]any{ // strings, numbers and a pointer: it cannot fail
		"at": now.UTC().Format(time.RFC3339), "source": it.Source, "severity": it.Severity,
		"question": it.Question, "answer": it.Answer, "text": it.Text, "checkin": it.CheckinID,
	})
	return string(b)
}

// attachText adds a text to the open item of its patient (or number) that the care team is
// working: the one claimed, else the most recently touched; it marks the item unread.
const attachText = `
UPDATE escalations e SET firings = e.firings + 1, details = e.details || jsonb_build_array($4::jsonb),
	unread_since = COALESCE(e.unread_since, $5), updated_at = $5
WHERE e.practice_id = $1 AND e.id = (
	SELECT o.id FROM escalations o
	WHERE o.practice_id = $1 AND o.status <> 'resolved'
		AND CASE WHEN $2::bigint > 0 THEN o.patient_id = $2 ELSE o.patient_id IS NULL AND o.phone = $3 END
	ORDER BY o.status = 'claimed' DESC, o.updated_at DESC, o.id DESC
	LIMIT 1
	FOR UPDATE)
RETURNING e.id, false AS created`

// AddText puts a patient's text (or a number's, for an item with no patient) where the care
// team reads it: on the open item of that patient or number, or, when there is none, on a new
// item as it describes (a routine "message from the patient", say).
func AddText(ctx context.Context, q db.Querier, it Item, due DueTimes, now time.Time, loc *time.Location) (Raised, error) {
	var r Raised
	err := q.GetContext(ctx, &r, attachText, it.PracticeID, it.PatientID, it.Phone, firingJSON(it, now), now)
	if db.IsNoRows(err) {
		return Raise(ctx, q, it, due, now, loc)
	}
	if err != nil {
		return Raised{}, fmt.Errorf("error adding a text to an escalation: %w", err)
	}
	return r, nil
}
