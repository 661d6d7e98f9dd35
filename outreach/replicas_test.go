package outreach_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
)

// replicaChannel counts the sends the provider accepted from one replica.
type replicaChannel struct {
	outreach.Channel
	sent atomic.Int64
}

func (c *replicaChannel) SendSMS(ctx context.Context, m outreach.SMS) (string, error) {
	sid, err := c.Channel.SendSMS(ctx, m)
	if err == nil {
		c.sent.Add(1)
	}
	return sid, err
}

// TestReplicasUnderLoad runs two, then three replicas at once: engines sharing one database,
// each with its own twilio-go channel to one fake Twilio (as separate processes would), each
// running scheduling and dispatch passes in a loop in its own goroutine, for a few hundred
// patients due their first check-in. Each patient gets exactly one check-in and one message,
// sent once (0 lost, 0 duplicated), and every replica sent a share of them.
func TestReplicasUnderLoad(t *testing.T) {
	const patients = 600
	for _, replicas := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d replicas", replicas), func(t *testing.T) {
			started := time.Now()
			r := newRig(t, stormStart, practice.QuietHours{}, "")
			f := newTwilioFake(t, r.clock)
			f.SetDelay(2 * time.Millisecond) // a provider that takes a little time: passes overlap
			phones := r.smsPatients(patients)

			engines := make([]*outreach.Engine, replicas)
			channels := make([]*replicaChannel, replicas)
			for i := range engines {
				channels[i] = &replicaChannel{Channel: twilioChannel(t, f, 5*time.Second)}
				e := r.engine(channels[i])
				// Small batches, so that many passes share the outbox.
				e.Send.Batch, e.Send.Workers = 20, 4
				engines[i] = e
			}

			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			var claimed, passes atomic.Int64
			start := make(chan struct{})
			for i, e := range engines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					for ctx.Err() == nil {
						if _, err := e.Schedule(ctx); err != nil {
							t.Errorf("replica %d: schedule: %v", i, err)
							return
						}
						res, err := e.Dispatch(ctx)
						if err != nil {
							t.Errorf("replica %d: dispatch: %v", i, err)
							return
						}
						passes.Add(1)
						claimed.Add(int64(res.Claimed))
						if res.Claimed > 0 {
							continue
						}
						// Nothing left to claim: done once every message is out (the schedule
						// above returned, so every check-in exists, whichever replica created it).
						var open int
						if err := r.db.GetContext(ctx, &open,
							"SELECT count(*) FROM messages WHERE status IN ('queued', 'sending', 'unknown')"); err != nil {
							if ctx.Err() == nil {
								t.Errorf("replica %d: %v", i, err)
							}
							return
						}
						if open == 0 {
							return
						}
						time.Sleep(time.Millisecond) // others hold the rest: let them finish
					}
				}()
			}
			close(start)
			wg.Wait()
			if ctx.Err() != nil {
				t.Fatalf("the replicas did not finish in time: %d messages not sent", r.pending())
			}

			d := deliveries(f, phones)
			r.checkOneEach(f, phones, d)
			if d.requests != patients || claimed.Load() != patients {
				t.Errorf("the fake received %d requests and the replicas claimed %d messages, want %d each (one attempt per message)",
					d.requests, claimed.Load(), patients)
			}
			if n := r.count("SELECT count(*) FROM messages WHERE attempts <> 1"); n != 0 {
				t.Errorf("%d messages were attempted more than once", n)
			}
			split := make([]int64, replicas)
			var sum int64
			for i, c := range channels {
				split[i] = c.sent.Load()
				sum += split[i]
				if split[i] == 0 {
					t.Errorf("replica %d sent nothing: the work was not shared (split %v)", i, split)
				}
			}
			if sum != patients {
				t.Errorf("the replicas sent %d messages in all (split %v), want %d", sum, split, patients)
			}
			t.Logf("%d replicas: %d tried, %d lost, %d duplicated; sent per replica %v; %d passes, %v",
				replicas, d.tried, d.lost, d.duplicated, split, passes.Load(), time.Since(started).Round(time.Millisecond))
		})
	}
}
