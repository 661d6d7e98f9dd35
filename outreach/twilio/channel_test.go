package twilio_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/twilio"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "secret0token1"
)

// fake is a Twilio REST API that answers each message creation with the next scripted handler,
// or accepts it.
type fake struct {
	mu    sync.Mutex
	next  []http.HandlerFunc
	forms []url.Values
	srv   *httptest.Server
}

func newFake(t *testing.T) *fake {
	f := &fake{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != sid || p != token {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodGet && r.URL.Path == "/2010-04-01/Accounts/"+sid+"/Messages.json" {
			f.list(w, r)
			return
		}
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Messages.json" {
			http.NotFound(w, r)
			return
		}
		r.ParseForm()
		f.mu.Lock()
		var h http.HandlerFunc
		if len(f.next) > 0 {
			h, f.next = f.next[0], f.next[1:]
		}
		if h == nil {
			f.forms = append(f.forms, r.PostForm)
		}
		n := len(f.forms)
		f.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": fmt.Sprintf("SM%032d", n), "status": "queued",
			"to": r.PostForm.Get("To"), "body": r.PostForm.Get("Body")})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var msgs []map[string]any
	for i, m := range f.forms {
		if m.Get("To") == r.URL.Query().Get("To") {
			msgs = append(msgs, map[string]any{"sid": fmt.Sprintf("SM%032d", i+1), "status": "delivered", "to": m.Get("To"), "body": m.Get("Body")})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"messages": msgs, "next_page_uri": nil, "page": 0, "page_size": 50})
}

func (f *fake) then(h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = append(f.next, h)
}

