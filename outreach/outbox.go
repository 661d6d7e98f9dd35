package outreach

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/history"
)

// outbox is one of the engine's two queues to patients: texts (the messages table: check-in
// texts, replies, and the texts staff write) and calls (the calls table). Both are claimed in
// batches, leased, held through quiet hours, expired into unknown and settled alike; what
// differs between them is here.
type outbox[T queued] struct {
	noun   string // "message" or "call", in logs and errors
	table  string // its table
	tries  string // the table's count of leases
	tryKey string // the log key of that count
	// selectDue claims a batch of due items with what decides their fate: $1 now, $2 the
	// practice, $3 the batch size, $4 the practice's consent exemption, $5 the practice's zone,
	// created in [$6, $7) (see claimWindow).
	selectDue string
	// close ends items that will never go out: $1 the status, $2 now, $3 the practice, $4 the
	// ids, created in [$5, $6]; it returns their statuses.
	close string
	// sweep ends the queued items created before $3 (see claimWindow), which no claim reads:
	// $1 now, $2 the practice; it returns their statuses.
	sweep string
	// closed counts the items close ended (nil: they are not counted).
	closed  func(m *Metrics, ctx context.Context, statuses []string)
	batches int  // the batches one pass claims at most
	workers bool // handed to the provider by Send.Workers at once; otherwise one at a time
	// deliver hands one leased item to the provider and returns the provider's id for it.
	deliver func(e *Engine, ctx context.Context, c T) (sid string, err error)
	pace    func(e *Engine) *pacer // the pace of its sender
	refused string                 // the log message of a delivery the provider did not take
	// fail records an item the provider refused for good.
	fail func(e *Engine, ctx context.Context, c T, code int, now time.Time) error
}

// queued is a due text or call as its outbox's claim reads it.
type queued interface {
	head() due
	// decide says what the claim does with it at now, and which open check-in it ends, if any.
	decide(now time.Time) (fate, *int64)
}

// due is what both outboxes' claims read of a queued text or call.
type due struct {
	ID       int64     `db:"id"`
	Patient  int64     `db:"patient_id"`
	Phone    string    `db:"phone"`
	Tries    int       `db:"tries"` // leases before this one
	Created  time.Time `db:"created_at"`
	OptedOut bool      `db:"opted_out"`
	// Contactable: the patient may be sent what they did not ask for, or called (see Reachability).
	Contactable bool   `db:"contactable"`
	Zone        string `db:"timezone"`
}

func (d due) head() due { return d }

// fate is what a claim does with a due text or call.
type fate int

const (
	fateLease  fate = iota // leased for the provider, unless it is quiet hours in the patient's zone
	fateNow                // leased whatever the hour
	fateCancel             // never sent: the patient opted out or may no longer be contacted
	fateExpire             // never sent: older than MaxAge
)

// outcome is what became of a leased text or call handed to the provider.
type outcome int

const (
	sent     outcome = iota // the provider took it: a text sent, a call placed
	retry                   // it did not reach the provider: queued again with a backoff
	failed                  // refused for good
	unknown                 // it may have reached the provider: a status report or a lookup settles it
	outcomes                // how many outcomes there are
)

// tally counts what a pass did with one outbox.
type tally struct {
	claimed, cancelled, expired, deferred int
	by                                    [outcomes]int
}

// sql completes a statement both outboxes share with k's table (%[1]s) and count of leases (%[2]s).
func (k *outbox[T]) sql(stmt string) string { return fmt.Sprintf(stmt, k.table, k.tries) }

// expireLeases turns claims whose holder vanished (a crash between claim and result) into
// unknown: a text may have gone out, so it is settled, never blindly sent again; a call may
// have been placed, so it waits for its status report rather than ringing the patient twice.
const expireLeases = `
UPDATE %[1]s SET status = 'unknown', lease_until = NULL, updated_at = $1
WHERE status = 'sending' AND lease_until < $1`

