package outreach

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

func TestPaceSlots(t *testing.T) {
	for _, c := range []struct {
		perSecond   float64
		every, late time.Duration
	}{
		{0, 0, 0},
		{-1, 0, 0},
		{1, 1500 * time.Millisecond, 250 * time.Millisecond},
		{50, 20200 * time.Microsecond, 5 * time.Millisecond},
		{1000, 1001 * time.Microsecond, 250 * time.Microsecond}, // 1,000.5 µs rounded up: never faster
		{3, 388889 * time.Microsecond, 83333 * time.Microsecond},
		{0.8, 1625 * time.Millisecond, 312500 * time.Microsecond}, // a second and its margins
		{0.5, 2 * time.Second, 500 * time.Millisecond},            // the bare interval spans them
		{7, 153062 * time.Microsecond, 35714 * time.Microsecond},
	} {
		every, late := paceSlots(c.perSecond)
		if every != c.every || late != c.late {
			t.Errorf("paceSlots(%v) = %v, %v; want %v, %v", c.perSecond, every, late, c.every, c.late)
		}
	}
}

// TestPaceSlotsWindow: wherever the provider sees the sends, each within its slot's allowed
// lateness and as much again after it (the request's own time), no sliding second holds more
// than the rate (at most one send below one a second). The bare interval with a whole
// interval's lateness, as before the margins, is shown to exceed it.
func TestPaceSlotsWindow(t *testing.T) {
	// Where each send goes in its slot, from its slot's time and the allowed lateness.
	places := []struct {
		name  string
		place func(i int, late time.Duration) time.Duration
	}{
		{"on time", func(int, time.Duration) time.Duration { return 0 }},
		{"as late as allowed", func(_ int, late time.Duration) time.Duration { return late - time.Nanosecond }},
		{"the first late, the others on time", func(i int, late time.Duration) time.Duration {
			if i == 0 {
				return late - time.Nanosecond
			}
			return 0
		}},
		{"every other late", func(i int, late time.Duration) time.Duration {
			if i%2 == 0 {
				return late - time.Nanosecond
			}
			return 0
		}},
		{"every third late", func(i int, late time.Duration) time.Duration {
			if i%3 == 0 {
				return late - time.Nanosecond
			}
			return 0
		}},
	}
	check := func(t *testing.T, every, late time.Duration, most int) (busiest int) {
		for _, p := range places {
			var sends []time.Duration
			for i := range 4*most + 8 {
				sends = append(sends, time.Duration(i)*every+p.place(i, late))
			}
			busiest = max(busiest, busiestWindow(sends, time.Second))
		}
		return busiest
	}
	for _, c := range []struct {
		perSecond float64
		most      int // sends any second may hold
	}{
		{50, 50},
		{1000, 1000},
		{7, 7},
		{3, 3},
		{1, 1},
		{0.8, 1},
		{0.5, 1},
		{0.1, 1},
	} {
		every, late := paceSlots(c.perSecond)
		if got := check(t, every, 2*late, c.most); got > c.most {
			t.Errorf("at %v a second, a second held %d sends, more than %d", c.perSecond, got, c.most)
		}
	}
	// Without the margin, a late send and the slots a second on made one too many.
	bare := time.Second / 50
	if got := check(t, bare, bare, 50); got != 51 {
		t.Errorf("the bare interval with a whole interval's lateness held %d sends in a second, want 51", got)
	}
}

