package outreach

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestInboxBatches hands in texts from many requests at once: each is handled exactly once and
// answered to its own request; no batch holds two texts of one number or more than maxBatch
// texts, and no more than maxLeaders batches run at once.
func TestInboxBatches(t *testing.T) {
	var b inbox
	var (
		mu       sync.Mutex
		handled  = map[string]int{}
		running  atomic.Int32
		most     atomic.Int32
		batches  atomic.Int32
		problems []string
	)
	handle := func(ctx context.Context, batch []*delivery) {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		batches.Add(1)
		time.Sleep(time.Millisecond) // a transaction's worth of waiting
		numbers := map[string]bool{}
		mu.Lock()
		defer mu.Unlock()
		if len(batch) > maxBatch {
			problems = append(problems, fmt.Sprintf("a batch of %d", len(batch)))
		}
		for _, d := range batch {
			if numbers[d.in.From] {
				problems = append(problems, "two texts of "+d.in.From+" in one batch")
			}
			numbers[d.in.From] = true
			handled[d.in.SID]++
			d.out, d.err = Handled("handled "+d.in.SID), nil
		}
	}
	const requests, each = 40, 25
	var wg sync.WaitGroup
	for r := range requests {
		wg.Go(func() {
			for i := range each {
				sid := fmt.Sprintf("SM%d-%d", r, i)
				out, err := b.receive(context.Background(), Inbound{SID: sid, From: fmt.Sprintf("+1555000%04d", (r*each+i)%7)}, handle)
				if err != nil || out != Handled("handled "+sid) {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("%s answered %q, %v", sid, out, err))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}
	if len(handled) != requests*each {
		t.Errorf("%d texts handled, want %d", len(handled), requests*each)
	}
	for sid, n := range handled {
		if n != 1 {
			t.Errorf("%s handled %d times", sid, n)
		}
	}
	if m := most.Load(); m > maxLeaders {
		t.Errorf("%d batches ran at once, want at most %d", m, maxLeaders)
	}
	if b.leaders != 0 || len(b.waiting) != 0 {
		t.Errorf("after the load: %d leads held, %d texts waiting", b.leaders, len(b.waiting))
	}
	t.Logf("%d texts in %d batches", requests*each, batches.Load())
}

// TestInboxRequestGivesUp cancels a request whose text waits behind a busy inbox: it returns
// the context's error, its text is never handled, and the inbox goes on.
func TestInboxRequestGivesUp(t *testing.T) {
	var b inbox
	release := make(chan struct{})
	var handled sync.Map
	slow := func(ctx context.Context, batch []*delivery) {
		<-release
		for _, d := range batch {
			handled.Store(d.in.SID, true)
			d.out, d.err = HandledAnswer, nil
		}
	}
	// Fill every lead with a batch that waits.
	var wg sync.WaitGroup
	for i := range maxLeaders {
		wg.Go(func() {
			if _, err := b.receive(context.Background(), Inbound{SID: fmt.Sprint("busy", i), From: fmt.Sprint("+1", i)}, slow); err != nil {
				t.Error(err)
			}
		})
	}
	for {
		b.mu.Lock()
		busy := b.leaders == maxLeaders && len(b.waiting) == 0
		b.mu.Unlock()
		if busy {
			break
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := b.receive(ctx, Inbound{SID: "impatient", From: "+19"}, slow)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want the deadline", err)
	}
	close(release)
	wg.Wait()
	if _, ok := handled.Load("impatient"); ok {
		t.Error("the withdrawn text was handled")
	}
	if out, err := b.receive(context.Background(), Inbound{SID: "later", From: "+19"}, slow); err != nil || out != HandledAnswer {
		t.Errorf("a later text: %q, %v", out, err)
	}
	if b.leaders != 0 {
		t.Errorf("%d leads held after everything was handled", b.leaders)
	}
}

// TestInboxSurvivesPanic has a batch panic: its texts end with an error instead of waiting
// forever, and the inbox handles the next texts.
func TestInboxSurvivesPanic(t *testing.T) {
	var b inbox
	func() {
		defer func() { _ = recover() }()
		_, _ = b.receive(context.Background(), Inbound{SID: "boom", From: "+1"}, func(context.Context, []*delivery) { panic("boom") })
	}()
	if b.leaders != 0 {
		t.Fatalf("%d leads held after the panic", b.leaders)
	}
	out, err := b.receive(context.Background(), Inbound{SID: "next", From: "+1"}, func(_ context.Context, batch []*delivery) {
		for _, d := range batch {
			d.out, d.err = HandledAnswer, nil
		}
	})
	if err != nil || out != HandledAnswer {
		t.Errorf("after a panic: %q, %v", out, err)
	}
}
