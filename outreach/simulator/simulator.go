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
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/ivr"
)

// Patient is a simulated patient: the replies they give, in turn, to each question they are
// asked (on a call: each key entry or utterance, the opening menu's "1" included). A patient
// with no replies stays silent and does not pick up the phone.
type Patient struct {
	Replies []string
	Machine bool // calls reach an answering machine
	// Asks is a text the patient sends of their own accord once their check-in is over (its
	// closing message came): a question for the care team.
	Asks string
	// Answers are the patient's replies, in turn, to the texts the care team writes them.
	Answers []string
}

// Hooks connect the simulator to the engine; either may be nil.
type Hooks struct {
	// Delivered reports that a message reached the phone, as a provider's status callback does.
	Delivered func(ctx context.Context, messageID int64, sid string)
	// Replied delivers a simulated patient's reply, as the inbound webhook does.
	Replied func(ctx context.Context, in outreach.Inbound)
	// Answered and Input walk a simulated call through the engine, as the voice webhooks do.
	Answered func(ctx context.Context, call int64, sid, answeredBy string) (ivr.Turn, error)
	Input    func(ctx context.Context, call int64, step string, in ivr.Input) (ivr.Turn, error)
	// CallStatus reports a call's progress, as the call status callback does.
	CallStatus func(ctx context.Context, r outreach.CallReport)
}

// Placed is a call the simulator placed.
type Placed struct {
	outreach.Call
	SID string
	At  time.Time
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
	calls    []Placed
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
	var reply string
	sid, err := c.accept(ctx, "SM", func(sid string) {
		c.sent = append(c.sent, Sent{SMS: m, SID: sid, At: time.Now()})
		reply = c.patients[m.To].reply(m.Kind)
	})
	if err != nil {
		return "", err
	}
	c.log.Info("simulated sms", "sid", sid, "kind", m.Kind, "chars", len(m.Body))
	if id, err := strconv.ParseInt(callbackParam(m.StatusCallback, "message"), 10, 64); err == nil && c.hooks.Delivered != nil {
		go c.later(time.Second, func(ctx context.Context) { c.hooks.Delivered(ctx, id, sid) })
	}
	if reply != "" && c.hooks.Replied != nil {
		in := outreach.Inbound{SID: fmt.Sprintf("SMsimin%028d", c.seq.Add(1)), From: m.To, Body: reply}
		go c.later(c.delay(), func(ctx context.Context) { c.hooks.Replied(ctx, in) })
	}
	return sid, nil
}

// accept takes a message or call unless ctx has ended (then the outbox tries again): it gives
// it a made-up id that starts like Twilio's (SM, CA), and records it with record, under the
// channel's lock.
func (c *Channel) accept(ctx context.Context, prefix string, record func(sid string)) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &outreach.SendError{Failure: outreach.Retry, Err: err}
	}
	sid := fmt.Sprintf("%ssim%030d", prefix, c.seq.Add(1))
	c.mu.Lock()
	defer c.mu.Unlock()
	record(sid)
	return sid, nil
}

// reply is what the patient texts back to a message of a kind, if anything, and takes it from
// what they have left to say. A nil patient says nothing.
func (p *Patient) reply(kind string) string {
	var next *[]string
	switch {
	case p == nil:
		return ""
	case kind == "question" || kind == "reask":
		next = &p.Replies
	case kind == "staff":
		next = &p.Answers
	case kind == "closing" && p.Asks != "":
		asks := p.Asks
		p.Asks = ""
		return asks
	default:
		return ""
	}
	if len(*next) == 0 {
		return ""
	}
	r := (*next)[0]
	*next = (*next)[1:]
	return r
}

// StartCall accepts the call and returns a made-up id; after a few seconds the simulated
// patient picks up (or not) and answers what the call asks.
func (c *Channel) StartCall(ctx context.Context, call outreach.Call) (string, error) {
	var p *Patient
	sid, err := c.accept(ctx, "CA", func(sid string) {
		c.calls = append(c.calls, Placed{Call: call, SID: sid, At: time.Now()})
		p = c.patients[call.To]
	})
	if err != nil {
		return "", err
	}
	c.log.Info("simulated call placed", "sid", sid)
	if id, err := strconv.ParseInt(callbackParam(call.StatusCallback, "call"), 10, 64); err == nil {
		go c.later(c.delay(), func(ctx context.Context) { c.runCall(ctx, id, sid, p) })
	}
	return sid, nil
}

// maxTurns bounds a simulated call.
const maxTurns = 50

// runCall plays a call: ringing, then no answer, or an answer by the patient or their machine
// and a walk through what the engine says, each Gather answered with the patient's next reply
// (silence when they have none left), and the call's end with its duration.
func (c *Channel) runCall(ctx context.Context, id int64, sid string, p *Patient) {
	h := c.hooks
	report := func(status string, seconds int) {
		if h.CallStatus != nil {
			h.CallStatus(ctx, outreach.CallReport{Call: id, SID: sid, Status: status, Duration: seconds})
		}
	}
	report("ringing", 0)
	c.mu.Lock()
	picksUp := p != nil && (p.Machine || len(p.Replies) > 0)
	machine := p != nil && p.Machine
	c.mu.Unlock()
	if !picksUp || h.Answered == nil || h.Input == nil {
		report("no-answer", 0)
		c.log.Info("simulated call", "sid", sid, "outcome", "no-answer")
		return
	}
	answeredBy := "human"
	if machine {
		answeredBy = "machine_start"
	}
	report("in-progress", 0)
	turn, err := h.Answered(ctx, id, sid, answeredBy)
	seconds, turns := 0, 0
	for ; err == nil && turns < maxTurns; turns++ {
		seconds += speakingTime(turn)
		if turn.Gather == nil {
			break
		}
		var in ivr.Input
		c.mu.Lock()
		if len(p.Replies) > 0 {
			reply := p.Replies[0]
			p.Replies = p.Replies[1:]
			if strings.Trim(reply, "0123456789*#") == "" {
				in.Digits = reply
			} else {
				in.Speech = reply
			}
		}
		c.mu.Unlock()
		if in.Empty() {
			seconds += turn.Gather.Timeout
		}
		turn, err = h.Input(ctx, id, turn.Gather.Step, in)
	}
	if err != nil && ctx.Err() == nil {
		c.log.Error("simulated call failed", "sid", sid, "err", err)
	}
	report("completed", seconds)
	c.log.Info("simulated call", "sid", sid, "answered_by", answeredBy, "turns", turns, "seconds", seconds)
}

// speakingTime is roughly how long a turn takes to say, at two and a half words a second.
func speakingTime(t ivr.Turn) int {
	words := 0
	for _, s := range t.Say {
		words += len(strings.Fields(s))
	}
	if t.Gather != nil {
		words += len(strings.Fields(t.Gather.Prompt))
	}
	return words * 2 / 5
}

// Calls returns the calls placed so far.
func (c *Channel) Calls() []Placed {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Placed(nil), c.calls...)
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

func callbackParam(callback, name string) string {
	u, err := url.Parse(callback)
	if err != nil {
		return ""
	}
	return u.Query().Get(name)
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
