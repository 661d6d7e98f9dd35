// Package audit writes the append-only audit log: who did what to which record, and when.
// Entries carry internal ids only, never names, phone numbers or message bodies.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return fmt.Errorf("error encoding audit detail: %w", err)
		}
	}
	if _, err := q.ExecContext(ctx, insertEvent, e.PracticeID, e.At, string(e.Actor), e.Action, e.Entity, e.EntityID, string(detail)); err != nil {
		return fmt.Errorf("error recording audit event %s: %w", e.Action, err)
	}
	return nil
}

// Entry is an audit log entry as read back.
type Entry struct {
	ID       int64           `db:"id" json:"id"`
	At       time.Time       `db:"at" json:"at"`
	Actor    string          `db:"actor" json:"actor"`
	Action   string          `db:"action" json:"action"`
	Entity   string          `db:"entity" json:"entity"`
	EntityID string          `db:"entity_id" json:"entity_id"`
	Detail   json.RawMessage `db:"detail" json:"detail"`
}

const selectForEntity = `
SELECT id, at, actor, action, entity, entity_id, detail
FROM audit_log
WHERE practice_id = $1 AND entity = $2 AND entity_id = $3
ORDER BY at, id`

// ForEntity lists the audit trail of one record, oldest first.
func ForEntity(ctx context.Context, q db.Querier, practiceID int64, entity, entityID string) ([]Entry, error) {
	var es []Entry
	if err := q.SelectContext(ctx, &es, selectForEntity, practiceID, entity, entityID); err != nil {
		return nil, fmt.Errorf("error reading audit trail of %s %s: %w", entity, entityID, err)
	}
	return es, nil
}

// Filter narrows a reading of the log; empty fields match everything.
type Filter struct {
	From, To time.Time // [From, To)
	Entity   string
	EntityID string
	Actor    string
}

const selectEntries = `
SELECT id, at, actor, action, entity, entity_id, detail FROM audit_log
WHERE practice_id = $1 AND at >= $2 AND at < $3 AND ($4 = '' OR entity = $4) AND ($5 = '' OR entity_id = $5)
	AND ($6 = '' OR actor = $6)
ORDER BY at DESC, id DESC
LIMIT $7`

// List returns the newest entries that match f, at most limit.
func List(ctx context.Context, q db.Querier, practiceID int64, f Filter, limit int) ([]Entry, error) {
	out := []Entry{}
	if err := q.SelectContext(ctx, &out, selectEntries, practiceID, f.From, f.To, f.Entity, f.EntityID, f.Actor, limit); err != nil {
		return nil, fmt.Errorf("error reading the audit log: %w", err)
	}
	return out, nil
}
