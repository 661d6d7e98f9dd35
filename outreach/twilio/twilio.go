// Package twilio is the outreach Channel implemented with the twilio-go client: messages through
// the REST API, with every failure classified for the dispatcher.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/outreach-engine/outreach/outreach"
)

// Config is what the channel needs.
type Config struct {
	AccountSID          string
	AuthToken           string   // letters and digits only: twilio-go refuses others before sending
	FromNumber          string   // the sender, unless
	MessagingServiceSID string   // a messaging service picks it
	APIURL              *url.URL // replaces https://api.twilio.com when set (scheme, host and any path prefix)
	Timeout             time.Duration
}

// Channel sends through Twilio. It is safe for concurrent use.
type Channel struct {
	cfg  Config
	base http.RoundTripper
}

// New returns a channel. Requests go to cfg.APIURL when it is set (a local fake in tests, or a
// Twilio-compatible provider): twilio-go has its base URL built in, so a transport rewrites it.
// A zero Timeout means 15 seconds.
func New(cfg Config) *Channel {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	return &Channel{cfg: cfg, base: newTransport()}
}

// idleConnsPerHost is how many connections to the provider stay open between requests: as
// many as sends may be in flight, so that a busy dispatcher reuses them instead of opening
// (and, over TLS, negotiating) a new connection for most requests, as net/http's default of 2
// would make it.
const idleConnsPerHost = 64

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idleConnsPerHost
	t.MaxIdleConns = idleConnsPerHost
	return t
}

// service returns a twilio-go API whose requests carry ctx and are recorded in at. twilio-go takes no context and, on an http.Client timeout, net/http replaces the
// transport's error with a string: what happened to the request is read from at instead of the
// error chain. A service is cheap (three small structs); connections are pooled by base.
func (ch *Channel) service(ctx context.Context, at *attempt) *openapi.ApiService {
	hc := &http.Client{
		Transport: &transport{base: ch.base, to: ch.cfg.APIURL, ctx: ctx, at: at},
		// As twilio-go's own client: a redirect is an answer, not something to follow with a GET.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	c := &client.Client{Credentials: client.NewCredentials(ch.cfg.AccountSID, ch.cfg.AuthToken), HTTPClient: hc}
	c.SetAccountSid(ch.cfg.AccountSID)
	return openapi.NewApiServiceWithClient(c)
}

// SendSMS sends one message. Errors are *outreach.SendError; their text carries no phone number
// or message body.
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
	// A message Twilio could not deliver within 4 hours is dropped rather than arriving late.
	p.SetValidityPeriod(14400)
	return ch.create(ctx, "message", func(api *openapi.ApiService) (*string, error) {
		msg, err := api.CreateMessage(p)
		if err != nil {
			return nil, err
		}
		return msg.Sid, nil
	})
}

// create runs one creation request (what: "message" or "call") under the channel's timeout and
// returns the sid of what it created. A context already done sends nothing. Errors are
// *outreach.SendError.
func (ch *Channel) create(ctx context.Context, what string, do func(*openapi.ApiService) (sid *string, err error)) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &outreach.SendError{Failure: outreach.Retry, Err: fmt.Errorf("%s not started: %w", what, err)}
	}
	ctx, cancel := context.WithTimeout(ctx, ch.cfg.Timeout)
	defer cancel()
	at := &attempt{}
	sid, err := do(ch.service(ctx, at))
	if err != nil {
		return "", classify(err, at)
	}
	if sid == nil || *sid == "" {
		return "", &outreach.SendError{Failure: outreach.Ambiguous, Err: fmt.Errorf("the provider accepted the %s without an id", what)}
	}
	return *sid, nil
}

const (
	// lookupSlack widens a lookup's window for clocks that disagree.
	lookupSlack = time.Minute
	// lookupLimit bounds how many of a number's newest messages a lookup reads: far more than a
	// patient is sent between a send and its lookup.
	lookupLimit = 200
)

// FindSMS looks for the message to `to` with exactly this body created since `since` (less a
// minute of slack). It lists the number's newest messages with no date filter: Twilio's filters
// are on date_sent, which stays null while a message waits in Twilio's queue, so a filtered
// lookup misses a message accepted but not yet sent, and the text would go twice. The time is
// checked here on date_created: an identical text sent yesterday (a daily check-in) must not
// settle today's. Among several matches the earliest is the one a send at `since` created. It
// returns nil when the provider has none.
func (ch *Channel) FindSMS(ctx context.Context, to, body string, since time.Time) (*outreach.Found, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lookup not started: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, ch.cfg.Timeout)
	defer cancel()
	from := since.Add(-lookupSlack).UTC()
	p := &openapi.ListMessageParams{}
	p.SetTo(to).SetPageSize(100).SetLimit(lookupLimit)
	msgs, err := ch.service(ctx, &attempt{}).ListMessage(p)
	if err != nil {
		return nil, fmt.Errorf("error listing messages at the provider: %w", scrub(err))
	}
	var found *outreach.Found
	var foundAt time.Time
	for _, m := range msgs {
		if m.Sid == nil || m.Body == nil || *m.Body != body {
			continue
		}
		created, ok := parseDate(m.DateCreated)
		if ok && created.Before(from) {
			continue
		}
		if found == nil || (ok && created.Before(foundAt)) {
			found, foundAt = &outreach.Found{SID: *m.Sid}, created
			if m.Status != nil {
				found.Status = *m.Status
			}
		}
	}
	return found, nil
}

