// Package audit writes the append-only audit log: who did what to which record, and when.
// Entries carry internal ids only, never names, phone numbers or message bodies.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/db"
)

// Actor identifies who acted: a staff member, the command line or the engine itself.
type Actor string

// Actors that are not staff members.
const (
	ActorCLI    Actor = "cli"
	ActorSystem Actor = "system"
)

// Staff returns the actor for a staff member's internal id.
func Staff(id int64) Actor { return Actor(fmt.Sprintf("staff:%d", id)) }

// Event is one audit log entry.
type Event struct {
	PracticeID int64
	At         time.Time
	Actor      Actor
	Action     string // "<entity>.<verb>", e.g. "patient.update"
	Entity     string
	EntityID   string
	Detail     map[string]any
}

const insertEvent = `
INSERT INTO audit_log (practice_id, at, actor, action, entity, entity_id, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7)`

// Record appends an event to the audit log, normally inside the transaction of the change.
func Record(ctx context.Context, q db.Querier, e Event) error {
	detail, err := encodeDetail(e.Detail)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, insertEvent, e.PracticeID, e.At, string(e.Actor), e.Action, e.Entity, e.EntityID, string(detail)); err != nil {
		return fmt.Errorf("error recording audit event %s: %w", e.Action, err)
	}
	return nil
}

// insertEvents appends one row per element of its arrays, in their order, so that the rows'
// ids follow the events' order as they would with one Record call each.
const insertEvents = `
INSERT INTO audit_log (practice_id, at, actor, action, entity, entity_id, detail)
SELECT practice_id, at, actor, action, entity, entity_id, detail::jsonb
FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
	WITH ORDINALITY AS e(practice_id, at, actor, action, entity, entity_id, detail, ord)
ORDER BY ord`

// RecordAll appends events to the audit log in one statement, in their order, with the same
// rows as one Record call each: for a change that touches thousands of records at once (an
// imported file), where a statement per event would take most of the time.
func RecordAll(ctx context.Context, q db.Querier, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	practices := make([]int64, n)
	at, actors, actions := make([]string, n), make([]string, n), make([]string, n)
	entities, entityIDs, details := make([]string, n), make([]string, n), make([]string, n)
	for i, e := range events {
		detail, err := encodeDetail(e.Detail)
		if err != nil {
			return err
		}
		practices[i], actors[i], actions[i] = e.PracticeID, string(e.Actor), e.Action
		entities[i], entityIDs[i], details[i] = e.Entity, e.EntityID, string(detail)
		// Text with the offset and every digit: the server reads it as the instant Record stores.
		at[i] = e.At.Format(time.RFC3339Nano)
	}
	_, err := q.ExecContext(ctx, insertEvents, pq.Array(practices), pq.Array(at), pq.Array(actors),
		pq.Array(actions), pq.Array(entities), pq.Array(entityIDs), pq.Array(details))
	if err != nil {
		return fmt.Errorf("error recording %d audit events (%s first): %w", n, events[0].Action, err)
	}
	return nil
}

// encodeDetail returns an event's detail as stored: JSON, {} when empty.
func encodeDetail(d map[string]any) ([]byte, error) {
	if len(d) == 0 {
		return []byte("{}"), nil
	}
	out, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("error encoding audit detail: %w", err)
	}
	return out, nil
}

// Entry is an audit log entry as read back. Records are stored by internal id; Staff, StaffName
// and Record give the ids and names people use: the acting staff member's own id and name, and
// the patient's own id, the staff member's own id and name, or an item's number with its
// patient's id.
type Entry struct {
	ID        int64           `db:"id" json:"id"`
	At        time.Time       `db:"at" json:"at"`
	Actor     string          `db:"actor" json:"actor"`
	Staff     *string         `db:"staff" json:"staff"`           // the acting staff member's own id
	StaffName *string         `db:"staff_name" json:"staff_name"` // and their name
	Action    string          `db:"action" json:"action"`
	Entity    string          `db:"entity" json:"entity"`
	EntityID  string          `db:"entity_id" json:"entity_id"`
	Record    string          `db:"record" json:"record"` // the record as people name it
	Detail    json.RawMessage `db:"detail" json:"detail"`
}

// Who is the actor as people name it: the staff member's own id and name ("RN1 (Rita
// Nurse)"), else cli or system.
func (e Entry) Who() string {
	switch {
	case e.Staff == nil:
		return e.Actor
	case e.StaffName == nil || *e.StaffName == "":
		return *e.Staff
	}
	return *e.Staff + " (" + *e.StaffName + ")"
}

