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
	Message int64 // our id, from the callback URL; 0 when only the provider's id is known
	// Month is the start of the UTC month the message was queued in, from the callback URL:
	// only that month's partition is read. Zero when not known (a callback URL made before it
	// carried the month): every month is read.
	Month     time.Time
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
// (sent_at was empty), its kind, and its provider error code. The message was queued in
// [$6, $7) (see reportBounds), and is found by %s: see applyReportByID and applyReportBySID.
const applyReport = `
UPDATE messages m SET status = $1, twilio_sid = COALESCE(m.twilio_sid, NULLIF($2, '')),
	error_code = COALESCE($3, m.error_code), sent_at = COALESCE(m.sent_at, $4), lease_until = NULL, updated_at = $4
FROM (SELECT id, created_at, sent_at IS NULL AS first FROM messages WHERE practice_id = $5 AND direction = 'out'
	AND %s AND created_at >= $6 AND created_at < $7 ORDER BY id FOR NO KEY UPDATE) o
WHERE m.practice_id = $5 AND m.id = o.id AND m.created_at = o.created_at AND m.created_at >= $6 AND m.created_at < $7
	AND (m.twilio_sid IS NULL OR $2 = '' OR m.twilio_sid = $2)
	AND message_status_rank(m.status) < message_status_rank($1)
RETURNING m.id, coalesce(m.patient_id, 0) AS patient_id, m.phone, m.checkin_id, o.first, m.kind,
	coalesce(m.error_code, 0) AS error_code`

// applyReportByID and applyReportBySID apply a report to the message of our id ($8) or of the
// provider's id ($2). They are two statements, not one with a choice in it, so that each keeps
// the plan of its own index when the plan is made once for every report.
var (
	applyReportByID  = fmt.Sprintf(applyReport, "id = $8")
	applyReportBySID = fmt.Sprintf(applyReport, "twilio_sid = $2")
)

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
		lo, hi := reportBounds(r.Month)
		args := []any{status, r.SID, nullCode(r.ErrorCode), now, e.pid(), lo, hi}
		stmt := applyReportBySID
		if r.Message > 0 {
			stmt, args = applyReportByID, append(args, r.Message)
		}
		if err := tx.SelectContext(ctx, &rows, stmt, args...); err != nil {
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

// unbounded are the bounds of a report's message when its month is not known: every month.
var unboundedFrom, unboundedTo = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// reportBounds is when a report's message was queued: in month (the start of a UTC month),
// or at any time when month is zero.
func reportBounds(month time.Time) (from, to time.Time) {
	if month.IsZero() {
		return unboundedFrom, unboundedTo
	}
	return month, month.AddDate(0, 1, 0)
}

// WebhookDeadline bounds work started from a webhook so that a stuck database answers the
// provider with an error, not a hung connection (Twilio waits 15 seconds).
const WebhookDeadline = 10 * time.Second
