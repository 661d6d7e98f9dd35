package twilio_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/twilio"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "secret0token1"
	from  = "+15550001111"
	to    = "+15550002222"
)

var sidPattern = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

func newFake(t *testing.T) *twiliofake.Server {
	s := twiliofake.New(sid, token)
	t.Cleanup(s.Close)
	return s
}

func config(t *testing.T, base string, timeout time.Duration) twilio.Config {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return twilio.Config{AccountSID: sid, AuthToken: token, FromNumber: from, APIURL: u, Timeout: timeout}
}

func channel(t *testing.T, base string, timeout time.Duration) *twilio.Channel {
	return twilio.New(config(t, base, timeout))
}

var _ outreach.Channel = (*twilio.Channel)(nil)

func TestSendSMS(t *testing.T) {
	f := newFake(t)
	ch := channel(t, f.URL(), 2*time.Second)
	const callback = "https://x.example/webhooks/twilio/status?message=7"
	got, err := ch.SendSMS(context.Background(), outreach.SMS{To: to, Body: "Hello", StatusCallback: callback, Kind: "question"})
	if err != nil || !sidPattern.MatchString(got) {
		t.Fatalf("SendSMS = %q, %v", got, err)
	}
	reqs := f.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the fake saw %d requests", len(reqs))
	}
	r := reqs[0]
	if r.SID != got || r.To != to || r.From != from || r.MessagingServiceSid != "" || r.Body != "Hello" ||
		r.StatusCallback != callback || r.ValidityPeriod != "14400" {
		t.Errorf("request = %+v", r)
	}
	if r.Form.Has("Kind") || strings.Contains(r.Form.Encode(), "question") {
		t.Errorf("the message kind went to the provider: %v", r.Form)
	}

	t.Run("messaging service", func(t *testing.T) {
		cfg := config(t, f.URL(), 2*time.Second)
		cfg.MessagingServiceSID = "MG0123456789abcdef0123456789abcdef"
		got, err := twilio.New(cfg).SendSMS(context.Background(), outreach.SMS{To: to, Body: "Hi"})
		if err != nil || !sidPattern.MatchString(got) {
			t.Fatalf("SendSMS = %q, %v", got, err)
		}
		r := f.Requests()[1]
		if r.MessagingServiceSid != cfg.MessagingServiceSID || r.From != "" || r.Form.Has("From") || r.Form.Has("StatusCallback") {
			t.Errorf("request = %+v", r)
		}
	})
}

func TestSendFailuresAreClassified(t *testing.T) {
	tests := []struct {
		name       string
		script     func(*twiliofake.Server)
		failure    outreach.Failure
		code       int
		retryAfter int
		created    bool // the fake holds the message afterwards
	}{
		{"429 from Twilio", func(f *twiliofake.Server) { f.Fail(429, 20429) }, outreach.Retry, 20429, 0, false},
		{"500 from Twilio", func(f *twiliofake.Server) { f.Fail(500, 20500) }, outreach.Retry, 20500, 0, false},
		{"503 page from a proxy", func(f *twiliofake.Server) { f.FailHTML(503, 7) }, outreach.Retry, 503, 7, false},
		{"429 page from a proxy", func(f *twiliofake.Server) { f.FailHTML(429, 0) }, outreach.Retry, 429, 0, false},
		{"504 page from a proxy", func(f *twiliofake.Server) { f.FailHTML(504, 0) }, outreach.Ambiguous, 0, 0, false},
		{"unsubscribed", func(f *twiliofake.Server) { f.Fail(400, 21610) }, outreach.Final, 21610, 0, false},
		{"invalid number", func(f *twiliofake.Server) { f.Fail(400, 21211) }, outreach.Final, 21211, 0, false},
		{"not a mobile", func(f *twiliofake.Server) { f.Fail(400, 21614) }, outreach.Final, 21614, 0, false},
		{"timeout after the request was written", func(f *twiliofake.Server) { f.Hang(5 * time.Second) }, outreach.Ambiguous, 0, 0, true},
		{"connection dropped after the request was written", func(f *twiliofake.Server) { f.Drop() }, outreach.Ambiguous, 0, 0, false},
		{"nothing listening", func(f *twiliofake.Server) { f.Close() }, outreach.Retry, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			tt.script(f)
			start := time.Now()
			_, err := channel(t, f.URL(), 300*time.Millisecond).SendSMS(context.Background(), outreach.SMS{To: to, Body: "x"})
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("the send took %v with a timeout of 300ms", d)
			}
			checkFailure(t, err, tt.failure, tt.code, tt.retryAfter)
			if got := len(f.Messages()) == 1; got != tt.created {
				t.Errorf("message created at the provider: %v, want %v", got, tt.created)
			}
		})
	}
}

