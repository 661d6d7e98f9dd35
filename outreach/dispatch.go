package outreach

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
)

// DispatchResult counts what a dispatch pass did.
type DispatchResult struct {
	Claimed   int // handed to the channel
	Sent      int
	Retrying  int // failed before reaching the provider; queued again with a backoff
	Failed    int // refused for good
	Unknown   int // outcome unknown: settled later by a status report or a lookup
	Deferred  int // quiet hours: queued again for when the window opens
	Cancelled int // the patient opted out, or may no longer be contacted (see Reachability)
	Expired   int // older than MaxAge
	Settled   int // unknown sends settled by a lookup
	Calls     CallCounts
}

// Add adds another pass's counts to r.
func (r *DispatchResult) Add(o DispatchResult) {
	r.Claimed += o.Claimed
	r.Sent += o.Sent
	r.Retrying += o.Retrying
	r.Failed += o.Failed
	r.Unknown += o.Unknown
	r.Deferred += o.Deferred
	r.Cancelled += o.Cancelled
	r.Expired += o.Expired
	r.Settled += o.Settled
	c := &r.Calls
	c.Placed += o.Calls.Placed
	c.Retrying += o.Calls.Retrying
	c.Failed += o.Calls.Failed
	c.Unknown += o.Calls.Unknown
	c.Deferred += o.Calls.Deferred
	c.Cancelled += o.Calls.Cancelled
}

// Busy reports whether the pass found work: another pass may find more.
func (r DispatchResult) Busy() bool {
	c := r.Calls
	return r.Claimed+r.Deferred+r.Cancelled+r.Expired+r.Settled+c.Placed+c.Retrying+c.Failed+c.Unknown+c.Deferred+c.Cancelled > 0
}

// CallCounts counts the calls a dispatch pass tried to place.
type CallCounts struct {
	Placed    int
	Retrying  int // not placed; queued again with a backoff
	Failed    int // refused: counted as a call that did not reach the patient
	Unknown   int // placed or not: the status report settles it
	Deferred  int // quiet hours: queued again for when the window opens
	Cancelled int // the patient opted out or may no longer be contacted, or the check-in ended
}

// candidate is a queued message with what the claim decision needs. A reply to a number no
// patient has has Patient 0 and the practice's zone.
type candidate struct {
	ID        int64     `db:"id"`
	Patient   int64     `db:"patient_id"`
	Checkin   *int64    `db:"checkin_id"`
	Kind      string    `db:"kind"`
	Phone     string    `db:"phone"`
	Body      string    `db:"body"`
	Immediate bool      `db:"immediate"`
	Attempts  int       `db:"attempts"`
	Created   time.Time `db:"created_at"`
	OptedOut  bool      `db:"opted_out"`
	// Contactable: the patient may be sent what they did not ask for (see Reachability).
	Contactable bool   `db:"contactable"`
	Zone        string `db:"timezone"`
}

// selectCandidates claims a batch of due messages, with what decides their fate; $4 is the
// practice's consent exemption.
const selectCandidates = `
SELECT m.id, coalesce(m.patient_id, 0) AS patient_id, m.checkin_id, m.kind, m.phone, m.body, m.immediate, m.attempts,
	m.created_at, coalesce(p.opted_out_at IS NOT NULL, false) AS opted_out,
	coalesce(` + contactableEach + `, false) AS contactable, coalesce(p.timezone, $5) AS timezone
FROM (
	SELECT id, practice_id, patient_id, checkin_id, kind, phone, body, immediate, attempts, created_at, next_attempt_at
	FROM messages
	WHERE practice_id = $2 AND status = 'queued' AND next_attempt_at <= $1
	ORDER BY immediate DESC, next_attempt_at
	LIMIT $3
	FOR UPDATE SKIP LOCKED
) m LEFT JOIN patients p ON p.practice_id = m.practice_id AND p.id = m.patient_id
CROSS JOIN (SELECT $4::boolean AS exempt) x` + consentsOf + `
ORDER BY m.immediate DESC, m.next_attempt_at`

