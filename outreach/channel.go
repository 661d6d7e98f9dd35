package outreach

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// SMS is a text message to send.
type SMS struct {
	To             string // E.164
	Body           string
	StatusCallback string // where delivery reports go; carries the message id
	Kind           string // question, reminder, safety, …: for the simulator; never sent
}

// Call is a phone call to place.
type Call struct {
	To             string // E.164
	URL            string // where the provider asks what to say once the call is answered
	StatusCallback string // where the call's progress is reported; carries the call id
}

// Found is a message the provider has on record.
type Found struct {
	SID    string
	Status string // the provider's status: queued, sent, delivered, undelivered, failed, …
}

// Channel sends messages: Twilio, or the simulator.
type Channel interface {
	// SendSMS sends a message and returns the provider's id for it. Errors are *SendError.
	SendSMS(ctx context.Context, m SMS) (sid string, err error)
	// FindSMS looks up a message to `to` with this body created at or after since, to settle a
	// send whose outcome is unknown. It returns nil when the provider has no such message.
	FindSMS(ctx context.Context, to, body string, since time.Time) (*Found, error)
	// StartCall places a call, with answering-machine detection, and returns the provider's id
	// for it. Errors are *SendError.
	StartCall(ctx context.Context, c Call) (sid string, err error)
}

// Failure classifies a failed send by what the dispatcher must do next.
type Failure int

// Failures.
const (
	// Retry: the request never reached the provider, or it answered 429 or 5xx. Safe to send
	// again after a backoff.
	Retry Failure = iota + 1
	// Final: the provider refused the message for good (unsubscribed, invalid number, …).
	Final
	// Ambiguous: the request may have been accepted (a timeout after it was written). Sending
	// again could double it; the status callback or a lookup settles it.
	Ambiguous
)

// Provider error codes the engine acts on.
const (
	CodeUnsubscribed = 21610 // the recipient texted STOP to this sender
	CodeInvalidTo    = 21211 // not a valid phone number
	CodeNotMobile    = 21614 // not a mobile number: call instead
	CodeLandline     = 30006 // delivery report: landline or unreachable carrier
)

// SendError is a failed send.
type SendError struct {
	Failure    Failure
	Code       int // the provider's error code, when it gave one
	RetryAfter int // seconds the provider asked to wait, when it said
	Err        error
}

func (e *SendError) Error() string {
	kind := map[Failure]string{Retry: "retryable", Final: "final", Ambiguous: "ambiguous"}[e.Failure]
	if e.Code != 0 {
		return fmt.Sprintf("%s send failure (code %d): %v", kind, e.Code, e.Err)
	}
	return fmt.Sprintf("%s send failure: %v", kind, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// AsSendError returns err as a *SendError; an unclassified error is ambiguous.
func AsSendError(err error) *SendError {
	var se *SendError
	if errors.As(err, &se) {
		return se
	}
	return &SendError{Failure: Ambiguous, Err: err}
}