// checkFailure checks err is a *SendError of that class, code and delay, whose text names no
// patient detail.
func checkFailure(t *testing.T, err error, failure outreach.Failure, code, retryAfter int) {
	t.Helper()
	se, ok := err.(*outreach.SendError)
	if !ok {
		t.Fatalf("error %T %v, want *outreach.SendError", err, err)
	}
	if se.Failure != failure || se.Code != code || se.RetryAfter != retryAfter {
		t.Errorf("error = %v (failure %d, code %d, retry after %d); want failure %d, code %d, retry after %d",
			err, se.Failure, se.Code, se.RetryAfter, failure, code, retryAfter)
	}
	if strings.Contains(err.Error(), to) || strings.Contains(err.Error(), url.QueryEscape(to)) {
		t.Errorf("the error names the patient's number: %v", err)
	}
}

func TestSendContext(t *testing.T) {
	f := newFake(t)
	ch := channel(t, f.URL(), 5*time.Second)

	t.Run("done before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := ch.SendSMS(ctx, outreach.SMS{To: to, Body: "x"})
		checkFailure(t, err, outreach.Retry, 0, 0)
		if f.Count() != 0 {
			t.Errorf("the fake saw %d requests", f.Count())
		}
	})
	t.Run("deadline while waiting for the answer", func(t *testing.T) {
		f.Hang(5 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := ch.SendSMS(ctx, outreach.SMS{To: to, Body: "x"})
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("the send ignored its context for %v", d)
		}
		checkFailure(t, err, outreach.Ambiguous, 0, 0)
	})
}

func TestSendRefusedCredentials(t *testing.T) {
	// twilio-go refuses a token with an underscore before sending anything.
	f := newFake(t)
	cfg := config(t, f.URL(), time.Second)
	cfg.AuthToken = "test_token"
	_, err := twilio.New(cfg).SendSMS(context.Background(), outreach.SMS{To: to, Body: "x"})
	checkFailure(t, err, outreach.Retry, 21224, 0)
	if f.Count() != 0 {
		t.Errorf("the fake saw %d requests", f.Count())
	}
}

