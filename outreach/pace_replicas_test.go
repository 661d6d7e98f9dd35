package outreach_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
)

// stampChannel is a provider that takes every text a little while after it is asked, and
// records when each was asked, in real time, across all the replicas that share it.
type stampChannel struct {
	mu    sync.Mutex
	times []time.Time
	seq   int
}

func (c *stampChannel) SendSMS(ctx context.Context, m outreach.SMS) (string, error) {
	c.mu.Lock()
	c.times = append(c.times, time.Now())
	c.seq++
	sid := fmt.Sprintf("SM%032d", c.seq)
	c.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	return sid, nil
}

func (c *stampChannel) FindSMS(context.Context, string, string, time.Time) (*outreach.Found, error) {
	return nil, nil
}

func (c *stampChannel) StartCall(context.Context, outreach.Call) (string, error) {
	return "", errors.New("no calls in this test")
}

// busiestSecond is the most texts sent within any second (a window starting at each send).
func busiestSecond(times []time.Time) int {
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	most, j := 0, 0
	for i := range times {
		for j < len(times) && times[j].Sub(times[i]) < time.Second {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

func TestBusiestSecond(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	for _, c := range []struct {
		times []time.Time
		want  int
	}{
		{nil, 0},
		{at(0), 1},
		{at(0, 999), 2},
		{at(0, 1000), 1},
		{at(1500, 0, 400, 1200, 1300), 3}, // 400, 1200, 1300 or 1200, 1300, 1500 (unsorted in)
		{at(0, 100, 200, 300, 2000), 4},
	} {
		if got := busiestSecond(c.times); got != c.want {
			t.Errorf("busiestSecond(%v) = %d, want %d", c.times, got, c.want)
		}
	}
}

// TestPaceAcrossReplicas runs three replicas, each with its own connection pool as separate
// processes would have, sending as one sender at 20 texts a second: the provider never sees
// more than 20 texts in a second from them together, within a small tolerance for sends a busy
// machine wakes late (without the shared pace it would see 60). A slow machine only sends slower.
func TestPaceAcrossReplicas(t *testing.T) {
	const (
		patients  = 100
		perSecond = 20
		tolerance = perSecond / 4
	)
	r := newRig(t, stormStart, practice.QuietHours{}, "")
	r.smsPatients(patients)
	if _, err := r.eng.Schedule(context.Background()); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := r.db.Get(&name, "SELECT current_database()"); err != nil {
		t.Fatal(err)
	}
	conn, err := db.ReplaceDatabase(dbtest.ServerURL(), name)
	if err != nil {
		t.Fatal(err)
	}

	ch := &stampChannel{}
	engines := make([]*outreach.Engine, 3)
	for i := range engines {
		d, err := db.Open(context.Background(), conn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		e := r.engine(ch)
		e.DB = d
		e.Send.Batch, e.Send.Workers = 10, 4
		e.Send.PerSecond, e.Send.Sender = perSecond, "+15550001111"
		engines[i] = e
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i, e := range engines {
		wg.Go(func() {
			for ctx.Err() == nil {
				res, err := e.Dispatch(ctx)
				if err != nil {
					t.Errorf("replica %d: dispatch: %v", i, err)
					return
				}
				if res.Claimed == 0 && pendingOn(ctx, t, e.DB) == 0 {
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("the replicas did not finish in time: %d messages not sent", r.pending())
	}

	ch.mu.Lock()
	times := slices.Clone(ch.times)
	ch.mu.Unlock()
	if len(times) != patients {
		t.Fatalf("the provider was asked %d times, want %d", len(times), patients)
	}
	most := busiestSecond(times)
	if most > perSecond+tolerance {
		t.Errorf("the provider saw %d texts within a second from 3 replicas paced at %d a second (tolerance %d)",
			most, perSecond, tolerance)
	}
	span := times[len(times)-1].Sub(times[0])
	t.Logf("%d texts in %v from 3 replicas at %d/s: at most %d in a second", len(times), span.Round(time.Millisecond), perSecond, most)
}

// pendingOn counts the messages not settled yet.
func pendingOn(ctx context.Context, t *testing.T, d *sqlx.DB) int {
	var n int
	if err := d.GetContext(ctx, &n, "SELECT count(*) FROM messages WHERE status IN ('queued', 'sending', 'unknown')"); err != nil && ctx.Err() == nil {
		t.Errorf("counting pending messages: %v", err)
	}
	return n
}
