package outreach

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/aftercommit"
)

// callCandidate is a queued call with what the claim decision needs.
type callCandidate struct {
	due
	Checkin int64 `db:"checkin_id"`
	Attempt int   `db:"attempt"`
	Open    bool  `db:"open"`
}

// selectCalls claims a batch of due calls (see outbox.selectDue). Calls go to patients, who all
// have a zone: the practice's ($5) is there for texts to numbers no patient has.
const selectCalls = `
SELECT k.id, k.patient_id, k.checkin_id, k.attempt, k.phone, k.tries, k.created_at,
	p.opted_out_at IS NOT NULL AS opted_out, ` + contactableEach + ` AS contactable,
	coalesce(p.timezone, $5) AS timezone, ch.status = 'open' AS open
FROM (
	SELECT id, practice_id, patient_id, checkin_id, attempt, phone, tries, created_at, next_attempt_at
	FROM calls
	WHERE practice_id = $2 AND status = 'queued' AND next_attempt_at <= $1 AND created_at >= $6 AND created_at < $7
	ORDER BY next_attempt_at
	LIMIT $3
	FOR UPDATE SKIP LOCKED
) k JOIN patients p ON p.practice_id = k.practice_id AND p.id = k.patient_id
JOIN checkins ch ON ch.practice_id = k.practice_id AND ch.id = k.checkin_id
CROSS JOIN (SELECT $4::boolean AS exempt) x` + consentsOf + `
ORDER BY k.next_attempt_at`

// decide cancels calls for patients who opted out or whose check-in ended, calls older than
// MaxAge, and calls for patients who may no longer be contacted (made inactive, consent
// revoked), with their check-ins; the rest wait for the end of the patient's quiet hours.
func (c callCandidate) decide(now time.Time) (fate, *int64) {
	if c.OptedOut || !c.Contactable || !c.Open || now.Sub(c.Created) > MaxAge {
		if !c.Contactable && c.Open {
			return fateCancel, &c.Checkin
		}
		return fateCancel, nil
	}
	return fateLease, nil
}

const closeCalls = `
UPDATE calls SET status = $1, lease_until = NULL, ended_at = $2, updated_at = $2
WHERE practice_id = $3 AND id = ANY ($4::bigint[]) AND created_at BETWEEN $5 AND $6
RETURNING status`

const sweepCalls = `
UPDATE calls SET status = 'cancelled', lease_until = NULL, ended_at = $1, updated_at = $1
WHERE practice_id = $2 AND status = 'queued' AND created_at < $3
RETURNING status`

// calls is the outbox of calls: one batch a pass, placed one at a time, paced with the texts.
var calls = &outbox[callCandidate]{
	noun: "call", table: "calls", tries: "tries", tryKey: "try",
	selectDue: selectCalls,
	close:     closeCalls,
	sweep:     sweepCalls,
	closed:    (*Metrics).callsEnded,
	batches:   1,
	deliver:   (*Engine).startCall,
	pace:      func(e *Engine) *pacer { return e.callPace },
	refused:   "call not placed",
	fail:      (*Engine).failCall,
}

// VoiceURL is where the provider asks what an answered call says.
func (e *Engine) VoiceURL(id int64) string { return e.callbackURL(id, "voice", "answer") }

// CallStatusCallback is where the provider reports a call's progress.
func (e *Engine) CallStatusCallback(id int64) string { return e.callbackURL(id, "status") }

func (e *Engine) callbackURL(id int64, path ...string) string {
	if e.PublicURL == nil {
		return ""
	}
	u := e.PublicURL.JoinPath(append([]string{"webhooks", "twilio"}, path...)...)
	u.RawQuery = url.Values{"call": {strconv.FormatInt(id, 10)}}.Encode()
	return u.String()
}

// startCall asks the channel to place a call.
func (e *Engine) startCall(ctx context.Context, c callCandidate) (string, error) {
	return e.Channel.StartCall(ctx, Call{To: c.Phone, URL: e.VoiceURL(c.ID), StatusCallback: e.CallStatusCallback(c.ID)})
}

const markPlaced = `
UPDATE calls SET twilio_sid = $1, placed_at = COALESCE(placed_at, $2), lease_until = NULL, updated_at = $2,
	status = CASE WHEN call_status_rank(status) < call_status_rank('initiated') THEN 'initiated' ELSE status END
WHERE practice_id = $3 AND id = $4`

const touchCheckin = `
UPDATE checkins SET last_sent_at = GREATEST(last_sent_at, $1) WHERE practice_id = $2 AND id = $3 AND status = 'open'`

// recordPlaced records a call the provider placed.
func (e *Engine) recordPlaced(ctx context.Context, c callCandidate, sid string, now time.Time) error {
	err := aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, markPlaced, sid, now, e.pid(), c.ID); err != nil {
			return err
		}
		// The check-in's expiry counts from its latest call.
		_, err := tx.ExecContext(ctx, touchCheckin, now, e.pid(), c.Checkin)
		return err
	})
	if err != nil {
		return fmt.Errorf("error recording placed call %d: %w", c.ID, err)
	}
	e.Log.Info("call placed", "call", c.ID, "checkin", c.Checkin, "attempt", c.Attempt)
	return nil
}

