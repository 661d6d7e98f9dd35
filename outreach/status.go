package outreach

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/aftercommit"
)

// Report is a provider's delivery report for a message we sent.
type Report struct {
	Message   int64  // our id, from the callback URL; 0 when only the provider's id is known
	SID       string // the provider's id
	Status    string // the provider's status word
	ErrorCode int
}

// providerStatus maps the provider's status words to ours.
var providerStatus = map[string]string{
	"accepted": "sent", "scheduled": "sent", "queued": "sent", "sending": "sent", "sent": "sent",
	"delivered": "delivered", "read": "delivered",
	"undelivered": "undelivered", "failed": "failed", "canceled": "cancelled",
}

// applyReport moves a message forward only: a late "sent" never replaces "delivered", and final
// states stay. A report for a message we know by id must carry its provider id, if we have one.
// It returns, for the metrics, whether the report is the first word that the message was sent
// (sent_at was empty), its kind, and its provider error code.
const applyReport = `
UPDATE messages m SET status = $1, twilio_sid = COALESCE(m.twilio_sid, NULLIF($2, '')),
	error_code = COALESCE($3, m.error_code), sent_at = COALESCE(m.sent_at, $4), lease_until = NULL, updated_at = $4
FROM (SELECT id, sent_at IS NULL AS first FROM messages WHERE practice_id = $5 AND direction = 'out'
	AND CASE WHEN $6::bigint > 0 THEN id = $6 ELSE twilio_sid = $2 END ORDER BY id FOR NO KEY UPDATE) o
WHERE m.practice_id = $5 AND m.id = o.id
	AND (m.twilio_sid IS NULL OR $2 = '' OR m.twilio_sid = $2)
	AND message_status_rank(m.status) < message_status_rank($1)
RETURNING m.id, coalesce(m.patient_id, 0) AS patient_id, m.phone, m.checkin_id, o.first, m.kind,
	coalesce(m.error_code, 0) AS error_code`

// UpdateStatus applies a delivery report. It reports whether the message changed; unknown
// status words and stale reports change nothing. Failures that say something about the
// patient's number (unsubscribed, invalid, landline) are acted on.
func (e *Engine) UpdateStatus(ctx context.Context, r Report) (bool, error) {
	status, ok := providerStatus[r.Status]
	if !ok || (r.Message <= 0 && r.SID == "") {
		return false, nil
	}
	now := e.now()
	changed := false
	err := aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		var rows []struct {
			ID      int64  `db:"id"`
			Patient int64  `db:"patient_id"`
			Phone   string `db:"phone"`
			Checkin *int64 `db:"checkin_id"`
			sentKind
			Code int `db:"error_code"`
		}
		if err := tx.SelectContext(ctx, &rows, applyReport, status, r.SID, nullCode(r.ErrorCode), now, e.pid(), r.Message); err != nil {
			return err
		}
		changed = len(rows) > 0
		for _, m := range rows {
			e.countSent(ctx, []sentKind{m.sentKind})
			e.Metrics.textSettled(ctx, status, m.Code)
			if status == "failed" || status == "undelivered" {
				if err := e.actOnCode(ctx, tx, m.Patient, m.Phone, m.Checkin, r.ErrorCode, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("error applying delivery report for message %d: %w", r.Message, err)
	}
	return changed, nil
}

// WebhookDeadline bounds work started from a webhook so that a stuck database answers the
// provider with an error, not a hung connection (Twilio waits 15 seconds).
const WebhookDeadline = 10 * time.Second
