package outreach_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
)

// nopChannel accepts every send at once, so that a benchmark measures the engine and its
// database alone.
type nopChannel struct {
	fakeChannel
	seq atomic.Int64
}

func (c *nopChannel) SendSMS(ctx context.Context, m outreach.SMS) (string, error) {
	return fmt.Sprintf("SM%032d", c.seq.Add(1)), nil
}

// BenchmarkDispatch measures a month's first texts: the scheduler starting 2,000 check-ins
// with their first texts, and the dispatcher claiming, sending (to a channel that answers at
// once) and recording them. Run with -bench Dispatch -benchtime 10x.
func BenchmarkDispatch(b *testing.B) {
	const n = 2000
	r := newRig(b, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "")
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("B%05d +1555081%04d America/New_York en -", i, i)
	}
	r.patients(lines...)
	r.eng.Channel = &nopChannel{}
	var scheduling, dispatching time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if _, err := r.db.Exec("TRUNCATE messages, checkin_answers, checkins CASCADE"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if res := r.schedule(); res.Created != n {
			b.Fatalf("schedule = %+v", res)
		}
		scheduled := time.Now()
		sent := 0
		for {
			res := r.dispatch()
			sent += res.Sent
			if !res.Busy() {
				break
			}
		}
		if sent != n {
			b.Fatalf("sent %d of %d", sent, n)
		}
		scheduling, dispatching = scheduling+scheduled.Sub(start), dispatching+time.Since(scheduled)
	}
	perText := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n*b.N) }
	b.ReportMetric(perText(b.Elapsed()), "µs/text")
	b.ReportMetric(perText(scheduling), "µs/text-schedule")
	b.ReportMetric(perText(dispatching), "µs/text-dispatch")
}
