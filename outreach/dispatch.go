package outreach

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/history"
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

// textCandidate is a queued text with what the claim decision needs. A reply to a number no
// patient has has Patient 0 and the practice's zone.
type textCandidate struct {
	due
	Checkin   *int64 `db:"checkin_id"`
	Kind      string `db:"kind"`
	Body      string `db:"body"`
	Immediate bool   `db:"immediate"`
}

// selectTexts claims a batch of due texts (see outbox.selectDue).
const selectTexts = `
SELECT m.id, coalesce(m.patient_id, 0) AS patient_id, m.checkin_id, m.kind, m.phone, m.body, m.immediate, m.attempts AS tries,
	m.created_at, coalesce(p.opted_out_at IS NOT NULL, false) AS opted_out,
	coalesce(` + contactableEach + `, false) AS contactable, coalesce(p.timezone, $5) AS timezone
FROM (
	SELECT id, practice_id, patient_id, checkin_id, kind, phone, body, immediate, attempts, created_at, next_attempt_at
	FROM messages
	WHERE practice_id = $2 AND status = 'queued' AND next_attempt_at <= $1 AND created_at >= $6 AND created_at < $7
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

// decide cancels a text for a patient who opted out (but the one confirming the opt-out), and
// the outreach of a patient who may no longer be contacted (made inactive, consent revoked),
// with its check-in; it expires a text older than MaxAge. A text the patient waits for goes at
// once; the others wait for the end of the patient's quiet hours.
func (m textCandidate) decide(now time.Time) (fate, *int64) {
	switch {
	case m.OptedOut && m.Kind != "confirmation":
		return fateCancel, nil
	case !m.Contactable && unasked(m.Kind):
		return fateCancel, m.Checkin
	case now.Sub(m.Created) > MaxAge:
		return fateExpire, nil
	case m.Immediate:
		return fateNow, nil
	}
	return fateLease, nil
}

const closeTexts = `
UPDATE messages SET status = $1, updated_at = $2, lease_until = NULL
WHERE practice_id = $3 AND id = ANY ($4::bigint[]) AND created_at BETWEEN $5 AND $6
RETURNING status`

const sweepTexts = `
UPDATE messages SET status = 'expired', updated_at = $1
WHERE practice_id = $2 AND status = 'queued' AND created_at < $3
RETURNING status`

// texts is the outbox of texts.
var texts = &outbox[textCandidate]{
	noun: "message", table: "messages", tries: "attempts", tryKey: "attempt",
	selectDue: selectTexts,
	close:     closeTexts,
	sweep:     sweepTexts,
	// A pass over a large outbox still ends and lets the other work of the loop (unknown
	// sends, calls) have its turn.
	batches: 20,
	workers: true,
	deliver: (*Engine).sendText,
	pace:    func(e *Engine) *pacer { return e.textPace },
	refused: "send failed",
	fail:    (*Engine).fail,
}

// Dispatch runs one pass of the outboxes: it turns expired claims into unknown, settles unknown
// sends old enough for a lookup, and claims due messages batch by batch (committing each claim
// before any of its messages is sent), the next batch while the last one goes out, sending them
// through the channel, paced; then it places the calls that are due, alike.
func (e *Engine) Dispatch(ctx context.Context) (DispatchResult, error) {
	keep := e.housekeeping(e.now())
	var settled, stale, staleCalls int
	if keep {
		if err := texts.expire(ctx, e); err != nil {
			return DispatchResult{}, err
		}
		var err error
		if settled, err = e.settle(ctx); err != nil {
			return DispatchResult{}, err
		}
		if settled > 0 {
			e.keepOn()
		}
		if stale, err = texts.sweepStale(ctx, e); err != nil {
			return DispatchResult{}, err
		}
	}
	e.pacers()
	log := newSentLog(e)
	t, err := texts.dispatch(ctx, e, log.record)
	if ferr := log.flush(context.WithoutCancel(ctx)); err == nil {
		err = ferr
	}
	res := DispatchResult{Claimed: t.claimed, Sent: t.by[sent], Retrying: t.by[retry], Failed: t.by[failed],
		Unknown: t.by[unknown], Deferred: t.deferred, Cancelled: t.cancelled, Expired: t.expired + stale, Settled: settled}
	if keep {
		if cerr := calls.expire(ctx, e); cerr != nil {
			return res, errors.Join(err, cerr)
		}
		n, cerr := e.settleCalls(ctx)
		if cerr != nil {
			return res, errors.Join(err, cerr)
		}
		if n > 0 {
			e.keepOn()
		}
		if staleCalls, cerr = calls.sweepStale(ctx, e); cerr != nil {
			return res, errors.Join(err, cerr)
		}
	}
	c, cerr := calls.dispatch(ctx, e, e.recordPlaced)
	res.Calls = CallCounts{Placed: c.by[sent], Retrying: c.by[retry], Failed: c.by[failed], Unknown: c.by[unknown],
		Deferred: c.deferred, Cancelled: c.cancelled + c.expired + staleCalls}
	return res, errors.Join(err, cerr)
}

// sendText hands a text to the channel.
func (e *Engine) sendText(ctx context.Context, m textCandidate) (string, error) {
	return e.Channel.SendSMS(ctx, SMS{To: m.Phone, Body: m.Body, StatusCallback: e.StatusCallback(m.ID, m.Created), Kind: m.Kind})
}

// StatusCallback is the URL the provider reports a message's delivery to: it names the
// message by id and, when created is not zero, the UTC month the message was queued in
// (YYYY-MM), which is the monthly partition that holds it.
func (e *Engine) StatusCallback(id int64, created time.Time) string {
	if e.PublicURL == nil {
		return ""
	}
	u := e.PublicURL.JoinPath("webhooks", "twilio", "status")
	q := url.Values{"message": {strconv.FormatInt(id, 10)}}
	if !created.IsZero() {
		q.Set("month", history.MonthOf(created).String())
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// parseMonth reads the month of a status callback URL (YYYY-MM, as history.Month formats it):
// the start of that UTC month, or the zero time and an error for anything else.
func parseMonth(s string) (time.Time, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("error reading month %q (want YYYY-MM): %w", s, err)
	}
	return t, nil
}

// markSentBatch records the provider's ids of a batch of sends; a status report that came
// first is kept. It returns the kinds of the messages it marked sent first (a status report
// may have done it before). $5 and $6, the batch's oldest and newest creation times, bound the
// monthly partitions planned and read: by id alone, each would be probed for each text.
const markSentBatch = `
UPDATE messages m SET twilio_sid = u.sid, sent_at = COALESCE(m.sent_at, u.at), lease_until = NULL, updated_at = u.at,
	status = CASE WHEN message_status_rank(m.status) < message_status_rank('sent') THEN 'sent' ELSE m.status END