func (k *outbox[T]) expire(ctx context.Context, e *Engine) error {
	if _, err := e.DB.ExecContext(ctx, k.sql(expireLeases), e.now()); err != nil {
		return fmt.Errorf("error expiring %s claims: %w", k.noun, err)
	}
	return nil
}

// claimWindow is when the items a claim reads were created: from MaxAge and a day before now
// (an older item goes out no more; the claim ends those it reads, the sweep the others) to the
// start of the month after next (an item queued by a process whose clock is ahead). Texts are
// partitioned by month: a claim plans and reads two or three partitions, not a year of them.
func claimWindow(now time.Time) (from, to time.Time) {
	return now.Add(-MaxAge - 24*time.Hour), history.MonthOf(now).Add(2).Start()
}

// sweepStale ends the queued items the claims no longer read (see claimWindow): those of a
// dispatcher that was stopped for longer than MaxAge. It returns how many it ended.
func (k *outbox[T]) sweepStale(ctx context.Context, e *Engine) (int, error) {
	now := e.now()
	from, _ := claimWindow(now)
	var statuses []string
	if err := e.DB.SelectContext(ctx, &statuses, k.sweep, now, e.pid(), from); err != nil {
		return 0, fmt.Errorf("error ending stale %ss: %w", k.noun, err)
	}
	if len(statuses) > 0 {
		e.Log.Info("queued too long ago: never sent", k.noun+"s", len(statuses))
		if k.closed != nil {
			k.closed(e.Metrics, ctx, statuses)
		}
	}
	return len(statuses), nil
}

// keepEvery is how often a dispatcher does the outboxes' housekeeping: expired claims, sends in
// doubt, stale items. Claims last minutes and doubt is settled after minutes, so a pass every
// few seconds under load need not read every monthly partition each time.
const keepEvery = 15 * time.Second

// housekeeping reports whether this dispatch pass does the housekeeping, and if so counts it
// done. A pass that settled sends in doubt leaves the next one to go on (see keepOn).
func (e *Engine) housekeeping(now time.Time) bool {
	e.keptMu.Lock()
	defer e.keptMu.Unlock()
	if !e.kept.IsZero() && now.Sub(e.kept) < keepEvery && !now.Before(e.kept) {
		return false
	}
	e.kept = now
	return true
}

// keepOn has the next pass do the housekeeping too: this one found work, and settles it a batch
// at a time.
func (e *Engine) keepOn() {
	e.keptMu.Lock()
	e.kept = time.Time{}
	e.keptMu.Unlock()
}