// busiestWindow is the most sends within any window of length w (starting at a send: a window
// that starts elsewhere holds no more than the one starting at its first send).
func busiestWindow(sends []time.Duration, w time.Duration) int {
	sends = slices.Sorted(slices.Values(sends))
	most, j := 0, 0
	for i := range sends {
		for j < len(sends) && sends[j]-sends[i] < w {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

func TestBlockSize(t *testing.T) {
	for _, c := range []struct {
		every time.Duration
		want  int
	}{
		{0, 0},
		{time.Second, 1},            // a long code: one slot per reservation
		{200 * time.Millisecond, 1}, // longer than a block's span
		{20 * time.Millisecond, 7},  // 50 a second: 140 ms a reservation
		{10 * time.Millisecond, 15},
		{time.Millisecond, maxBlock}, // 1,000 a second: bounded
	} {
		if got := blockSize(c.every); got != c.want {
			t.Errorf("blockSize(%v) = %d, want %d", c.every, got, c.want)
		}
	}
}

func TestBlockTake(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	type take struct {
		now  time.Time
		want time.Time // zero: none left
	}
	for _, c := range []struct {
		name  string
		next  int
		takes []take
	}{
		{"ahead of the block: each slot in turn", 0, []take{
			{ms(-50), ms(0)}, {ms(-50), ms(20)}, {ms(-50), ms(40)}, {ms(-50), ms(60)}, {ms(-50), time.Time{}},
		}},
		{"on a slot: that slot, then the next", 0, []take{{ms(20), ms(20)}, {ms(20), ms(40)}}},
		{"between slots: the one just past goes at once", 0, []take{{ms(25), ms(20)}, {ms(25), ms(40)}}},
		{"late: older slots are lost, not used in a burst", 0, []take{
			{ms(45), ms(40)}, {ms(45), ms(60)}, {ms(45), time.Time{}},
		}},
		{"a slot handed out is not handed out again", 2, []take{{ms(0), ms(40)}, {ms(0), ms(60)}}},
		{"past the block: none left", 0, []take{{ms(100), time.Time{}}, {ms(-10), time.Time{}}}},
		{"at the last slot", 0, []take{{ms(60), ms(60)}, {ms(60), time.Time{}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := block{start: t0, every: 20 * time.Millisecond, n: 4, next: c.next}
			for i, tk := range c.takes {
				at, ok := b.take(tk.now)
				if ok != !tk.want.IsZero() || !at.Equal(tk.want) {
					t.Errorf("take %d at %v = %v, %v; want %v", i, tk.now.Sub(t0), at.Sub(t0), ok, tk.want.Sub(t0))
				}
			}
		})
	}
}

// TestClockMap: a reservation is placed by the quickest answer seen, so that a slow answer
// does not move its block late (into another replica's block).
func TestClockMap(t *testing.T) {
	local := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	db := local.Add(ms(5000)) // the database's clock reads 5 s ahead of this process's
	type answer struct{ asked, rtt int }
	for _, c := range []struct {
		name    string
		answers []answer
	}{
		{"one quick answer: off by at most half its round trip", []answer{{0, 2}}},
		{"a slow answer after a quick one keeps the quick one", []answer{{0, 2}, {100, 300}}},
		{"a quicker answer replaces a slower one", []answer{{0, 40}, {100, 2}}},
		{"a slow first answer is used until a better one", []answer{{0, 40}}},
		{"an old reading is renewed even by a slower answer", []answer{{0, 2}, {31000, 10}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m clockMap
			for _, a := range c.answers {
				asked := local.Add(ms(a.asked))
				// The database reads its clock a quarter of the way through the round trip.
				reading := db.Add(ms(a.asked)).Add(ms(a.rtt) / 4)
				m.observe(asked, asked.Add(ms(a.rtt)), reading)
			}
			got := m.local(db.Add(ms(1000))).Sub(local.Add(ms(1000)))
			if got < -m.rtt/2 || got > m.rtt/2 {
				t.Errorf("the map is off by %v, more than half its round trip %v", got, m.rtt)
			}
			last := c.answers[len(c.answers)-1]
			if best := minRTT(c.answers, func(a answer) int { return a.rtt }); last.asked < 30000 && m.rtt != ms(best) {
				t.Errorf("kept an answer of round trip %v, want the quickest %v", m.rtt, ms(best))
			}
		})
	}
}

func minRTT[T any](xs []T, f func(T) int) int {
	best := f(xs[0])
	for _, x := range xs[1:] {
		best = min(best, f(x))
	}
	return best
}

// TestReserveSlots: reservations of one sender follow each other on the database's clock, with
// no gap and no overlap, whoever makes them; one made after the sender was idle starts now, not
// in the past (the idle time is not sent in a burst); senders do not share their slots.
func TestReserveSlots(t *testing.T) {
	ctx := context.Background()
	d := dbtest.DB(t)
	type slots struct {
		First time.Time `db:"first"`
		Now   time.Time `db:"now"`
	}
	reserve := func(sender string, span time.Duration) slots {
		t.Helper()
		var s slots
		if err := d.GetContext(ctx, &s, reserveSlots, sender, span.Microseconds()); err != nil {
			t.Fatal(err)
		}
		return s
	}
	const span = time.Hour // far longer than the test: the reservations queue up
	a := reserve("text +15550009901", span)
	if a.First.After(a.Now) || a.Now.Sub(a.First) > time.Second {
		t.Errorf("a new sender's first reservation starts at %v, its clock reads %v: want now", a.First, a.Now)
	}
	b := reserve("text +15550009901", span)
	c := reserve("text +15550009901", 2*span)
	if !b.First.Equal(a.First.Add(span)) || !c.First.Equal(b.First.Add(span)) {
		t.Errorf("reservations start at %v, %v, %v: want one after the other, %v apart", a.First, b.First, c.First, span)
	}
	other := reserve("call +15550009901", span)
	if other.First.After(other.Now) {
		t.Errorf("another sender waits for the first one's slots: starts at %v, now %v", other.First, other.Now)
	}
	// The sender is idle: its last slot is in the past.
	if _, err := d.ExecContext(ctx, "UPDATE send_pace SET next_at = now() - interval '1 hour' WHERE sender = $1",
		"text +15550009901"); err != nil {
		t.Fatal(err)
	}
	idle := reserve("text +15550009901", span)
	if idle.First.After(idle.Now) || idle.Now.Sub(idle.First) > time.Second {
		t.Errorf("after an idle hour the reservation starts at %v, the clock reads %v: want now", idle.First, idle.Now)
	}
}

// TestNoLimit: at rate 0 a send never waits and the database is never asked (the pacer has none).
func TestNoLimit(t *testing.T) {
	p := newPacer(nil, "text +15550009902", 0)
	for range 1000 {
		if err := p.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.wait(ctx); err == nil {
		t.Error("wait on an ended context succeeded")
	}
}
