package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/outreach-engine/outreach/internal/practice"
)

// DefaultAlertEvery is how often an unclaimed urgent item pages the on-call clinicians again.
const DefaultAlertEvery = 5 * time.Minute

// Notifier pages the on-call clinicians by text about urgent items until someone claims them.
// The text names the item's number only: no patient, no health detail.
type Notifier struct {
	DB       *sqlx.DB
	Practice practice.ID
	Clock    func() time.Time
	OnCall   []string // staff ids (the practice's own) whose phones get the alerts
	Every    time.Duration
	QueueURL string // where the queue is, said in the alert; may be empty
	Send     func(ctx context.Context, to, body string) error
	Log      *slog.Logger
}

// dueAlerts takes the urgent items that nobody holds and that were not alerted within the
// interval, and stamps them: replicas running the same pass never page twice for one round.
const dueAlerts = `
UPDATE escalations SET alerted_at = $2, alerts = alerts + 1
WHERE practice_id = $1 AND severity = 'urgent' AND status <> 'resolved'
	AND NOT (status = 'claimed' AND claim_expires_at > $2)
	AND (alerted_at IS NULL OR alerted_at <= $3)
RETURNING id, alerts`

const onCallPhones = `
SELECT ext_id, phone FROM staff WHERE practice_id = $1 AND ext_id = ANY ($2::text[]) AND phone IS NOT NULL ORDER BY ext_id`

// Notify sends this round's alerts and returns how many texts went out. A failed text is logged
// and tried again next round.
func (n *Notifier) Notify(ctx context.Context) (int, error) {
	if len(n.OnCall) == 0 {
		return 0, nil
	}
	every := n.Every
	if every <= 0 {
		every = DefaultAlertEvery
	}
	now := n.Clock().UTC().Truncate(time.Microsecond)
	var items []struct {
		ID     int64 `db:"id"`
		Alerts int   `db:"alerts"`
	}
	if err := n.DB.SelectContext(ctx, &items, dueAlerts, n.Practice, now, now.Add(-every)); err != nil {
		return 0, fmt.Errorf("error picking urgent items to alert: %w", err)
	}
	if len(items) == 0 {
		return 0, nil
	}
	var staff []struct {
		ID    string `db:"ext_id"`
		Phone string `db:"phone"`
	}
	if err := n.DB.SelectContext(ctx, &staff, onCallPhones, n.Practice, pq.Array(n.OnCall)); err != nil {
		return 0, fmt.Errorf("error reading on-call phones: %w", err)
	}
	if len(staff) == 0 {
		n.Log.Error("urgent items but no on-call clinician with a phone to alert", "items", len(items))
		return 0, nil
	}
	sent := 0
	var errs []error
	for _, it := range items {
		body := fmt.Sprintf("Urgent item #%d in the queue. Claim it to stop these alerts.", it.ID)
		if n.QueueURL != "" {
			body = fmt.Sprintf("Urgent item #%d in the queue: %s. Claim it to stop these alerts.", it.ID, n.QueueURL)
		}
		for _, s := range staff {
			if err := n.Send(ctx, s.Phone, body); err != nil {
				errs = append(errs, fmt.Errorf("error alerting %s about item %d: %w", s.ID, it.ID, err))
				continue
			}
			sent++
			n.Log.Info("on-call alerted", "escalation", it.ID, "staff", s.ID, "round", it.Alerts)
		}
	}
	return sent, errors.Join(errs...)
}