func TestFindSMS(t *testing.T) {
	f := newFake(t)
	ch := channel(t, f.URL(), 2*time.Second)
	since := time.Now()
	sent, err := ch.SendSMS(context.Background(), outreach.SMS{To: to, Body: "How are you today?"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.SendSMS(context.Background(), outreach.SMS{To: "+15550003333", Body: "Other patient"}); err != nil {
		t.Fatal(err)
	}
	found, err := ch.FindSMS(context.Background(), to, "How are you today?", since)
	if err != nil || found == nil || found.SID != sent || found.Status != "queued" {
		t.Errorf("FindSMS = %+v, %v; want %s queued", found, err, sent)
	}
	f.SetStatus(sent, "delivered")
	if found, err := ch.FindSMS(context.Background(), to, "How are you today?", since); err != nil || found == nil || found.Status != "delivered" {
		t.Errorf("FindSMS after delivery = %+v, %v", found, err)
	}
	for _, c := range []struct{ to, body string }{{to, "never sent"}, {to, "How are you today"}, {"+15550004444", "How are you today?"}} {
		if found, err := ch.FindSMS(context.Background(), c.to, c.body, since); err != nil || found != nil {
			t.Errorf("FindSMS(%q) = %+v, %v; want nothing", c.body, found, err)
		}
	}
	f.FailLookup(500, 20500)
	if found, err := ch.FindSMS(context.Background(), to, "How are you today?", since); err == nil || found != nil {
		t.Errorf("FindSMS with the provider failing = %+v, %v", found, err)
	}
}

// TestSettleATimedOutSend is the case lookups exist for: the provider accepted a message but the
// answer came too late; the message is found.
func TestSettleATimedOutSend(t *testing.T) {
	f := newFake(t)
	ch := channel(t, f.URL(), 200*time.Millisecond)
	since := time.Now()
	f.Hang(5 * time.Second)
	_, err := ch.SendSMS(context.Background(), outreach.SMS{To: to, Body: "Your weight today?"})
	checkFailure(t, err, outreach.Ambiguous, 0, 0)
	found, err := ch.FindSMS(context.Background(), to, "Your weight today?", since)
	if err != nil || found == nil || found.SID != f.Messages()[0].SID {
		t.Errorf("FindSMS = %+v, %v", found, err)
	}
}

// TestSettleAQueuedSend: the answer was lost and the message still waits in Twilio's queue, with
// no date_sent; the lookup finds it all the same, so it is not sent a second time.
func TestSettleAQueuedSend(t *testing.T) {
	f := newFake(t)
	f.SetSendAfter(-1) // Twilio's queue is backed up: nothing leaves it during the test
	ch := channel(t, f.URL(), 200*time.Millisecond)
	since := time.Now()
	f.Hang(5 * time.Second)
	_, err := ch.SendSMS(context.Background(), outreach.SMS{To: to, Body: "Your weight today?"})
	checkFailure(t, err, outreach.Ambiguous, 0, 0)
	found, err := ch.FindSMS(context.Background(), to, "Your weight today?", since)
	if err != nil || found == nil || found.SID != f.Messages()[0].SID || found.Status != "queued" {
		t.Errorf("FindSMS = %+v, %v; want the queued message", found, err)
	}
}

func TestVerify(t *testing.T) {
	// Twilio's published example.
	params := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"}}
	const good = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	tampered := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"9999"},
		"From": {"+14158675309"}, "To": {"+18005551212"}}
	prefixed := url.Values{"MessageSid": {"SM1"}, "From": {"+15550002222"}, "Body": {"yes"}}
	tests := []struct {
		name   string
		token  string
		public string // "" for none
		target string
		form   url.Values
		sig    string
		want   int
	}{
		{"published example", "12345", "https://mycompany.com", "/myapp.php?foo=1&bar=2", params, good, 200},
		{"public URL with a trailing slash", "12345", "https://mycompany.com/", "/myapp.php?foo=1&bar=2", params, good, 200},
		{"wrong signature", "12345", "https://mycompany.com", "/myapp.php?foo=1&bar=2", params, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", 403},
		{"missing signature", "12345", "https://mycompany.com", "/myapp.php?foo=1&bar=2", params, "", 403},
		{"tampered parameter", "12345", "https://mycompany.com", "/myapp.php?foo=1&bar=2", tampered, good, 403},
		{"tampered query", "12345", "https://mycompany.com", "/myapp.php?foo=2&bar=2", params, good, 403},
		{"another host", "12345", "https://evil.example", "/myapp.php?foo=1&bar=2", params, good, 403},
		{"another token", "54321", "https://mycompany.com", "/myapp.php?foo=1&bar=2", params, good, 403},
		{"no token", "", "https://mycompany.com", "/myapp.php?foo=1&bar=2", params, good, 403},
		{"no public URL", "12345", "", "/myapp.php?foo=1&bar=2", params, good, 403},
		{"oversized body", "12345", "https://mycompany.com", "/myapp.php?foo=1&bar=2", url.Values{"Body": {strings.Repeat("x", 70000)}}, good, 413},
		{"behind a path prefix", "12345", "https://example.org/outreach", "/webhooks/twilio/sms", prefixed,
			twiliofake.Sign("12345", "https://example.org/outreach/webhooks/twilio/sms", prefixed), 200},
		{"prefix left out", "12345", "https://example.org", "/webhooks/twilio/sms", prefixed,
			twiliofake.Sign("12345", "https://example.org/outreach/webhooks/twilio/sms", prefixed), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var pub *url.URL
			if tt.public != "" {
				var err error
				if pub, err = url.Parse(tt.public); err != nil {
					t.Fatal(err)
				}
			}
			var reached url.Values
			h := twilio.Verify(tt.token, pub)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = r.PostForm
			}))
			req := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.sig != "" {
				req.Header.Set("X-Twilio-Signature", tt.sig)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want || (reached != nil) != (tt.want == 200) {
				t.Fatalf("status %d, handler reached %v; want %d", rec.Code, reached != nil, tt.want)
			}
			if tt.want == 200 && reached.Encode() != tt.form.Encode() {
				t.Errorf("the handler found the form %v, want %v", reached, tt.form)
			}
			if tt.want != 200 && (rec.Body.Len() == 0 || rec.Body.Len() > 100 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain")) {
				t.Errorf("refusal body %q (%s)", rec.Body, rec.Header().Get("Content-Type"))
			}
		})
	}

	t.Run("a value appended to a signed form", func(t *testing.T) {
		form := url.Values{"From": {"+15550002222"}, "Body": {"yes"}}
		sig := twiliofake.Sign("12345", "https://example.org/webhooks/twilio/sms", form)
		pub, _ := url.Parse("https://example.org")
		req := httptest.NewRequest(http.MethodPost, "/webhooks/twilio/sms", strings.NewReader(form.Encode()+"&Body=STOP"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		var bodies, all []string
		twilio.Verify("12345", pub)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			bodies, all = r.PostForm["Body"], r.Form["Body"]
		})).ServeHTTP(httptest.NewRecorder(), req)
		if strings.Join(bodies, ",") != "yes" || strings.Join(all, ",") != "yes" {
			t.Errorf("the handler found Body %q (Form %q), want only the signed value", bodies, all)
		}
	})
}

// TestUnreachableAddress sends to an address nothing listens on, without the fake.
func TestUnreachableAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = channel(t, "http://"+addr, time.Second).SendSMS(context.Background(), outreach.SMS{To: to, Body: "x"})
	checkFailure(t, err, outreach.Retry, 0, 0)
}
