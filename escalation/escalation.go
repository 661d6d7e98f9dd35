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

// Source says what raised an item.
type Source string

// Sources.
const (
	SourceRule          Source = "rule"           // a script's escalation rule
	SourceEmergency     Source = "emergency"      // emergency words in a reply
	SourceUnparseable   Source = "unparseable"    // replies that could not be read after re-asks
	SourceInvalidNumber Source = "invalid_number" // the provider refused the patient's number
	SourceExpired       Source = "expired"        // a check-in nobody answered: call the patient
	SourceCallRequest   Source = "call_request"   // the patient asked for a call
	SourceMessage       Source = "message"        // a message outside any check-in
)

// Item is an escalation to raise.
type Item struct {
	PracticeID int64
	PatientID  int64
	CheckinID  *int64
	Severity   Severity
	Reason     string
	Source     Source
	Question   string // the question answered, when an answer raised it
	Answer     string // the answer as read (PHI: stored, never logged)
}

// DueTimes say how soon each severity must be handled.
type DueTimes struct {
	Urgent, High time.Duration
	RoutineDays  int // business days
}

// DefaultDueTimes: urgent in 15 minutes, high in 4 hours, routine in 2 business days.
var DefaultDueTimes = DueTimes{Urgent: 15 * time.Minute, High: 4 * time.Hour, RoutineDays: 2}

// Due returns when an item of a severity raised at now is due; business days are counted in loc.
func (d DueTimes) Due(sev Severity, now time.Time, loc *time.Location) time.Time {
	switch sev {
	case Urgent:
		return now.Add(d.Urgent)
	case High:
		return now.Add(d.High)
	}
	t := now.In(loc)
	for n := 0; n < d.RoutineDays; {
		t = t.AddDate(0, 0, 1)
		if wd := t.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	return t
}

// raise opens an item or attaches a firing to the open one; a repeat can only make it more urgent.
const raise = `
INSERT INTO escalations AS e (practice_id, patient_id, checkin_id, severity, reason, source, details,
	created_at, due_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, jsonb_build_array($7::jsonb), $8, $9, $8)
ON CONFLICT (practice_id, patient_id, reason) WHERE status <> 'resolved' DO UPDATE
SET firings = e.firings + 1,
    details = e.details || EXCLUDED.details,
    severity = CASE WHEN array_position(ARRAY['urgent','high','routine'], EXCLUDED.severity)
                       < array_position(ARRAY['urgent','high','routine'], e.severity)
               THEN EXCLUDED.severity ELSE e.severity END,
    due_at = LEAST(e.due_at, EXCLUDED.due_at),
    checkin_id = COALESCE(EXCLUDED.checkin_id, e.checkin_id),
    updated_at = EXCLUDED.updated_at
RETURNING id, (xmax = 0) AS created`

// Raised is the outcome of Raise.
type Raised struct {
	ID      int64 `db:"id"`
	Created bool  `db:"created"` // false: attached to an open item of the same patient and reason
}

// Raise opens an item, or attaches the firing to the patient's open item with the same reason
// (raising its severity and due time if this firing is more urgent).
func Raise(ctx context.Context, q db.Querier, it Item, due DueTimes, now time.Time, loc *time.Location) (Raised, error) {
	firing, err := json.Marshal(map[string]any{
		"at": now.UTC().Format(time.RFC3339), "source": it.Source, "severity": it.Severity,
		"question": it.Question, "answer": it.Answer, "checkin": it.CheckinID,
	})
	if err != nil {
		return Raised{}, fmt.Errorf("error encoding escalation details: %w", err)
	}
	var r Raised
	err = q.GetContext(ctx, &r, raise, it.PracticeID, it.PatientID, it.CheckinID, string(it.Severity), it.Reason,
		string(it.Source), string(firing), now, due.Due(it.Severity, now, loc))
	if err != nil {
		return Raised{}, fmt.Errorf("error raising escalation (%s, %s): %w", it.Severity, it.Source, err)
	}
	return r, nil
}