// readEntries reads entries with the ids people use; it is completed with a WHERE clause. The
// joins read the patients' and items' own ids, and the staff members' own ids and names.
const readEntries = `
SELECT a.id, a.at, a.actor, s.ext_id AS staff, s.name AS staff_name, a.action, a.entity, a.entity_id,
	CASE a.entity WHEN 'patient' THEN coalesce(p.ext_id, a.entity_id)
		WHEN 'staff' THEN coalesce(t.ext_id || coalesce(' (' || nullif(t.name, '') || ')', ''), a.entity_id)
		WHEN 'escalation' THEN '#' || a.entity_id || coalesce(' (' || ep.ext_id || ')', '')
		ELSE a.entity_id END AS record,
	a.detail
FROM audit_log a
LEFT JOIN staff s ON s.practice_id = a.practice_id
	AND s.id = CASE WHEN a.actor ~ '^staff:[0-9]{1,18}$' THEN substr(a.actor, 7)::bigint END
LEFT JOIN patients p ON a.entity = 'patient' AND p.practice_id = a.practice_id
	AND p.id = CASE WHEN a.entity = 'patient' AND a.entity_id ~ '^[0-9]{1,18}$' THEN a.entity_id::bigint END
LEFT JOIN staff t ON a.entity = 'staff' AND t.practice_id = a.practice_id
	AND t.id = CASE WHEN a.entity = 'staff' AND a.entity_id ~ '^[0-9]{1,18}$' THEN a.entity_id::bigint END
LEFT JOIN escalations e ON a.entity = 'escalation' AND e.practice_id = a.practice_id
	AND e.id = CASE WHEN a.entity = 'escalation' AND a.entity_id ~ '^[0-9]{1,18}$' THEN a.entity_id::bigint END
LEFT JOIN patients ep ON ep.practice_id = e.practice_id AND ep.id = e.patient_id
`

// Filter narrows a reading of the log; empty fields match everything. EntityID and Actor take
// the ids people use: a patient's or staff member's own id (or the internal id), an item's
// number; a patient's id also finds the events of their items.
type Filter struct {
	From, To time.Time // [From, To)
	Entity   string
	EntityID string
	Actor    string // a staff member's own id, "cli" or "system"
}

// selectEntries resolves the filter's ids once ($5 a record, $6 an actor) and reads the newest
// matching entries.
const selectEntries = `
WITH named AS (
	SELECT (SELECT id::text FROM patients WHERE practice_id = $1 AND ext_id = $5) AS patient,
		(SELECT id::text FROM staff WHERE practice_id = $1 AND ext_id = $5) AS staff,
		(SELECT 'staff:' || id FROM staff WHERE practice_id = $1 AND ext_id = $6) AS actor
)` + readEntries + `, named
WHERE a.practice_id = $1 AND a.at >= $2 AND a.at < $3 AND ($4 = '' OR a.entity = $4)
	AND ($5 = '' OR a.entity_id = CASE a.entity WHEN 'patient' THEN coalesce(named.patient, $5)
			WHEN 'staff' THEN coalesce(named.staff, $5) ELSE ltrim($5, '#') END
		OR (a.entity = 'escalation' AND named.patient IS NOT NULL AND e.patient_id::text = named.patient))
	AND ($6 = '' OR a.actor = coalesce(named.actor, $6))
ORDER BY a.at DESC, a.id DESC
LIMIT $7`

// List returns the newest entries that match f, at most limit.
func List(ctx context.Context, q db.Querier, practiceID int64, f Filter, limit int) ([]Entry, error) {
	out := []Entry{}
	if err := q.SelectContext(ctx, &out, selectEntries, practiceID, f.From, f.To, f.Entity, f.EntityID, f.Actor, limit); err != nil {
		return nil, fmt.Errorf("error reading the audit log: %w", err)
	}
	return out, nil
}

// insertUnlessRecent appends an event unless the actor recorded the same action with the same
// detail since $8.
const insertUnlessRecent = `
INSERT INTO audit_log (practice_id, at, actor, action, entity, entity_id, detail)
SELECT $1, $2, $3, $4, $5, $6, $7
WHERE NOT EXISTS (SELECT 1 FROM audit_log
	WHERE practice_id = $1 AND at > $8 AND at <= $2 AND actor = $3 AND action = $4
		AND entity = $5 AND entity_id = $6 AND detail = $7::jsonb)`

// RecordUnlessRecent is Record for a view that refreshes itself every few seconds: the event is
// appended unless the same actor recorded the same event (action, record and detail) within
// the last period, so that a page left open leaves a row every period rather than one a refresh.
// It reports whether it appended the event.
func RecordUnlessRecent(ctx context.Context, q db.Querier, e Event, period time.Duration) (bool, error) {
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return false, fmt.Errorf("error encoding audit detail: %w", err)
		}
	}
	res, err := q.ExecContext(ctx, insertUnlessRecent, e.PracticeID, e.At, string(e.Actor), e.Action, e.Entity, e.EntityID, string(detail), e.At.Add(-period))
	if err != nil {
		return false, fmt.Errorf("error recording audit event %s: %w", e.Action, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("error recording audit event %s: %w", e.Action, err)
	}
	return n == 1, nil
}
