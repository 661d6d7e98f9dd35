package outreach

import (
	"context"
	"fmt"
	"time"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/scripts"
)

const selectReminderTo = `
SELECT phone, language FROM patients
WHERE practice_id = $1 AND id = $2 AND phone IS NOT NULL AND opted_out_at IS NULL AND active`

const insertReminder = `
INSERT INTO messages (practice_id, patient_id, direction, kind, phone, body, status, immediate,
	next_attempt_at, created_at, updated_at)
VALUES ($1, $2, 'out', 'reminder', $3, $4, 'queued', false, $5, $5, $5)`

// QueueReminder puts a reminder the engine sends unasked (a device that sent nothing, say) in
// the outbox, in the patient's language (English when text lacks it). Like a check-in's
// reminder it waits for the end of the patient's quiet hours and is cancelled when they opt out
// or may no longer be contacted (see Reachability) before it goes. It reports false, queueing
// nothing, for a patient with no phone, opted out or inactive.
func QueueReminder(ctx context.Context, q db.Querier, practice, patient int64, text scripts.Text, now time.Time) (bool, error) {
	var to struct {
		Phone string `db:"phone"`
		Lang  string `db:"language"`
	}
	err := q.GetContext(ctx, &to, selectReminderTo, practice, patient)
	if db.IsNoRows(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("error loading patient %d for a reminder: %w", patient, err)
	}
	if _, err := q.ExecContext(ctx, insertReminder, practice, patient, to.Phone, text.In(scripts.Language(to.Lang)), now); err != nil {
		return false, fmt.Errorf("error queueing a reminder to patient %d: %w", patient, err)
	}
	return true, nil
}
