// Package twilio is the outreach Channel implemented with the twilio-go client: messages through
// the REST API, with every failure classified for the dispatcher.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/outreach-engine/outreach/outreach"
)

// Config is what the channel needs.
type Config struct {
	AccountSID          string
	AuthToken           string
	FromNumber          string   // or
	MessagingServiceSID string   //
	APIURL              *url.URL // replaces https://api.twilio.com when set
	Timeout             time.Duration
}

// Channel sends through Twilio.
type Channel struct {
	cfg Config
	api *openapi.ApiService
}

// New returns a channel. Requests go to cfg.APIURL when it is set (a local fake in tests, or a
// Twilio-compatible provider): twilio-go has its base URL built in, so a transport rewrites it.
func New(cfg Config) *Channel {
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	hc := &http.Client{Timeout: cfg.Timeout, Transport: &transport{base: http.DefaultTransport, to: cfg.APIURL}}
	c := &client.Client{Credentials: client.NewCredentials(cfg.AccountSID, cfg.AuthToken), HTTPClient: hc}
	c.SetAccountSid(cfg.AccountSID)
	return &Channel{cfg: cfg, api: openapi.NewApiServiceWithClient(c)}
}

// SendSMS sends one message.
func (ch *Channel) SendSMS(ctx context.Context, m outreach.SMS) (string, error) {
	p := &openapi.CreateMessageParams{}
	p.SetTo(m.To).SetBody(m.Body)
	if ch.cfg.MessagingServiceSID != "" {
		p.SetMessagingServiceSid(ch.cfg.MessagingServiceSID)
	} else {
		p.SetFrom(ch.cfg.FromNumber)
	}
	if m.StatusCallback != "" {
		p.SetStatusCallback(m.StatusCallback)
	}
	// twilio-go takes no context: the HTTP client's timeout bounds the call, and a context
	// already done is not sent at all.
	if err := ctx.Err(); err != nil {
		return "", &outreach.SendError{Failure: outreach.Retry, Err: err}
	}
	// A message Twilio could not deliver within 4 hours is dropped rather than arriving late.
	msg, err := ch.api.CreateMessage(p.SetValidityPeriod(14400))
	if err != nil {
		return "", classify(err)
	}
	if msg.Sid == nil {
		return "", &outreach.SendError{Failure: outreach.Ambiguous, Err: errors.New("the provider accepted the message without an id")}
	}
	return *msg.Sid, nil
}

// classify sorts a twilio-go error into what the dispatcher must do.
func classify(err error) error {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		switch {
		case rest.Status == http.StatusTooManyRequests || rest.Status >= 500:
			return &outreach.SendError{Failure: outreach.Retry, Code: rest.Code, Err: err}
		default:
			return &outreach.SendError{Failure: outreach.Final, Code: rest.Code, Err: err}
		}
	}
	var nw *notWritten
	if errors.As(err, &nw) {
		return &outreach.SendError{Failure: outreach.Retry, Err: err}
	}
	var ra *retryAfter
	if errors.As(err, &ra) {
		return &outreach.SendError{Failure: outreach.Retry, Code: ra.code, RetryAfter: ra.seconds, Err: err}
	}
	// A timeout or broken connection after the request went out, or a body that is not the
	// provider's JSON (a proxy's HTML page): it may have been accepted.
	return &outreach.SendError{Failure: outreach.Ambiguous, Err: err}
}

// notWritten marks a transport error that happened before the request was written: nothing
// reached the provider.
type notWritten struct{ err error }

func (e *notWritten) Error() string { return "request not sent: " + e.err.Error() }
func (e *notWritten) Unwrap() error { return e.err }

// retryAfter is a 429 or 503 answer that is not the provider's JSON error body.
type retryAfter struct {
	code    int
	seconds int
}

func (e *retryAfter) Error() string {
	return fmt.Sprintf("the provider answered %d (retry after %d s)", e.code, e.seconds)
}

// transport rewrites requests to the configured base URL, tells failures before the request was
// written from those after, and reads Retry-After, which twilio-go does not expose.
type transport struct {
	base http.RoundTripper
	to   *url.URL
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.to != nil {
		req = req.Clone(req.Context())
		req.URL.Scheme, req.URL.Host = t.to.Scheme, t.to.Host
		req.Host = t.to.Host
	}
	var wrote atomic.Bool
	if req.Body != nil {
		req.Body = &watchedBody{ReadCloser: req.Body, read: &wrote}
	} else {
		wrote.Store(true)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		var op *net.OpError
		if !wrote.Load() || (errors.As(err, &op) && op.Op == "dial") {
			return nil, &notWritten{err: err}
		}
		return nil, err
	}
	if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) &&
		resp.Header.Get("Content-Type") != "application/json" {
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		return nil, &retryAfter{code: resp.StatusCode, seconds: secs}
	}
	return resp, nil
}

// watchedBody records that the transport started reading the request body, i.e. writing the
// request.
type watchedBody struct {
	io.ReadCloser
	read *atomic.Bool
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.ReadCloser.Read(p)
}
