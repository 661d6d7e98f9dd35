package outreach

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// inbox gathers the texts that arrive while earlier ones are being handled, so that one
// transaction handles many of them: under load, statements and commits are paid per batch
// rather than per text, and a quiet inbox handles each text at once, alone. It has no
// goroutine of its own: requests take turns leading, each leader handling batches until its
// own text is handled, then passing the lead to a text still waiting.
type inbox struct {
	mu      sync.Mutex
	waiting []*delivery
	leaders int // leads held: batches being handled, or about to be
}

const (
	// maxLeaders is how many batches one process handles at once. Two keep a small machine's
	// cores and its database busy; more make smaller batches that wait on each other's locks
	// (p99 of 1,000 replies a second on 2 cores: 62 ms with 2, 98 to 194 ms with 4).
	maxLeaders = 2
	// maxBatch is how many texts one batch handles at most.
	maxBatch = 64
)

// errAbandoned is the error of a text whose batch ended without a word on it (a panic).
var errAbandoned = errors.New("the batch handling the message ended early")

// delivery is one text handed in, and what became of it.
type delivery struct {
	in   Inbound
	out  Handled
	err  error
	done chan struct{} // closed once out and err are set

	leading bool          // holds a lead, which it must use or pass on (guarded by inbox.mu)
	lead    chan struct{} // receives once when the lead is passed to it
}

// handleBatch is what the inbox does with a batch: set out and err of each delivery. Its context
// is not cancelled when a single request ends.
type handleBatch func(ctx context.Context, batch []*delivery)

// receive hands a text in and waits until it is handled, handling batches itself when it holds
// the lead.
func (b *inbox) receive(ctx context.Context, in Inbound, handle handleBatch) (Handled, error) {
	d := &delivery{in: in, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	b.mu.Lock()
	b.waiting = append(b.waiting, d)
	if b.leaders < maxLeaders {
		b.leaders++
		d.leading = true
		d.lead <- struct{}{}
	}
	b.mu.Unlock()
	for {
		select {
		case <-d.lead:
			b.handle(ctx, d, handle)
		case <-d.done:
			b.leave(d)
			return d.out, d.err
		case <-ctx.Done():
			b.mu.Lock()
			withdrawn := b.remove(d)
			if withdrawn && d.leading {
				b.passLead(d)
			}
			b.mu.Unlock()
			if withdrawn {
				return "", ctx.Err()
			}
			// A batch took it meanwhile: see it through.
			<-d.done
			b.leave(d)
			return d.out, d.err
		}
	}
}

// handle handles batches until own is handled, then passes the lead on.
func (b *inbox) handle(ctx context.Context, own *delivery, handle handleBatch) {
	ctx = context.WithoutCancel(ctx) // the batch holds other requests' texts
	defer func() {
		b.mu.Lock()
		b.passLead(own)
		b.mu.Unlock()
	}()
	for {
		batch := b.take()
		if len(batch) == 0 {
			<-own.done // another leader's batch took it
			return
		}
		handleOne(ctx, batch, handle)
		select {
		case <-own.done:
			return
		default: // another text of the same number went first
		}
	}
}

// handleOne has handle handle a batch and marks its texts done, whatever happens: no request
// waits forever.
func handleOne(ctx context.Context, batch []*delivery, handle handleBatch) {
	defer func() {
		for _, d := range batch {
			close(d.done)
		}
	}()
	for _, d := range batch {
		d.err = errAbandoned // until handle says otherwise
	}
	handle(ctx, batch)
}

// leave passes on a lead that a handled delivery got but did not use.
func (b *inbox) leave(d *delivery) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d.leading {
		b.passLead(d)
	}
}

// passLead gives from's lead to the first waiting text that holds none, or gives it up when
// every waiting text has one. The caller holds b.mu.
func (b *inbox) passLead(from *delivery) {
	from.leading = false
	for _, w := range b.waiting {
		if !w.leading {
			w.leading = true
			w.lead <- struct{}{} // buffered, and sent once per lead
			return
		}
	}
	b.leaders--
}

// take removes a batch from the waiting texts: at most maxBatch, and one text per number, so
// that a number's texts are handled one after another, each seeing what the one before did.
func (b *inbox) take() []*delivery {
	b.mu.Lock()
	defer b.mu.Unlock()
	var batch []*delivery
	rest := b.waiting[:0]
	numbers := map[string]bool{}
	for _, d := range b.waiting {
		if len(batch) == maxBatch || numbers[d.in.From] {
			rest = append(rest, d)
			continue
		}
		numbers[d.in.From] = true
		batch = append(batch, d)
	}
	clear(b.waiting[len(rest):])
	b.waiting = rest
	return batch
}

// remove takes d out of the waiting texts; it reports whether d was there. The caller holds
// b.mu.
func (b *inbox) remove(d *delivery) bool {
	i := slices.Index(b.waiting, d)
	if i < 0 {
		return false
	}
	b.waiting = slices.Delete(b.waiting, i, i+1)
	return true
}
