package outreach

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
)

// A sender's pace is shared by every replica: a carrier counts the messages of a number (or of a
// messaging service), not of a process. The database hands out send slots, Send.PerSecond a
// second per sender: a replica reserves a small block of them in one statement and spaces its
// own sends within it. A slot is handed out once; one that passes unused (its replica stopped,
// or had nothing more to send) is lost, so a replica's gaps only lower the rate.

// blockSpan is how much sending time one reservation covers: long enough that the database is
// asked at most a few times a second per replica, short enough that a replica holds little of
// the sender's time that another could use.
const blockSpan = 150 * time.Millisecond

// maxBlock bounds the slots of one reservation (at high rates).
const maxBlock = 64

// paceSlots is the time between two slots at perSecond and how late after its slot a send may
// still go (a busy machine wakes a sender late); 0, 0 for no limit. A second that starts at a
// late send reaches the slots up to a second and that lateness on, and the provider sees each
// send a little after it went (a request's own time, a replica's clock map): the interval is
// stretched so that the slots of a second span a margin for both, a quarter of the bare
// interval 1/perSecond each, and no second the provider sees holds more than perSecond sends
// (one at most below one a second). That costs a 1/(1+1/(2·perSecond)) of the rate: 1% at 50
// a second. The interval is rounded up to whole microseconds (the database's resolution) and
// the lateness down, so that rounding never makes it faster.
func paceSlots(perSecond float64) (every, late time.Duration) {
	if perSecond <= 0 {
		return 0, 0
	}
	bare := float64(time.Second) / perSecond
	quarter := bare / 4
	span := bare + 2*quarter/perSecond // perSecond intervals: a second and both margins
	if perSecond < 1 {
		span = max(bare, float64(time.Second)+2*quarter)
	}
	every = time.Duration(math.Ceil(span/float64(time.Microsecond))) * time.Microsecond
	return every, time.Duration(quarter).Truncate(time.Microsecond)
}

// blockSize is how many slots one reservation takes at interval every: those of blockSpan, from
// 1 to maxBlock.
func blockSize(every time.Duration) int {
	if every <= 0 {
		return 0
	}
	return int(min(max(blockSpan/every, 1), maxBlock))
}

// block is a run of n send slots reserved for one sender: at start, start+every, …, in local
// (monotonic) time.
type block struct {
	start time.Time
	every time.Duration
	n     int
	next  int // the first slot not handed out yet
}

// take hands out the next slot not handed out yet. Of the slots already past at now only the
// latest may be taken (it goes at once, before the next slot's time); the older ones are lost,
// so that late sends cannot bunch up. ok is false when the block has none left.
func (b *block) take(now time.Time) (at time.Time, ok bool) {
	i := b.next
	if late := now.Sub(b.start); late > 0 && b.every > 0 {
		i = max(i, int(late/b.every)) // the latest slot at or before now
	}
	if i >= b.n {
		b.next = b.n
		return time.Time{}, false
	}
	b.next = i + 1
	return b.start.Add(time.Duration(i) * b.every), true
}

// reserveSlots reserves $2 microseconds of sender $1's time from the first free slot, or from
// now when its last reservation has passed, and returns where the reservation starts and the
// database's clock. The clock is the database's (clock_timestamp(), read once the row is
// locked), so that the replicas' own clocks play no part.
const reserveSlots = `
INSERT INTO send_pace AS p (sender, next_at) VALUES ($1, clock_timestamp() + $2 * interval '1 microsecond')
ON CONFLICT (sender) DO UPDATE SET next_at = greatest(p.next_at, clock_timestamp()) + $2 * interval '1 microsecond'
RETURNING p.next_at - $2 * interval '1 microsecond' AS first, clock_timestamp() AS now`

// pacer spaces one sender's sends to at most perSecond a second across all replicas, waiting in
// real time: a provider's rate limit is about wall-clock seconds, whatever clock the rules read.
type pacer struct {
	db     *sqlx.DB
	sender string
	every  time.Duration // 0: no limit, and no reservations
	late   time.Duration // how late after its slot a send may still go
	size   int           // slots per reservation

	mu    sync.Mutex
	cur   block
	clock clockMap // the database's clock in local time, from the reservations' answers
}

func newPacer(d *sqlx.DB, sender string, perSecond float64) *pacer {
	every, late := paceSlots(perSecond)
	return &pacer{db: d, sender: sender, every: every, late: late, size: blockSize(every)}
}

// wait blocks until the next send may go, or ctx ends. A send goes within its slot's allowed
// lateness (see paceSlots): woken later than that (a busy machine), it could crowd a second
// with one send too many, so it takes another slot instead.
func (p *pacer) wait(ctx context.Context) error {
	if p.every == 0 {
		return ctx.Err()
	}
	for {
		at, err := p.slot(ctx)
		if err != nil {
			return err
		}
		if d := time.Until(at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
		if time.Since(at) < p.late {
			return nil
		}
	}
}

// slot hands out the next of the sender's slots this replica holds, reserving more when it holds
// none.
func (p *pacer) slot(ctx context.Context) (time.Time, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if at, ok := p.cur.take(time.Now()); ok {
		return at, nil
	}
	b, err := p.reserve(ctx)
	if err != nil {
		return time.Time{}, err
	}
	p.cur = b
	at, _ := p.cur.take(time.Now())
	return at, nil
}

// reserve reserves the next block of the sender's slots and places it in local time through
// the clock map. Where an answer was slow to come back (a busy machine, a busy database), the
// block is placed by an earlier, quicker answer: placing it from when the answer arrived
// would move it late, into the next replica's block.
func (p *pacer) reserve(ctx context.Context) (block, error) {
	var r struct {
		First time.Time `db:"first"`
		Now   time.Time `db:"now"`
	}
	span := time.Duration(p.size) * p.every
	asked := time.Now()
	if err := p.db.GetContext(ctx, &r, reserveSlots, p.sender, span.Microseconds()); err != nil {
		return block{}, fmt.Errorf("error reserving send slots: %w", err)
	}
	p.clock.observe(asked, time.Now(), r.Now)
	return block{start: p.clock.local(r.First), every: p.every, n: p.size}, nil
}

// clockMap maps the database's clock to this process's monotonic clock. Each answer of the
// database says its clock's reading, taken somewhere between the question and the answer; the
// map keeps the answer that came back quickest (its reading is placed at the midpoint, off by
// at most half its round trip), renewed after clockMapAge so that the two clocks' drift stays
// negligible.
type clockMap struct {
	at  time.Time     // local time of the midpoint of the kept question and answer
	db  time.Time     // the database's reading then
	rtt time.Duration // the kept answer's round trip
}

// clockMapAge is how long an answer's reading is kept when no quicker one comes.
const clockMapAge = 30 * time.Second

// observe takes a question asked and answered at these local times, the database reading db.
func (c *clockMap) observe(asked, answered, db time.Time) {
	rtt := answered.Sub(asked)
	if c.at.IsZero() || rtt <= c.rtt || answered.Sub(c.at) > clockMapAge {
		*c = clockMap{at: asked.Add(rtt / 2), db: db, rtt: rtt}
	}
}

// local is the local time of the database's reading t.
func (c *clockMap) local(t time.Time) time.Time { return c.at.Add(t.Sub(c.db)) }
