// Package simulator is the outreach Channel that needs no account: it records what would be
// sent (logging ids and lengths only, never the text), answers like a provider that accepted
// it, reports delivery, and lets simulated patients reply, so that the whole loop runs without
// Twilio.
package simulator

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outreach-engine/outreach/outreach"
)

// Patient is a simulated patient: the replies they give, in turn, to each question they are
// asked. A patient with no replies stays silent.
type Patient struct {
	Replies []string
}

// Hooks connect the simulator to the engine; either may be nil.
type Hooks struct {
	// Delivered reports that a message reached the phone, as a provider's status callback does.
	Delivered func(ctx context.Context, messageID int64, sid string)
	// Replied delivers a simulated patient's reply, as the inbound webhook does.
	Replied func(ctx context.Context, in outreach.Inbound)
}

// Sent is a message the simulator accepted.
type Sent struct {
	outreach.SMS
	SID string
	At  time.Time
}

// Channel is a simulated provider.
type Channel struct {
	log      *slog.Logger
	hooks    Hooks
	delay    func() time.Duration
	seq      atomic.Int64
	mu       sync.Mutex
	sent     []Sent
	patients map[string]*Patient
	ctx      context.Context
}

// New returns a simulated channel that logs each send. Hooks run in their own goroutines,
// bound to ctx.
func New(ctx context.Context, log *slog.Logger, hooks Hooks) *Channel {
	return &Channel{ctx: ctx, log: log, hooks: hooks, patients: map[string]*Patient{},
		delay: func() time.Duration { return 2*time.Second + rand.N(3*time.Second) }}
}

// AddPatient makes the number answer questions with the given replies.
func (c *Channel) AddPatient(phone string, p Patient) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.patients[phone] = &p
}

// SendSMS accepts the message and returns a made-up id; a simulated patient's reply follows
// after a few seconds.
func (c *Channel) SendSMS(ctx context.Context, m outreach.SMS) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &outreach.SendError{Failure: outreach.Retry, Err: err}
	}
	sid := fmt.Sprintf("SMsim%030d", c.seq.Add(1))
	var reply string
	c.mu.Lock()
	c.sent = append(c.sent, Sent{SMS: m, SID: sid, At: time.Now()})
	if p := c.patients[m.To]; p != nil && len(p.Replies) > 0 && (m.Kind == "question" || m.Kind == "reask") {
		reply, p.Replies = p.Replies[0], p.Replies[1:]
	}
	c.mu.Unlock()
	c.log.Info("simulated sms", "sid", sid, "kind", m.Kind, "chars", len(m.Body))
	if id, err := strconv.ParseInt(callbackID(m.StatusCallback), 10, 64); err == nil && c.hooks.Delivered != nil {
		go c.later(time.Second, func(ctx context.Context) { c.hooks.Delivered(ctx, id, sid) })
	}
	if reply != "" && c.hooks.Replied != nil {
		in := outreach.Inbound{SID: fmt.Sprintf("SMsimin%028d", c.seq.Add(1)), From: m.To, Body: reply}
		go c.later(c.delay(), func(ctx context.Context) { c.hooks.Replied(ctx, in) })
	}
	return sid, nil
}

func (c *Channel) later(d time.Duration, f func(context.Context)) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		f(c.ctx)
	case <-c.ctx.Done():
	}
}

func callbackID(callback string) string {
	u, err := url.Parse(callback)
	if err != nil {
		return ""
	}
	return u.Query().Get("message")
}

// FindSMS finds an accepted message by recipient and text.
func (c *Channel) FindSMS(_ context.Context, to, body string, since time.Time) (*outreach.Found, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.sent {
		if s.To == to && s.Body == body && !s.At.Before(since.Add(-time.Minute)) {
			return &outreach.Found{SID: s.SID, Status: "delivered"}, nil
		}
	}
	return nil, nil
}

// Sent returns the messages sent so far.
func (c *Channel) Sent() []Sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Sent(nil), c.sent...)
}
