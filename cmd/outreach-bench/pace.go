package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
)

// paceReplicas is how many dispatching processes the pace phase runs at once.
const paceReplicas = 3

// paceSeconds is about how long the paced run lasts: long enough for many one-second windows.
const paceSeconds = 15

// paceUnpaced is how many texts the unpaced run and the bare client send at most.
const paceUnpaced = 3000

// engineWorkers is the sends one outreach process has in flight at once (Send.Workers).
const engineWorkers = 8

// pace measures sending against a provider that answers in --latency, as Twilio does, with
// paceReplicas "checkins run" processes dispatching at once. Paced at --send-rate per sender,
// it reports the most texts the provider saw from one sender within any second. Unpaced, it
// compares the engine's throughput with the bare twilio-go client at the same concurrency
// (paceReplicas times engineWorkers sends in flight), as the provider sees both.
func (b *benchRun) pace(ctx context.Context) error {
	// This month's check-ins are made and their first texts sent first (nothing is left to do
	// when the dispatch phase ran), so that each run below sends only the texts it queues again.
	if _, _, err := b.runChild(ctx, "checkins", "run", "--at", b.c.at.Format(time.RFC3339)); err != nil {
		return err
	}
	b.forgetSent()
	b.fake.SetClock(time.Now) // the requests' times, in real time
	b.fake.SetDelay(b.c.latency)
	defer func() {
		b.fake.SetClock(func() time.Time { return b.c.at })
		b.fake.SetDelay(0)
	}()

	paced := min(b.c.patients, b.c.sendRate*paceSeconds)
	took, err := b.paceRun(ctx, paced, b.c.sendRate)
	if err != nil {
		return err
	}
	reqs := b.fake.Requests()
	senders := map[string][]time.Time{}
	for _, r := range reqs {
		s := r.From
		if r.MessagingServiceSid != "" {
			s = r.MessagingServiceSid
		}
		senders[s] = append(senders[s], r.Time)
	}
	for _, s := range slices.Sorted(maps.Keys(senders)) {
		times := senders[s]
		fmt.Fprintf(b.out, "%-9s %d checkins run at OUTREACH_SEND_RATE=%d, provider answering in %v: %s texts in %.1f s; sender %s: at most %d texts in a second (%.1f/s over the run)\n",
			"pace", paceReplicas, b.c.sendRate, b.c.latency, thousands(len(times)), took.Seconds(), s,
			busiestSecond(times), providerRate(times, 0))
	}
	if len(reqs) != paced {
		return fmt.Errorf("the provider was asked %d times for %d texts queued", len(reqs), paced)
	}

	b.forgetSent()
	unpaced := min(b.c.patients, paceUnpaced)
	took, err = b.paceRun(ctx, unpaced, 0)
	if err != nil {
		return err
	}
	engine := requestTimes(b.fake.Requests())
	engineRate := providerRate(engine, b.c.latency)
	fmt.Fprintf(b.out, "%-9s %d checkins run unpaced (%d sends in flight each): %s texts in %.1f s; the provider saw %.0f texts/s, %d in its median second\n",
		"", paceReplicas, engineWorkers, thousands(len(engine)), took.Seconds(), engineRate, medianSecond(engine))

	b.forgetSent()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, paceReplicas)
	for i := range paceReplicas {
		// Each bare client sends its share, engineWorkers at a time, as one process does.
		share := unpaced / paceReplicas
		if i < unpaced%paceReplicas {
			share++
		}
		wg.Go(func() { _, errs[i] = bareSends(ctx, b.fake.URL(), b.sid, b.token, share) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	bare := requestTimes(b.fake.Requests())
	bareRate := providerRate(bare, b.c.latency)
	fmt.Fprintf(b.out, "%-9s bare twilio-go, %d sends in flight, same provider: %s texts in %.1f s; the provider saw %.0f texts/s, %d in its median second; engine/bare = %.2fx (median seconds %.2fx)\n",
		"", paceReplicas*engineWorkers, thousands(len(bare)), time.Since(start).Seconds(), bareRate, medianSecond(bare),
		engineRate/bareRate, float64(medianSecond(engine))/float64(max(1, medianSecond(bare))))
	b.forgetSent()
	return nil
}

// requeueSent queues n texts already sent once more, due at the bench's instant: the paced and
// unpaced runs send them again. The newest are taken: texts of the history months are too old
// to be sent (the engine expires them).
const requeueSent = `
UPDATE messages SET status = 'queued', next_attempt_at = $1, attempts = 0, lease_until = NULL, twilio_sid = NULL,
	sent_at = NULL, error_code = NULL, updated_at = $1
WHERE id IN (
	SELECT id FROM messages WHERE practice_id = $2 AND direction = 'out' AND status <> 'queued' ORDER BY id DESC LIMIT $3)`

// paceRun queues n sent texts again and has paceReplicas "checkins run" processes send them at
// rate per sender (0: unpaced); it returns how long the processes took, the slowest one.
func (b *benchRun) paceRun(ctx context.Context, n, rate int) (time.Duration, error) {
	if _, err := b.d.ExecContext(ctx, requeueSent, b.c.at, b.practice, n); err != nil {
		return 0, fmt.Errorf("error queueing texts again: %w", err)
	}
	// The last of a variable given twice is the one a child reads.
	env := b.env("OUTREACH_SEND_RATE=" + strconv.Itoa(rate))
	children := make([]*child, paceReplicas)
	for i := range children {
		ch, err := b.start(ctx, env, "checkins", "run", "--at", b.c.at.Format(time.RFC3339))
		if err != nil {
			for _, c := range children[:i] {
				_, _ = c.wait()
			}
			return 0, err
		}
		children[i] = ch
	}
	var took time.Duration
	var errs []error
	for _, ch := range children {
		u, err := ch.wait()
		took = max(took, u.took)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return took, err
	}
	var left int
	if err := b.d.GetContext(ctx, &left, `SELECT count(*) FROM messages WHERE practice_id = $1 AND status IN ('queued', 'sending')`,
		b.practice); err != nil {
		return took, fmt.Errorf("error counting the outbox: %w", err)
	}
	if left > 0 {
		return took, fmt.Errorf("%d texts were left unsent", left)
	}
	return took, nil
}

func requestTimes(reqs []twiliofake.Request) []time.Time {
	times := make([]time.Time, len(reqs))
	for i, r := range reqs {
		times[i] = r.Time
	}
	return times
}

// busiestSecond is the most requests within any second (a window starting at each request).
func busiestSecond(times []time.Time) int {
	times = slices.SortedFunc(slices.Values(times), time.Time.Compare)
	most, j := 0, 0
	for i := range times {
		for j < len(times) && times[j].Sub(times[i]) < time.Second {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

// medianSecond is the median of the requests in each whole second from the first request, the
// last (partial) second left out: the steady pace, without the start of the processes and the
// tail of the run.
func medianSecond(times []time.Time) int {
	if len(times) == 0 {
		return 0
	}
	first := slices.MinFunc(times, time.Time.Compare)
	var per []int
	for _, t := range times {
		i := int(t.Sub(first) / time.Second)
		for len(per) <= i {
			per = append(per, 0)
		}
		per[i]++
	}
	if len(per) > 1 {
		per = per[:len(per)-1]
	}
	slices.Sort(per)
	return per[len(per)/2]
}

// providerRate is the requests a second the provider saw: from the first request to the last
// one's answer, latency after it.
func providerRate(times []time.Time, latency time.Duration) float64 {
	if len(times) == 0 {
		return 0
	}
	first, last := slices.MinFunc(times, time.Time.Compare), slices.MaxFunc(times, time.Time.Compare)
	span := last.Sub(first) + latency
	if span <= 0 {
		return 0
	}
	return float64(len(times)) / span.Seconds()
}