// unasked reports whether a message is outreach the patient did not ask for: a check-in's
// questions, re-asks and reminders. Replies to what the patient wrote (the HELP answer, the
// safety message, an acknowledgement, a check-in's closing thanks) are not: they go to a
// patient who may no longer be contacted, unless the patient opted out.
func unasked(kind string) bool {
	switch kind {
	case "intro", "question", "reask", "reminder":
		return true
	}
	return false
}

// cancelCheckins ends open check-ins whose patient may no longer be contacted: their queued
// texts and calls are cancelled as their turn comes.
const cancelCheckins = `
UPDATE checkins SET status = 'cancelled', ended_at = $1, question_id = NULL
WHERE practice_id = $2 AND id = ANY ($3::bigint[]) AND status = 'open'`

const claimMessages = `
UPDATE messages SET status = 'sending', attempts = attempts + 1, lease_until = $1, updated_at = $2
WHERE practice_id = $3 AND id = ANY ($4::bigint[])`

const closeMessages = `
UPDATE messages SET status = $1, updated_at = $2, lease_until = NULL
WHERE practice_id = $3 AND id = ANY ($4::bigint[])`

const deferMessages = `
UPDATE messages SET next_attempt_at = u.at, updated_at = $1
FROM unnest($3::bigint[], $4::timestamptz[]) AS u (id, at)
WHERE messages.practice_id = $2 AND messages.id = u.id`

// expireLeases turns claims whose holder vanished (a crash between claim and result) into
// unknown: the message may have gone out, so it is settled, never blindly sent again.
const expireLeases = `
UPDATE messages SET status = 'unknown', lease_until = NULL, updated_at = $1
WHERE status = 'sending' AND lease_until < $1`

// batchesPerPass bounds the batches one dispatch pass claims, so that a pass over a large
// outbox still ends and lets the other work of the loop (unknown sends, calls) have its turn.
const batchesPerPass = 20