func twilioError(status, code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"code": %d, "message": "refused", "more_info": "https://www.twilio.com/docs/errors/%d", "status": %d}`, code, code, status)
	}
}

func channel(t *testing.T, base string, timeout time.Duration) *twilio.Channel {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, FromNumber: "+15550001111", APIURL: u, Timeout: timeout})
}

func TestSendSMS(t *testing.T) {
	f := newFake(t)
	ch := channel(t, f.srv.URL, 2*time.Second)
	got, err := ch.SendSMS(context.Background(), outreach.SMS{To: "+15550002222", Body: "Hello", StatusCallback: "https://x.example/webhooks/twilio/status?message=7"})
	if err != nil || got != fmt.Sprintf("SM%032d", 1) {
		t.Fatalf("SendSMS = %q, %v", got, err)
	}
	form := f.forms[0]
	for k, want := range map[string]string{"To": "+15550002222", "From": "+15550001111", "Body": "Hello",
		"StatusCallback": "https://x.example/webhooks/twilio/status?message=7", "ValidityPeriod": "14400"} {
		if form.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, form.Get(k), want)
		}
	}
	u, _ := url.Parse(f.srv.URL)
	svc := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, MessagingServiceSID: "MG0123456789abcdef0123456789abcdef", APIURL: u})
	if _, err := svc.SendSMS(context.Background(), outreach.SMS{To: "+15550002222", Body: "Hi"}); err != nil {
		t.Fatal(err)
	}
	if f.forms[1].Get("MessagingServiceSid") == "" || f.forms[1].Get("From") != "" {
		t.Errorf("messaging service send = %v", f.forms[1])
	}
	found, err := ch.FindSMS(context.Background(), "+15550002222", "Hello", time.Now().Add(-time.Hour))
	if err != nil || found == nil || found.SID != fmt.Sprintf("SM%032d", 1) || found.Status != "delivered" {
		t.Errorf("FindSMS = %+v, %v", found, err)
	}
	if found, err := ch.FindSMS(context.Background(), "+15550002222", "never sent", time.Now()); err != nil || found != nil {
		t.Errorf("FindSMS of an unknown body = %+v, %v", found, err)
	}
}

func TestSendFailuresAreClassified(t *testing.T) {
	tests := []struct {
		name       string
		answer     http.HandlerFunc
		failure    outreach.Failure
		code       int
		retryAfter int
	}{
		{"429 from Twilio", twilioError(429, 20429), outreach.Retry, 20429, 0},
		{"500", twilioError(500, 20500), outreach.Retry, 20500, 0},
		{"503 page from a proxy", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(503)
			fmt.Fprint(w, "<html>busy</html>")
		}, outreach.Retry, 503, 7},
		{"unsubscribed", twilioError(400, 21610), outreach.Final, 21610, 0},
		{"invalid number", twilioError(400, 21211), outreach.Final, 21211, 0},
		{"not a mobile", twilioError(400, 21614), outreach.Final, 21614, 0},
		{"timeout after the request was written", func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(700 * time.Millisecond)
		}, outreach.Ambiguous, 0, 0},
		{"connection dropped after the request was written", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}, outreach.Ambiguous, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.then(tt.answer)
			_, err := channel(t, f.srv.URL, 300*time.Millisecond).SendSMS(context.Background(), outreach.SMS{To: "+15550002222", Body: "x"})
			se := outreach.AsSendError(err)
			if err == nil || se.Failure != tt.failure || se.Code != tt.code || se.RetryAfter != tt.retryAfter {
				t.Errorf("error = %v (failure %d, code %d, retry after %d); want failure %d, code %d, retry after %d",
					err, se.Failure, se.Code, se.RetryAfter, tt.failure, tt.code, tt.retryAfter)
			}
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		_, err = channel(t, "http://"+addr, time.Second).SendSMS(context.Background(), outreach.SMS{To: "+15550002222", Body: "x"})
		if se := outreach.AsSendError(err); err == nil || se.Failure != outreach.Retry {
			t.Errorf("error = %v, want a retryable failure (the request was never written)", err)
		}
	})
}

func TestVerify(t *testing.T) {
	// Twilio's published example.
	params := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"}}
	const good = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
	tests := []struct {
		name   string
		public string
		target string
		form   url.Values
		sig    string
		want   int
	}{
		{"published example", "https://mycompany.com", "/myapp.php?foo=1&bar=2", params, good, 200},
		{"wrong signature", "https://mycompany.com", "/myapp.php?foo=1&bar=2", params, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", 403},
		{"missing signature", "https://mycompany.com", "/myapp.php?foo=1&bar=2", params, "", 403},
		{"tampered parameter", "https://mycompany.com", "/myapp.php?foo=1&bar=2",
			url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"9999"}, "From": {"+14158675309"}, "To": {"+18005551212"}}, good, 403},
		{"another host", "https://evil.example", "/myapp.php?foo=1&bar=2", params, good, 403},
		{"oversized body", "https://mycompany.com", "/myapp.php?foo=1&bar=2", url.Values{"Body": {strings.Repeat("x", 70000)}}, good, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, _ := url.Parse(tt.public)
			reached := false
			h := twilio.Verify("12345", pub)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = r.PostForm.Get("From") == "+14158675309"
			}))
			target := tt.target
			req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.sig != "" {
				req.Header.Set("X-Twilio-Signature", tt.sig)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want || reached != (tt.want == 200) {
				t.Errorf("status %d, handler reached %v; want %d", rec.Code, reached, tt.want)
			}
		})
	}
	t.Run("behind a path prefix", func(t *testing.T) {
		// Twilio calls https://example.org/outreach/webhooks/twilio/sms; the proxy strips /outreach.
		form := url.Values{"MessageSid": {"SM1"}, "From": {"+15550002222"}, "Body": {"yes"}}
		sig := sign("12345", "https://example.org/outreach/webhooks/twilio/sms", form)
		pub, _ := url.Parse("https://example.org/outreach")
		req := httptest.NewRequest(http.MethodPost, "/webhooks/twilio/sms", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		rec := httptest.NewRecorder()
		reached := false
		twilio.Verify("12345", pub)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true })).ServeHTTP(rec, req)
		if rec.Code != 200 || !reached {
			t.Errorf("status %d, reached %v", rec.Code, reached)
		}
	})
	t.Run("no token", func(t *testing.T) {
		pub, _ := url.Parse("https://mycompany.com")
		req := httptest.NewRequest(http.MethodPost, "/myapp.php?foo=1&bar=2", strings.NewReader(params.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", good)
		rec := httptest.NewRecorder()
		twilio.Verify("", pub)(http.NotFoundHandler()).ServeHTTP(rec, req)
		if rec.Code != 403 {
			t.Errorf("status %d, want 403", rec.Code)
		}
	})
}

// sign computes a signature as Twilio does: HMAC-SHA1 over the URL and the sorted parameters.
func sign(token, u string, params url.Values) string {
	keys := slices.Sorted(maps.Keys(params))
	var b strings.Builder
	b.WriteString(u)
	for _, k := range keys {
		b.WriteString(k + params.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