// dispatch claims due items batch by batch (committing each claim before any of its items goes
// out), the next batch while the last one goes out, and hands them to the provider, paced;
// record records an item the provider took. It goes on past errors and returns the first.
func (k *outbox[T]) dispatch(ctx context.Context, e *Engine, record func(context.Context, T, string, time.Time) error) (tally, error) {
	var t tally
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
	work := make(chan T, 2*batch) // room for the next batch while this one goes out
	go func() {
		defer close(work)
		for range k.batches {
			claimed, seen, err := k.claim(ctx, e, &t, &mu)
			if err != nil {
				keep(err)
				return
			}
			for _, c := range claimed {
				work <- c
			}
			if seen < batch {
				return // nothing more is due
			}
		}
	}()
	workers := 1
	if k.workers {
		workers = max(1, e.Send.Workers)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range work {
				o, err := k.hand(ctx, e, c, record)
				if err != nil {
					keep(err)
					continue
				}
				mu.Lock()
				t.by[o]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return t, firstErr
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

// cancelCheckins ends open check-ins whose patient may no longer be contacted: their queued
// texts and calls are cancelled as their turn comes.
const cancelCheckins = `
UPDATE checkins SET status = 'cancelled', ended_at = $1, question_id = NULL
WHERE practice_id = $2 AND id = ANY ($3::bigint[]) AND status = 'open'
RETURNING script_id, channel, status`

// leaseDue leases claimed items. Like every statement here that finds items by id, it is
// bounded by the items' creation times ($5 to $6), which a monthly partitioned table (texts)
// is partitioned by: by id alone, each month's partition would be planned and probed.
const leaseDue = `
UPDATE %[1]s SET status = 'sending', %[2]s = %[2]s + 1, lease_until = $1, updated_at = $2
WHERE practice_id = $3 AND id = ANY ($4::bigint[]) AND created_at BETWEEN $5 AND $6`

const deferDue = `
UPDATE %[1]s SET next_attempt_at = u.at, updated_at = $1
FROM unnest($3::bigint[], $4::timestamptz[]) AS u (id, at)
WHERE %[1]s.practice_id = $2 AND %[1]s.id = u.id AND %[1]s.created_at BETWEEN $5 AND $6`

// claim takes a batch of due items in one transaction, with SKIP LOCKED so that concurrent
// passes share the work: each item's decide cancels it (with its check-in, when the patient
// may no longer be contacted), expires it, or has it leased; items that may wait for the end
// of the patient's quiet hours do. It counts what it did in t, under mu, and returns the items
// it leased and how many due items it took in all.
func (k *outbox[T]) claim(ctx context.Context, e *Engine, t *tally, mu *sync.Mutex) (claimed []T, seen int, err error) {
	now := e.now()
	var n tally
	err = aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		claimed = claimed[:0]
		var cands []T
		from, to := claimWindow(now)
		if err := tx.SelectContext(ctx, &cands, k.selectDue, now, e.pid(), max(1, e.Send.Batch), e.exempt(),
			e.Practice.Location.String(), from, to); err != nil {
			return err
		}
		var cancel, expire, lease, deferIDs, ended []int64
		var deferAt []time.Time
		var closeSpan, leaseSpan, deferSpan span
		for _, c := range cands {
			id := c.head().ID
			f, end := c.decide(now)
			if end != nil {
				ended = append(ended, *end)
			}
			switch f {
			case fateCancel:
				cancel = append(cancel, id)
				closeSpan.add(c.head().Created)
				continue
			case fateExpire:
				expire = append(expire, id)
				closeSpan.add(c.head().Created)
				continue
			case fateLease:
				opens, held, err := e.heldUntil(c.head().Zone, now)
				if err != nil {
					return err
				}
				if held {
					deferIDs, deferAt = append(deferIDs, id), append(deferAt, opens)
					deferSpan.add(c.head().Created)
					continue
				}
			}
			lease = append(lease, id)
			leaseSpan.add(c.head().Created)
			claimed = append(claimed, c)
		}
		for _, u := range []struct {
			status string
			ids    []int64
		}{{"cancelled", cancel}, {"expired", expire}} {
			if len(u.ids) > 0 {
				var statuses []string
				if err := tx.SelectContext(ctx, &statuses, k.close, u.status, now, e.pid(), pq.Array(u.ids), closeSpan.from,
					closeSpan.to); err != nil {
					return err
				}
				if k.closed != nil {
					k.closed(e.Metrics, ctx, statuses)
				}
			}
		}
		if len(ended) > 0 {
			var rows []checkinRow
			if err := tx.SelectContext(ctx, &rows, cancelCheckins, now, e.pid(), pq.Array(ended)); err != nil {
				return err
			}
			e.Metrics.checkinsEnded(ctx, rows)
			e.Log.Info("check-ins cancelled: the patient may no longer be contacted", "checkins", ended)
		}
		if len(deferIDs) > 0 {
			if _, err := tx.ExecContext(ctx, k.sql(deferDue), now, e.pid(), pq.Array(deferIDs), pq.Array(deferAt), deferSpan.from,
				deferSpan.to); err != nil {
				return err
			}
		}
		if len(lease) > 0 {
			if _, err := tx.ExecContext(ctx, k.sql(leaseDue), now.Add(e.Send.Lease), now, e.pid(), pq.Array(lease), leaseSpan.from,
				leaseSpan.to); err != nil {
				return err
			}
		}
		seen = len(cands)
		n = tally{claimed: len(claimed), cancelled: len(cancel), expired: len(expire), deferred: len(deferIDs)}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("error claiming %ss: %w", k.noun, err)
	}
	mu.Lock()
	t.claimed += n.claimed
	t.cancelled += n.cancelled
	t.expired += n.expired
	t.deferred += n.deferred
	mu.Unlock()
	return claimed, seen, nil
}

// span is the earliest and the latest of creation times added to it.
type span struct {
	from, to time.Time
	set      bool
}

func (s *span) add(t time.Time) {
	if !s.set || t.Before(s.from) {
		s.from = t
	}
	if !s.set || t.After(s.to) {
		s.to = t
	}
	s.set = true
}

// requeue gives an item back to its queue, for another try at $1; $6 is when it was created.
const requeue = `
UPDATE %[1]s SET status = 'queued', next_attempt_at = $1, lease_until = NULL, error_code = $2, updated_at = $3
WHERE practice_id = $4 AND id = $5 AND created_at = $6 AND status IN ('sending', 'unknown')`

// markUnknown puts an item in doubt; $4 is when it was created.
const markUnknown = `
UPDATE %[1]s SET status = 'unknown', lease_until = NULL, updated_at = $1
WHERE practice_id = $2 AND id = $3 AND created_at = $4 AND status = 'sending'`

// recordWithin bounds the recording of a send's outcome, which goes on after the dispatcher's
// context ends (a text that went out, a call that was placed, must say so): a database that does
// not answer within it leaves the item in doubt, settled later by its status report or a lookup,
// and does not hold up the process's stop.
const recordWithin = 5 * time.Second

// recording returns the context of a send's recording: ctx's values, not its end, and at most
// recordWithin.
func recording(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), recordWithin)
}

