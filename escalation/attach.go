package escalation

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
)

const lockNumberItem = `
SELECT reason, status, patient_id IS NOT NULL AS has_patient, coalesce(phone, '') AS phone
FROM escalations WHERE practice_id = $1 AND id = $2 FOR UPDATE`

const lockOpenOfPatient = `
SELECT id FROM escalations
WHERE practice_id = $1 AND patient_id = $2 AND reason = $3 AND status <> 'resolved'
FOR UPDATE`

const givePatient = `UPDATE escalations SET patient_id = $3, updated_at = $4 WHERE practice_id = $1 AND id = $2`

// mergeInto moves item $3's firings onto item $2, which keeps the more urgent severity, the
// earlier due time and an unread text; item $3 is resolved as merged by staff $4.
const mergeInto = `
WITH src AS (
	UPDATE escalations SET status = 'resolved', outcome = 'no_action_needed', note = 'Merged into #' || $2,
		resolved_by = $4, resolved_at = $5, claimed_by = NULL, claimed_at = NULL, claim_expires_at = NULL, updated_at = $5
	WHERE practice_id = $1 AND id = $3
	RETURNING details, firings, severity, due_at, unread_since
)
UPDATE escalations e SET details = e.details || src.details, firings = e.firings + src.firings,
	severity = CASE WHEN array_position(ARRAY['urgent','high','routine'], src.severity)
		< array_position(ARRAY['urgent','high','routine'], e.severity) THEN src.severity ELSE e.severity END,
	due_at = LEAST(e.due_at, src.due_at), unread_since = COALESCE(e.unread_since, src.unread_since), updated_at = $5
FROM src
WHERE e.practice_id = $1 AND e.id = $2`

// AttachPatient gives an item about a number that matched no patient to the patient the care
// team knows it belongs to (a caregiver's phone, a new number). When the patient already has an
// open item for the same reason, the firings join that one and this item is resolved as merged.
// It returns the item that holds the firings now. The caller moves the number's texts in the
// same transaction; m counts a merge as a resolution, once the transaction commits.
func AttachPatient(ctx context.Context, tx *sqlx.Tx, m *Metrics, practice, id, patient, staff int64, now time.Time) (int64, string, error) {
	var it struct {
		Reason     string `db:"reason"`
		Status     string `db:"status"`
		HasPatient bool   `db:"has_patient"`
		Phone      string `db:"phone"`
	}
	err := tx.GetContext(ctx, &it, lockNumberItem, practice, id)
	switch {
	case db.IsNoRows(err):
		return 0, "", ErrNotFound
	case err != nil:
		return 0, "", fmt.Errorf("error loading escalation %d: %w", id, err)
	case it.HasPatient:
		return 0, "", fmt.Errorf("%w: item #%d is already a patient's", ErrInvalid, id)
	case it.Status == "resolved":
		return 0, "", fmt.Errorf("%w: item #%d is resolved", ErrClaimed, id)
	}
	holder := id
	var open int64
	err = tx.GetContext(ctx, &open, lockOpenOfPatient, practice, patient, it.Reason)
	switch {
	case db.IsNoRows(err):
		if _, err := tx.ExecContext(ctx, givePatient, practice, id, patient, now); err != nil {
			return 0, "", fmt.Errorf("error attaching escalation %d: %w", id, err)
		}
	case err != nil:
		return 0, "", fmt.Errorf("error finding the patient's open items: %w", err)
	default:
		if _, err := tx.ExecContext(ctx, mergeInto, practice, open, id, staff, now); err != nil {
			return 0, "", fmt.Errorf("error merging escalation %d into %d: %w", id, open, err)
		}
		m.resolvedWith(ctx, "no_action_needed")
		holder = open
	}
	err = audit.Record(ctx, tx, audit.Event{PracticeID: practice, At: now, Actor: audit.Staff(staff), Action: "escalation.attach",
		Entity: "escalation", EntityID: strconv.FormatInt(id, 10),
		Detail: map[string]any{"patient": patient, "item": holder}})
	return holder, it.Phone, err
}