// parseDate reads Twilio's RFC 2822 dates.
func parseDate(s *string) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC1123Z, time.RFC1123} {
		if t, err := time.Parse(layout, *s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// classify sorts a twilio-go error into what the dispatcher must do, from the error chain and
// from what the transport saw of the request (at).
func classify(err error, at *attempt) *outreach.SendError {
	answered := at.status.Load() != 0
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		switch {
		case !answered:
			// twilio-go refused before sending (credentials with characters it rejects): nothing
			// left, and a fixed configuration sends it.
			return &outreach.SendError{Failure: outreach.Retry, Code: rest.Code,
				Err: &scrubbed{msg: fmt.Sprintf("twilio-go refused to send (error %d: check the credentials)", rest.Code), err: err}}
		case rest.Status == http.StatusTooManyRequests || rest.Status >= 500:
			return &outreach.SendError{Failure: outreach.Retry, Code: rest.Code, RetryAfter: int(at.retryAfter.Load()), Err: scrub(err)}
		default:
			return &outreach.SendError{Failure: outreach.Final, Code: rest.Code, Err: scrub(err)}
		}
	}
	var ra *retryAfter
	if errors.As(err, &ra) {
		return &outreach.SendError{Failure: outreach.Retry, Code: ra.code, RetryAfter: ra.seconds, Err: scrub(err)}
	}
	var nw *notWritten
	if errors.As(err, &nw) || (!at.mayHaveSent() && !answered) {
		return &outreach.SendError{Failure: outreach.Retry, Err: scrub(err)}
	}
	// A timeout or broken connection after the request went out, or an answer that is not the
	// provider's JSON (a proxy's 502 or 504 page): it may have been accepted.
	return &outreach.SendError{Failure: outreach.Ambiguous, Err: scrub(err)}
}

// scrub returns err with a text free of patient details: Twilio's error messages may quote the
// number ("The 'To' number +1… is not valid"), and net/http's errors quote the URL, whose query
// holds the number for a lookup. The original stays reachable with errors.As.
func scrub(err error) error {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		return &scrubbed{msg: fmt.Sprintf("the provider answered %d with error %d", rest.Status, rest.Code), err: err}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		where := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.Fragment, u.User = "", "", nil
			where = u.String()
		} else if i := strings.IndexByte(where, '?'); i >= 0 {
			where = where[:i]
		}
		return &scrubbed{msg: fmt.Sprintf("%s %s: %v", ue.Op, where, ue.Err), err: err}
	}
	return err
}

// scrubbed is an error whose text was rewritten without patient details.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// attempt is what the transport saw of one call's requests. Only its last request counts.
type attempt struct {
	conn       atomic.Bool  // the transport got a connection (dialled, TLS done, or reused)
	wrote      atomic.Bool  // the request body started going out (set at once for a request without one)
	status     atomic.Int32 // the HTTP status of the answer; 0 when none came
	retryAfter atomic.Int32 // seconds, from the answer's Retry-After
}

// mayHaveSent reports whether any of the request can have reached the other end. Until the
// transport has a connection and reads the body, nothing went out: a dial, DNS or TLS failure
// comes before, and the headers wait in the transport's buffer until the body is written.
func (at *attempt) mayHaveSent() bool { return at.conn.Load() && at.wrote.Load() }

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

// transport rewrites requests to the configured base URL, attaches the call's context, tells
// failures before the request was written from those after, and reads Retry-After, which
// twilio-go does not expose.
type transport struct {
	base http.RoundTripper
	to   *url.URL
	ctx  context.Context
	at   *attempt
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(t.ctx) // a RoundTripper must not modify its request
	if t.to != nil {
		req.URL.Scheme, req.URL.Host = t.to.Scheme, t.to.Host
		req.Host = ""
		if prefix := strings.TrimSuffix(t.to.Path, "/"); prefix != "" && !strings.HasPrefix(req.URL.Path, prefix+"/") {
			req.URL.Path, req.URL.RawPath = prefix+req.URL.Path, ""
		}
	}
	at := t.at
	at.conn.Store(false)
	at.wrote.Store(false)
	at.status.Store(0)
	at.retryAfter.Store(0)
	trace := &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { at.conn.Store(true) }}
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &watchedBody{ReadCloser: req.Body, read: &at.wrote}
	} else {
		// A GET: the connection tells. net/http tries an idempotent request again on a new
		// connection when a kept one turns out closed; only the last connection counts.
		at.wrote.Store(true)
		trace.GetConn = func(string) { at.conn.Store(false) }
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		if !at.mayHaveSent() {
			return nil, &notWritten{err: err}
		}
		return nil, err
	}
	secs := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	at.status.Store(int32(resp.StatusCode))
	at.retryAfter.Store(int32(secs))
	if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && !isJSON(resp.Header) {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) //nolint:errcheck // draining for reuse
		resp.Body.Close()
		return nil, &retryAfter{code: resp.StatusCode, seconds: secs}
	}
	return resp, nil
}

// isJSON reports whether an answer is JSON, as Twilio's errors are ("application/json", with or
// without a charset).
func isJSON(h http.Header) bool {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// parseRetryAfter reads a Retry-After header, in seconds or as an HTTP date; 0 when absent or
// unreadable, at most a day.
func parseRetryAfter(v string, now time.Time) int {
	if v == "" {
		return 0
	}
	secs, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		t, err := http.ParseTime(v)
		if err != nil {
			return 0
		}
		secs = int((t.Sub(now) + time.Second - 1) / time.Second)
	}
	return min(max(secs, 0), 24*60*60)
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