// Dispatch runs one pass of the outbox: it turns expired claims into unknown, settles unknown
// sends old enough for a lookup, and claims due messages batch by batch (committing each claim
// before any of its messages is sent), the next batch while the last one goes out, sending them
// through the channel, paced; then it places the calls that are due.
func (e *Engine) Dispatch(ctx context.Context) (DispatchResult, error) {
	var res DispatchResult
	if _, err := e.DB.ExecContext(ctx, expireLeases, e.now()); err != nil {
		return res, fmt.Errorf("error expiring send claims: %w", err)
	}
	settled, err := e.settle(ctx)
	if err != nil {
		return res, err
	}
	res.Settled = settled
	if e.pace == nil {
		e.pace = newPacer(e.Send.PerSecond)
	}
	var mu sync.Mutex
	var firstErr error
	keep := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	batch := max(1, e.Send.Batch)
	work := make(chan candidate, 2*batch) // room for the next batch while this one goes out
	go func() {
		defer close(work)
		for range batchesPerPass {
			claimed, seen, err := e.claim(ctx, &res, &mu)
			if err != nil {
				keep(err)
				return
			}
			for _, m := range claimed {
				work <- m
			}
			if seen < batch {
				return // nothing more is due
			}
		}
	}()
	log := newSentLog(e)
	var wg sync.WaitGroup
	for range max(1, e.Send.Workers) {
		wg.Go(func() {
			for m := range work {
				outcome, err := e.send(ctx, m, log)
				mu.Lock()
				switch {
				case err != nil:
					if firstErr == nil {
						firstErr = err
					}
				case outcome == "sent":
					res.Sent++
				case outcome == "retry":
					res.Retrying++
				case outcome == "failed":
					res.Failed++
				case outcome == "unknown":
					res.Unknown++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := log.flush(context.WithoutCancel(ctx)); err != nil {
		keep(err)
	}
	if err := e.dispatchCalls(ctx, &res); err != nil {
		return res, errors.Join(firstErr, err)
	}
	return res, firstErr
}

// heldUntil reports whether it is quiet hours now in a patient's zone, and when they end.
func (e *Engine) heldUntil(zone string, now time.Time) (time.Time, bool, error) {
	loc, err := e.zones.Load(zone)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("error loading zone %q: %w", zone, err)
	}
	if Allowed(e.Practice.Quiet, loc, now) {
		return time.Time{}, false, nil
	}
	return WindowOpens(e.Practice.Quiet, loc, now).UTC(), true, nil
}

// claim takes a batch of due messages in one transaction: messages for patients who opted out
// are cancelled (but the one confirming the opt-out), and so are check-in messages for patients who may no longer be contacted
// (made inactive, consent revoked), with their check-ins; messages older than MaxAge expire,
// scheduled messages in the patient's quiet hours wait for the window, and the rest are
// leased for sending. It counts what it did in res,
// under mu, and returns the messages it leased and how many due messages it took in all.
func (e *Engine) claim(ctx context.Context, res *DispatchResult, mu *sync.Mutex) (claimed []candidate, seen int, err error) {
	now := e.now()
	var counts [3]int // cancelled, expired, deferred
	err = db.WithTx(ctx, e.DB, func(tx *sqlx.Tx) error {
		claimed = claimed[:0]
		var cands []candidate
		if err := tx.SelectContext(ctx, &cands, selectCandidates, now, e.pid(), max(1, e.Send.Batch), e.exempt(),
			e.Practice.Location.String()); err != nil {
			return err
		}
		var cancel, expire, send, deferIDs, ended []int64
		var deferAt []time.Time
		for _, c := range cands {
			switch {
			case c.OptedOut && c.Kind != "confirmation":
				cancel = append(cancel, c.ID)
			case !c.Contactable && unasked(c.Kind):
				cancel = append(cancel, c.ID)
				if c.Checkin != nil {
					ended = append(ended, *c.Checkin)
				}
			case now.Sub(c.Created) > MaxAge:
				expire = append(expire, c.ID)
			default:
				if !c.Immediate {
					opens, held, err := e.heldUntil(c.Zone, now)
					if err != nil {
						return err
					}
					if held {
						deferIDs, deferAt = append(deferIDs, c.ID), append(deferAt, opens)
						continue
					}
				}
				send = append(send, c.ID)
				claimed = append(claimed, c)
			}
		}
		for _, u := range []struct {
			status string
			ids    []int64
		}{{"cancelled", cancel}, {"expired", expire}} {
			if len(u.ids) > 0 {
				if _, err := tx.ExecContext(ctx, closeMessages, u.status, now, e.pid(), pq.Array(u.ids)); err != nil {
					return err
				}
			}
		}
		if len(ended) > 0 {
			if _, err := tx.ExecContext(ctx, cancelCheckins, now, e.pid(), pq.Array(ended)); err != nil {
				return err
			}
			e.Log.Info("check-ins cancelled: the patient may no longer be contacted", "checkins", ended)
		}
		if len(deferIDs) > 0 {
			if _, err := tx.ExecContext(ctx, deferMessages, now, e.pid(), pq.Array(deferIDs), pq.Array(deferAt)); err != nil {
				return err
			}
		}
		if len(send) > 0 {
			if _, err := tx.ExecContext(ctx, claimMessages, now.Add(e.Send.Lease), now, e.pid(), pq.Array(send)); err != nil {
				return err
			}
		}
		seen = len(cands)
		counts = [3]int{len(cancel), len(expire), len(deferIDs)}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("error claiming outbox messages: %w", err)
	}
	mu.Lock()
	res.Claimed += len(claimed)
	res.Cancelled += counts[0]
	res.Expired += counts[1]
	res.Deferred += counts[2]
	mu.Unlock()
	return claimed, seen, nil
}

// StatusCallback is the URL the provider reports a message's delivery to.
func (e *Engine) StatusCallback(id int64) string {
	if e.PublicURL == nil {
		return ""
	}
	u := e.PublicURL.JoinPath("webhooks", "twilio", "status")
	u.RawQuery = url.Values{"message": {strconv.FormatInt(id, 10)}}.Encode()
	return u.String()
}

// markSentBatch records the provider's ids of a batch of sends; a status report that came
// first is kept.
const markSentBatch = `
UPDATE messages m SET twilio_sid = u.sid, sent_at = COALESCE(m.sent_at, u.at), lease_until = NULL, updated_at = u.at,
	status = CASE WHEN message_status_rank(m.status) < message_status_rank('sent') THEN 'sent' ELSE m.status END
FROM unnest($2::bigint[], $3::text[], $4::timestamptz[]) AS u (id, sid, at)
WHERE m.practice_id = $1 AND m.id = u.id`

// touchCheckins finds its rows by primary key. A "status = 'open'" test in the WHERE clause
// let the planner pick the partial index of open check-ins and filter all of them for every
// batch (quadratic over a month's first run); the test is in the SET instead.
const touchCheckins = `
UPDATE checkins SET last_sent_at = CASE WHEN status = 'open' THEN GREATEST(last_sent_at, $3) ELSE last_sent_at END
WHERE practice_id = $1 AND id = ANY ($2::bigint[])`

// sentFlush is how many sends are recorded in one transaction at most.
const sentFlush = 50

// sentRecord is a send the provider accepted, to record.
type sentRecord struct {
	id      int64
	sid     string
	at      time.Time
	checkin *int64
	touch   bool // the send starts the check-in's wait for an answer
}

// sentLog records the sends of a dispatch pass in batches: one transaction for up to sentFlush
// sends, which does not wait for the disk. Losing a batch in a crash is safe: the claims' lease
// expires into unknown, which the status reports or a lookup settle; nothing is sent twice.
// Batches are written while the senders go on, at most sentWriters at a time.
type sentLog struct {
	e       *Engine
	mu      sync.Mutex
	pending []sentRecord
	err     error // the first write that failed
	writes  sync.WaitGroup
	slots   chan struct{}
}

// sentWriters bounds the batches being written at once: a slow database holds the senders back.
const sentWriters = 2

func newSentLog(e *Engine) *sentLog {
	return &sentLog{e: e, slots: make(chan struct{}, sentWriters)}
}

// add records a send, writing a batch when one is full.
func (l *sentLog) add(ctx context.Context, r sentRecord) {
	l.mu.Lock()
	l.pending = append(l.pending, r)
	var batch []sentRecord
	if len(l.pending) >= sentFlush {
		batch, l.pending = l.pending, nil
	}
	l.mu.Unlock()
	if batch == nil {
		return
	}
	l.slots <- struct{}{}
	l.writes.Go(func() {
		defer func() { <-l.slots }()
		if err := l.write(ctx, batch); err != nil {
			l.mu.Lock()
			if l.err == nil {
				l.err = err
			}
			l.mu.Unlock()
		}
	})
}

// flush records what is still pending, waits for the batches being written, and returns the
// first error of any.
func (l *sentLog) flush(ctx context.Context) error {
	l.mu.Lock()
	batch := l.pending
	l.pending = nil
	l.mu.Unlock()
	err := l.write(ctx, batch)
	l.writes.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	return err
}

func (l *sentLog) write(ctx context.Context, batch []sentRecord) error {
	if len(batch) == 0 {
		return nil
	}
	// In id order, so that concurrent batches lock rows in the same order.
	slices.SortFunc(batch, func(a, b sentRecord) int { return cmp.Compare(a.id, b.id) })
	var ids, checkins []int64
	var sids []string
	var ats []time.Time
	var last time.Time // the batch's latest send: what its check-ins' wait counts from
	for _, r := range batch {
		ids, sids, ats = append(ids, r.id), append(sids, r.sid), append(ats, r.at)
		if r.touch {
			checkins = append(checkins, *r.checkin)
		}
		if r.at.After(last) {
			last = r.at
		}
	}
	slices.Sort(checkins)
	e := l.e
	err := db.WithTx(ctx, e.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit TO off"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, markSentBatch, e.pid(), pq.Array(ids), pq.Array(sids), pq.Array(ats)); err != nil {
			return err
		}
		if len(checkins) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, touchCheckins, e.pid(), pq.Array(checkins), last)
		return err
	})
	if err != nil {
		return fmt.Errorf("error recording %d sent messages: %w", len(batch), err)
	}
	return nil
}

const touchCheckin = `
UPDATE checkins SET last_sent_at = GREATEST(last_sent_at, $1) WHERE practice_id = $2 AND id = $3 AND status = 'open'`

const requeue = `
UPDATE messages SET status = 'queued', next_attempt_at = $1, lease_until = NULL, error_code = $2, updated_at = $3
WHERE practice_id = $4 AND id = $5 AND status IN ('sending', 'unknown')`

const markFailed = `
UPDATE messages SET status = 'failed', error_code = $1, lease_until = NULL, updated_at = $2
WHERE practice_id = $3 AND id = $4 AND message_status_rank(status) < 4`

const markUnknown = `
UPDATE messages SET status = 'unknown', lease_until = NULL, updated_at = $1
WHERE practice_id = $2 AND id = $3 AND status = 'sending'`

// send hands one claimed message to the channel and records the outcome; a send that went out
// is recorded through log, in a batch.
func (e *Engine) send(ctx context.Context, m candidate, log *sentLog) (string, error) {
	if err := e.pace.wait(ctx); err != nil {
		// Not sent: give the claim back.
		_, dbErr := e.DB.ExecContext(context.WithoutCancel(ctx), requeue, e.now(), nil, e.now(), e.pid(), m.ID)
		return "retry", errors.Join(err, dbErr)
	}
	sid, err := e.Channel.SendSMS(ctx, SMS{To: m.Phone, Body: m.Body, StatusCallback: e.StatusCallback(m.ID), Kind: m.Kind})
	// The outcome is recorded even when ctx ended meanwhile: a message that went out must say so.
	ctx = context.WithoutCancel(ctx)
	now := e.now()
	if err == nil {
		// A question starts the wait for an answer; reminders and notices do not.
		touch := m.Checkin != nil && (m.Kind == "question" || m.Kind == "reask")
		log.add(ctx, sentRecord{id: m.ID, sid: sid, at: now, checkin: m.Checkin, touch: touch})
		return "sent", nil
	}
	se := AsSendError(err)
	e.Log.Warn("send failed", "message", m.ID, "failure", se.Failure, "code", se.Code, "attempt", m.Attempts+1)
	switch se.Failure {
	case Retry:
		if m.Attempts+1 >= e.Send.MaxAttempts {
			return "failed", e.fail(ctx, m, se.Code, now)
		}
		at := now.Add(backoff(m.Attempts+1, se.RetryAfter))
		if _, err := e.DB.ExecContext(ctx, requeue, at, nullCode(se.Code), now, e.pid(), m.ID); err != nil {
			return "", fmt.Errorf("error requeueing message %d: %w", m.ID, err)
		}
		return "retry", nil
	case Final:
		return "failed", e.fail(ctx, m, se.Code, now)
	default:
		if _, err := e.DB.ExecContext(ctx, markUnknown, now, e.pid(), m.ID); err != nil {
			return "", fmt.Errorf("error marking message %d unknown: %w", m.ID, err)
		}
		return "unknown", nil
	}
}

// backoff is how long to wait before attempt n+1: exponential from 30 s, capped at an hour,
// with jitter so that retries spread out; never less than the provider asked for.
func backoff(attempt, retryAfter int) time.Duration {
	d := 30 * time.Second << min(attempt-1, 7)
	d = min(d, time.Hour)
	d = d/2 + rand.N(d/2+1)
	return max(d, time.Duration(retryAfter)*time.Second)
}

func nullCode(code int) any {
	if code == 0 {
		return nil
	}
	return code
}

// fail records a final failure and acts on what the provider said about the patient's number.
func (e *Engine) fail(ctx context.Context, m candidate, code int, now time.Time) error {
	err := db.WithTx(ctx, e.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, markFailed, nullCode(code), now, e.pid(), m.ID); err != nil {
			return err
		}
		return e.actOnCode(ctx, tx, m.Patient, m.Phone, m.Checkin, code, now)
	})
	if err != nil {
		return fmt.Errorf("error recording failed message %d: %w", m.ID, err)
	}
	return nil
}