FROM unnest($2::bigint[], $3::text[], $4::timestamptz[]) AS u (id, sid, at),
	(SELECT id, sent_at IS NULL AS first FROM messages WHERE practice_id = $1 AND id = ANY ($2::bigint[]) AND created_at BETWEEN $5 AND $6
		ORDER BY id FOR NO KEY UPDATE) o
WHERE m.practice_id = $1 AND m.id = u.id AND o.id = u.id AND m.created_at BETWEEN $5 AND $6
RETURNING o.first, m.kind`

// sentKind is a message markSentBatch or applyReport marked, and whether it was the first
// time the message was sent.
type sentKind struct {
	First bool   `db:"first"`
	Kind  string `db:"kind"`
}

// countSent counts the messages sent for the first time.
func (e *Engine) countSent(ctx context.Context, rows []sentKind) {
	for _, r := range rows {
		if r.First {
			e.Metrics.textSent(ctx, r.Kind)
		}
	}
}

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
	created time.Time // when the text was queued: its partition
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

// record records a text the provider took.
func (l *sentLog) record(ctx context.Context, m textCandidate, sid string, at time.Time) error {
	// A question starts the wait for an answer; reminders and notices do not.
	touch := m.Checkin != nil && (m.Kind == "question" || m.Kind == "reask")
	// The batch may be written after the send's own recording time is over: write bounds each
	// batch by itself.
	l.add(context.WithoutCancel(ctx), sentRecord{id: m.ID, sid: sid, at: at, created: m.Created, checkin: m.Checkin, touch: touch})
	return nil
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
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordSentWithin)
	defer cancel()
	// In id order, so that concurrent batches lock rows in the same order.
	slices.SortFunc(batch, func(a, b sentRecord) int { return cmp.Compare(a.id, b.id) })
	var ids, checkins []int64
	var sids []string
	var ats []time.Time
	var last time.Time // the batch's latest send: what its check-ins' wait counts from
	var created span
	for _, r := range batch {
		created.add(r.created)
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
	err := e.txOnPrimary(ctx, "sent messages", func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, sentCommit); err != nil {
			return err
		}
		var marked []sentKind
		if err := tx.SelectContext(ctx, &marked, markSentBatch, e.pid(), pq.Array(ids), pq.Array(sids), pq.Array(ats), created.from, created.to); err != nil {
			return err
		}
		e.countSent(ctx, marked)
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

// markFailed records a final failure of a message created at $5.
const markFailed = `
UPDATE messages SET status = 'failed', error_code = $1, lease_until = NULL, updated_at = $2
WHERE practice_id = $3 AND id = $4 AND created_at >= $5 AND message_status_rank(status) < 4
RETURNING status`

// fail records a final failure and acts on what the provider said about the patient's number.
func (e *Engine) fail(ctx context.Context, m textCandidate, code int, now time.Time) error {
	err := aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		var statuses []string
		if err := tx.SelectContext(ctx, &statuses, markFailed, nullCode(code), now, e.pid(), m.ID, m.Created); err != nil {
			return err
		}
		for _, s := range statuses {
			e.Metrics.textSettled(ctx, s, code)
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
		r, err := escalation.Raise(ctx, tx, it, e.Due, now, e.Practice.Location)
		if err != nil {
			return err
		}
		e.raised(ctx, it, r)
		return nil
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

// selectUnknown lists the unknown sends that waited long enough for a status report.
const selectUnknown = `
SELECT id, phone, body, created_at FROM messages
WHERE practice_id = $1 AND status = 'unknown' AND twilio_sid IS NULL AND updated_at <= $2
ORDER BY updated_at LIMIT 50`

const touchUnknown = `
UPDATE messages SET updated_at = $1 WHERE practice_id = $2 AND id = $3 AND created_at >= $4 AND status = 'unknown'`

// settle looks up unknown sends that waited long enough for a status report: found, they take
// the provider's status; not found, nothing reached the provider and they are queued again.
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
			if _, err := e.DB.ExecContext(ctx, touchUnknown, now, e.pid(), r.ID, r.Created); err != nil {
				return n, fmt.Errorf("error deferring lookup of message %d: %w", r.ID, err)
			}
			continue
		}
		if found == nil {
			if _, err := e.DB.ExecContext(ctx, texts.sql(requeue), now, nil, now, e.pid(), r.ID, r.Created); err != nil {
				return n, fmt.Errorf("error requeueing message %d: %w", r.ID, err)
			}
			e.Log.Info("unknown send not found at the provider: queued again", "message", r.ID)
		} else {
			if _, err := e.UpdateStatus(ctx, Report{Message: r.ID, Month: history.MonthOf(r.Created).Start(), SID: found.SID, Status: found.Status}); err != nil {
				return n, err
			}
			e.Log.Info("unknown send found at the provider", "message", r.ID, "status", found.Status)
		}
		n++
	}
	return n, nil
}
