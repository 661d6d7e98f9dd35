// Package simulator is the outreach Channel that needs no account: it records what would be
// sent (ids and lengths only, never the text) and answers like a provider that accepted it.
package simulator

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/outreach-engine/outreach/outreach"
)

// Channel is a simulated provider.
type Channel struct {
	log  *slog.Logger
	seq  atomic.Int64
	mu   sync.Mutex
	sent []outreach.SMS
}

// New returns a simulated channel that logs each send.
func New(log *slog.Logger) *Channel { return &Channel{log: log} }

// SendSMS accepts the message and returns a made-up id.
func (c *Channel) SendSMS(ctx context.Context, m outreach.SMS) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &outreach.SendError{Failure: outreach.Retry, Err: err}
	}
	sid := fmt.Sprintf("SMsim%030d", c.seq.Add(1))
	c.mu.Lock()
	c.sent = append(c.sent, m)
	c.mu.Unlock()
	c.log.Info("simulated sms", "sid", sid, "chars", len(m.Body))
	return sid, nil
}

// Sent returns the messages sent so far.
func (c *Channel) Sent() []outreach.SMS {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]outreach.SMS(nil), c.sent...)
}