const switchToVoice = `
UPDATE patients SET channel = 'voice', updated_at = $1 WHERE practice_id = $2 AND id = $3 AND channel = 'sms'`

const checkinToVoice = `
UPDATE checkins SET channel = 'voice' WHERE practice_id = $1 AND id = $2 AND status = 'open'`

// actOnCode applies what a provider error code says about a patient's number: unsubscribed
// (opt out), invalid (a routine item so staff fix it), not a mobile (the patient moves to voice
// and their open check-in is called at once).
func (e *Engine) actOnCode(ctx context.Context, tx *sqlx.Tx, patient int64, phone string, checkin *int64, code int, now time.Time) error {
	if patient == 0 {
		return nil // a reply to a number no patient has: nothing of a patient's to change
	}
	switch code {
	case CodeUnsubscribed:
		_, err := e.optOut(ctx, tx, phone, "carrier", "provider_code", audit.ActorSystem, now)
		return err
	case CodeInvalidTo:
		it := escalation.Item{Severity: escalation.Routine, Source: escalation.SourceInvalidNumber,
			Reason: "The phone number on file is not valid: correct it"}
		if checkin != nil {
			return e.endCheckin(ctx, tx, patient, *checkin, "cancelled", &it, now)
		}
		it.PracticeID, it.PatientID = e.pid(), patient
		_, err := escalation.Raise(ctx, tx, it, e.Due, now, e.Practice.Location)
		return err
	case CodeNotMobile, CodeLandline:
		r, err := tx.ExecContext(ctx, switchToVoice, now, e.pid(), patient)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n > 0 {
			if err := audit.Record(ctx, tx, audit.Event{PracticeID: e.pid(), At: now, Actor: audit.ActorSystem,
				Action: "patient.channel", Entity: "patient", EntityID: strconv.FormatInt(patient, 10),
				Detail: map[string]any{"channel": "voice", "provider_code": code}}); err != nil {
				return err
			}
		}
		if checkin != nil {
			// The check-in goes on by phone, from the question it is at.
			if _, err := tx.ExecContext(ctx, checkinToVoice, e.pid(), *checkin); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, cancelQueued, now, e.pid(), pq.Array([]int64{*checkin})); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, queueCall, now, now, e.pid(), *checkin)
			return err
		}
	}
	return nil
}