// failCall records a call the provider refused for good as one that did not reach the patient.
func (e *Engine) failCall(ctx context.Context, c callCandidate, code int, _ time.Time) error {
	_, err := e.UpdateCallStatus(ctx, CallReport{Call: c.ID, Status: "failed", ErrorCode: code})
	return err
}

// selectStaleCalls finds calls in doubt (placed or not, we could not tell) whose status report
// never came. Without a report nothing says the patient was reached: such a call counts as one
// that was not answered.
const selectStaleCalls = `
SELECT id FROM calls
WHERE practice_id = $1 AND status = 'unknown' AND updated_at <= $2
ORDER BY updated_at LIMIT 50`

// settleCalls counts calls in doubt that got no status report as not answered, and returns how
// many it settled.
func (e *Engine) settleCalls(ctx context.Context) (int, error) {
	var ids []int64
	if err := e.DB.SelectContext(ctx, &ids, selectStaleCalls, e.pid(), e.now().Add(-e.Send.SettleAfter)); err != nil {
		return 0, fmt.Errorf("error listing calls in doubt: %w", err)
	}
	for i, id := range ids {
		if _, err := e.UpdateCallStatus(ctx, CallReport{Call: id, Status: "failed"}); err != nil {
			return i, err
		}
		e.Log.Warn("call in doubt without a status report: counted as not answered", "call", id)
	}
	return len(ids), nil
}

// CallReport is a provider's report of a call's progress.
type CallReport struct {
	Call       int64  // our id, from the callback URL
	SID        string // the provider's id
	Status     string // the provider's word: queued, initiated, ringing, in-progress, completed, busy, no-answer, failed, canceled
	Duration   int    // seconds, when the call ended
	AnsweredBy string // answering-machine detection: human, machine_start, fax, unknown
	ErrorCode  int
}

// callStatus maps the provider's call status words to ours.
var callStatus = map[string]string{
	"queued": "initiated", "initiated": "initiated", "ringing": "ringing", "in-progress": "in-progress",
	"answered": "in-progress", "completed": "completed", "busy": "busy", "no-answer": "no-answer",
	"failed": "failed", "canceled": "cancelled", "cancelled": "cancelled",
}

// applyCallReport moves a call forward only: a late "ringing" never replaces "completed".
const applyCallReport = `
UPDATE calls SET status = $1, twilio_sid = COALESCE(twilio_sid, NULLIF($2, '')), lease_until = NULL,
	error_code = COALESCE($3, error_code), answered_by = COALESCE(NULLIF($4, ''), answered_by),
	duration_seconds = COALESCE($5, duration_seconds), updated_at = $6,
	ended_at = CASE WHEN call_status_rank($1) = 6 THEN $6::timestamptz END
WHERE practice_id = $7 AND id = $8 AND (twilio_sid IS NULL OR $2 = '' OR twilio_sid = $2)
	AND call_status_rank(status) < call_status_rank($1)
RETURNING id, patient_id, checkin_id, attempt, phone, reached_at IS NOT NULL AS reached, status`