// hand hands one leased item to the provider and records the outcome; record records an item
// the provider took.
func (k *outbox[T]) hand(ctx context.Context, e *Engine, c T, record func(context.Context, T, string, time.Time) error) (outcome, error) {
	id, tries, created := c.head().ID, c.head().Tries, c.head().Created
	if err := k.pace(e).wait(ctx); err != nil {
		// Not sent: give the claim back.
		rctx, cancel := recording(ctx)
		defer cancel()
		_, dbErr := e.DB.ExecContext(rctx, k.sql(requeue), e.now(), nil, e.now(), e.pid(), id, created)
		return retry, errors.Join(err, dbErr)
	}
	sid, err := k.deliver(e, ctx, c)
	// The outcome is recorded even when ctx ended meanwhile: a text that went out, a call that
	// was placed, must say so.
	ctx, cancel := recording(ctx)
	defer cancel()
	now := e.now()
	if err == nil {
		return sent, record(ctx, c, sid, now)
	}
	se := AsSendError(err)
	e.Log.Warn(k.refused, k.noun, id, "failure", se.Failure, "code", se.Code, k.tryKey, tries+1)
	switch {
	case se.Failure == Retry && tries+1 < e.Send.MaxAttempts:
		at := now.Add(backoff(tries+1, se.RetryAfter))
		if _, err := e.DB.ExecContext(ctx, k.sql(requeue), at, nullCode(se.Code), now, e.pid(), id, created); err != nil {
			return retry, fmt.Errorf("error requeueing %s %d: %w", k.noun, id, err)
		}
		return retry, nil
	case se.Failure == Retry || se.Failure == Final:
		return failed, k.fail(e, ctx, c, se.Code, now)
	default:
		if _, err := e.DB.ExecContext(ctx, k.sql(markUnknown), now, e.pid(), id, created); err != nil {
			return unknown, fmt.Errorf("error marking %s %d unknown: %w", k.noun, id, err)
		}
		return unknown, nil
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