// settle looks up unknown sends that waited long enough for a status report: found, they take
// the provider's status; not found, nothing reached the provider and they are queued again.
const selectUnknown = `
SELECT id, phone, body, created_at FROM messages
WHERE practice_id = $1 AND status = 'unknown' AND twilio_sid IS NULL AND updated_at <= $2
ORDER BY updated_at LIMIT 50`

const touchUnknown = `UPDATE messages SET updated_at = $1 WHERE practice_id = $2 AND id = $3 AND status = 'unknown'`

func (e *Engine) settle(ctx context.Context) (int, error) {
	now := e.now()
	var rows []struct {
		ID      int64     `db:"id"`
		Phone   string    `db:"phone"`
		Body    string    `db:"body"`
		Created time.Time `db:"created_at"`
	}
	if err := e.DB.SelectContext(ctx, &rows, selectUnknown, e.pid(), now.Add(-e.Send.SettleAfter)); err != nil {
		return 0, fmt.Errorf("error listing unknown sends: %w", err)
	}
	n := 0
	for _, r := range rows {
		found, err := e.Channel.FindSMS(ctx, r.Phone, r.Body, r.Created)
		if err != nil {
			e.Log.Warn("lookup of an unknown send failed", "message", r.ID, "err", err)
			if _, err := e.DB.ExecContext(ctx, touchUnknown, now, e.pid(), r.ID); err != nil {
				return n, fmt.Errorf("error deferring lookup of message %d: %w", r.ID, err)
			}
			continue
		}
		if found == nil {
			if _, err := e.DB.ExecContext(ctx, requeue, now, nil, now, e.pid(), r.ID); err != nil {
				return n, fmt.Errorf("error requeueing message %d: %w", r.ID, err)
			}
			e.Log.Info("unknown send not found at the provider: queued again", "message", r.ID)
		} else {
			if _, err := e.UpdateStatus(ctx, Report{Message: r.ID, SID: found.SID, Status: found.Status}); err != nil {
				return n, err
			}
			e.Log.Info("unknown send found at the provider", "message", r.ID, "status", found.Status)
		}
		n++
	}
	return n, nil
}