// UpdateCallStatus applies a call's status report; the final one decides what follows. It
// reports whether the call changed: unknown words and stale reports change nothing. The call's
// duration is kept as the call's activity, never as clinical staff time.
func (e *Engine) UpdateCallStatus(ctx context.Context, r CallReport) (bool, error) {
	status, ok := callStatus[r.Status]
	if !ok || r.Call <= 0 {
		return false, nil
	}
	var duration any
	if r.Duration > 0 || (r.Duration == 0 && status == "completed") {
		duration = r.Duration
	}
	now := e.now()
	changed := false
	err := aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		var rows []endedCall
		if err := tx.SelectContext(ctx, &rows, applyCallReport, status, r.SID, nullCode(r.ErrorCode), r.AnsweredBy,
			duration, now, e.pid(), r.Call); err != nil {
			return err
		}
		changed = len(rows) > 0
		for _, c := range rows {
			if callEnded(c.Status) {
				e.Metrics.callsEnded(ctx, []string{c.Status})
				if err := e.callEnded(ctx, tx, c, r.ErrorCode, now); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("error applying status report for call %d: %w", r.Call, err)
	}
	return changed, nil
}

func callEnded(status string) bool {
	switch status {
	case "completed", "busy", "no-answer", "failed", "cancelled":
		return true
	}
	return false
}

// endedCall is a call whose final status just arrived.
type endedCall struct {
	ID      int64  `db:"id"`
	Patient int64  `db:"patient_id"`
	Checkin int64  `db:"checkin_id"`
	Attempt int    `db:"attempt"`
	Phone   string `db:"phone"`
	Reached bool   `db:"reached"`
	Status  string `db:"status"`
}

const selectCheckinStatus = `SELECT status FROM checkins WHERE practice_id = $1 AND id = $2 FOR UPDATE`

// queueCall queues a check-in's next call, if the check-in is still open.
const queueCall = `
INSERT INTO calls (practice_id, patient_id, checkin_id, attempt, phone, status, next_attempt_at, created_at, updated_at)
SELECT c.practice_id, c.patient_id, c.id, COALESCE((SELECT max(attempt) FROM calls k
		WHERE k.practice_id = c.practice_id AND k.checkin_id = c.id), 0) + 1, p.phone, 'queued', $1, $2, $2
FROM checkins c JOIN patients p ON p.practice_id = c.practice_id AND p.id = c.patient_id
WHERE c.practice_id = $3 AND c.id = $4 AND c.status = 'open' AND p.phone IS NOT NULL AND p.opted_out_at IS NULL
ON CONFLICT DO NOTHING`

// callEnded decides what follows a call's end while its check-in is open. A patient who started
// the check-in and hung up before its end was reached: staff call them back rather than the
// machine calling again. A call that did not reach the patient (busy, no answer, failed, an
// answering machine, silence at the menu) is tried again after Calls.RetryAfter, up to
// Calls.Attempts calls; then the check-in expires into the list of patients to call.
func (e *Engine) callEnded(ctx context.Context, tx *sqlx.Tx, c endedCall, code int, now time.Time) error {
	var status string
	if err := tx.GetContext(ctx, &status, selectCheckinStatus, e.pid(), c.Checkin); err != nil {
		return err
	}
	if status != "open" {
		return nil
	}
	checkin := c.Checkin
	switch {
	case code == CodeInvalidTo:
		return e.actOnCode(ctx, tx, c.Patient, c.Phone, &checkin, code, now)
	case c.Reached:
		e.Log.Info("call ended before the check-in did", "call", c.ID, "checkin", c.Checkin)
		return e.endCheckin(ctx, tx, c.Patient, c.Checkin, "expired", &escalation.Item{Severity: escalation.Routine,
			Source: escalation.SourceExpired, Reason: "The call ended before the check-in did: call the patient"}, now)
	case c.Attempt < e.Calls.Attempts:
		if _, err := tx.ExecContext(ctx, queueCall, now.Add(e.Calls.RetryAfter), now, e.pid(), c.Checkin); err != nil {
			return err
		}
		e.Log.Info("call did not reach the patient: calling again later", "call", c.ID, "checkin", c.Checkin,
			"status", c.Status, "attempt", c.Attempt)
		return nil
	default:
		e.Log.Info("calls did not reach the patient: check-in expired", "call", c.ID, "checkin", c.Checkin, "attempts", c.Attempt)
		return e.endCheckin(ctx, tx, c.Patient, c.Checkin, "expired", &escalation.Item{Severity: escalation.Routine,
			Source: escalation.SourceExpired, Reason: noAnswerReason}, now)
	}
}

// noAnswerReason is the item of a check-in nobody answered, by text or by phone.
const noAnswerReason = "No answer to the check-in: call the patient"

const endOpenCheckin = `
UPDATE checkins SET status = $1, ended_at = $2, question_id = NULL
WHERE practice_id = $3 AND id = $4 AND status = 'open'
RETURNING script_id, channel, status`

const cancelQueuedCalls = `
UPDATE calls SET status = 'cancelled', ended_at = $1, updated_at = $1
WHERE practice_id = $2 AND checkin_id = ANY ($3::bigint[]) AND status = 'queued'
RETURNING status`

// cancelCalls cancels the queued calls of check-ins and counts them.
func (e *Engine) cancelCalls(ctx context.Context, tx *sqlx.Tx, checkins []int64, now time.Time) error {
	var statuses []string
	if err := tx.SelectContext(ctx, &statuses, cancelQueuedCalls, now, e.pid(), pq.Array(checkins)); err != nil {
		return err
	}
	e.Metrics.callsEnded(ctx, statuses)
	return nil
}

// raised counts the item r opened, if it did, and logs it.
func (e *Engine) raised(ctx context.Context, it escalation.Item, r escalation.Raised) {
	e.Escalations.Raised(ctx, it, r)
	e.Log.Info("escalation raised", "escalation", r.ID, "new", r.Created, "severity", it.Severity,
		"source", it.Source, "patient", it.PatientID)
}

// endCheckin ends a check-in early, if it is still open, with a status (expired, cancelled,
// handed_off), cancels what it still had queued, and raises the item a human works from, if any.
func (e *Engine) endCheckin(ctx context.Context, tx *sqlx.Tx, patient, checkin int64, status string, it *escalation.Item, now time.Time) error {
	var ended []checkinRow
	if err := tx.SelectContext(ctx, &ended, endOpenCheckin, status, now, e.pid(), checkin); err != nil {
		return err
	}
	e.Metrics.checkinsEnded(ctx, ended)
	if _, err := tx.ExecContext(ctx, cancelQueued, now, e.pid(), pq.Array([]int64{checkin})); err != nil {
		return err
	}
	if err := e.cancelCalls(ctx, tx, []int64{checkin}, now); err != nil {
		return err
	}
	if it == nil {
		return nil
	}
	it.PracticeID, it.PatientID, it.CheckinID = e.pid(), patient, &checkin
	raised, err := escalation.Raise(ctx, tx, *it, e.Due, now, e.Practice.Location)
	if err != nil {
		return err
	}
	e.raised(ctx, *it, raised)
	return nil
}
