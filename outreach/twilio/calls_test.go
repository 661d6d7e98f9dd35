package twilio_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/twilio"
)

var callSIDPattern = regexp.MustCompile(`^CA[0-9a-f]{32}$`)

func TestStartCall(t *testing.T) {
	f := newFake(t)
	ch := channel(t, f.URL(), time.Second)
	call := outreach.Call{To: to, URL: "https://outreach.example.org/webhooks/twilio/voice/answer?call=5",
		StatusCallback: "https://outreach.example.org/webhooks/twilio/status?call=5"}
	sid, err := ch.StartCall(context.Background(), call)
	if err != nil || !callSIDPattern.MatchString(sid) {
		t.Fatalf("StartCall = %q, %v", sid, err)
	}
	got := f.Calls()
	if len(got) != 1 || got[0].SID != sid {
		t.Fatalf("calls at the provider = %+v, sid %q", got, sid)
	}
	c := got[0]
	if c.To != to || c.From != from || c.URL != call.URL || c.Method != "POST" || c.StatusCallback != call.StatusCallback ||
		c.StatusCallbackMethod != "POST" || c.MachineDetection != "Enable" || c.Timeout != "30" ||
		!slices.Equal(c.StatusCallbackEvent, []string{"initiated", "ringing", "answered", "completed"}) {
		t.Errorf("call request = %+v", c)
	}

	// Without a status callback, none of its parameters is sent.
	if _, err := ch.StartCall(context.Background(), outreach.Call{To: to, URL: call.URL}); err != nil {
		t.Fatal(err)
	}
	if c := f.Calls()[1]; c.StatusCallback != "" || c.StatusCallbackMethod != "" || c.StatusCallbackEvent != nil || c.MachineDetection != "Enable" {
		t.Errorf("call request without a status callback = %+v", c)
	}
	if f.Count() != 0 {
		t.Error("a call went out as a message")
	}
}

func TestStartCallFailures(t *testing.T) {
	tests := []struct {
		name       string
		script     func(*twiliofake.Server)
		failure    outreach.Failure
		code       int
		retryAfter int
		created    bool // the fake holds the call afterwards
	}{
		{"429 from Twilio", func(f *twiliofake.Server) { f.Fail(429, 20429) }, outreach.Retry, 20429, 0, false},
		{"500 from Twilio", func(f *twiliofake.Server) { f.Fail(500, 20500) }, outreach.Retry, 20500, 0, false},
		{"503 page from a proxy", func(f *twiliofake.Server) { f.FailHTML(503, 4) }, outreach.Retry, 503, 4, false},
		{"invalid number", func(f *twiliofake.Server) { f.Fail(400, 21211) }, outreach.Final, 21211, 0, false},
		{"timeout after the request was written", func(f *twiliofake.Server) { f.Hang(5 * time.Second) }, outreach.Ambiguous, 0, 0, true},
		{"connection dropped after the request was written", func(f *twiliofake.Server) { f.Drop() }, outreach.Ambiguous, 0, 0, false},
		{"nothing listening", func(f *twiliofake.Server) { f.Close() }, outreach.Retry, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			tt.script(f)
			_, err := channel(t, f.URL(), 300*time.Millisecond).StartCall(context.Background(),
				outreach.Call{To: to, URL: "https://outreach.example.org/webhooks/twilio/voice/answer?call=1"})
			checkFailure(t, err, tt.failure, tt.code, tt.retryAfter)
			if got := slices.ContainsFunc(f.Calls(), func(c twiliofake.CallRequest) bool { return c.SID != "" }); got != tt.created {
				t.Errorf("call created at the provider: %v, want %v", got, tt.created)
			}
		})
	}

	t.Run("invalid number at the fake", func(t *testing.T) {
		f := newFake(t)
		_, err := channel(t, f.URL(), time.Second).StartCall(context.Background(),
			outreach.Call{To: "555-0100", URL: "https://outreach.example.org/webhooks/twilio/voice/answer?call=1"})
		checkFailure(t, err, outreach.Final, outreach.CodeInvalidTo, 0)
		if strings.Contains(err.Error(), "555-0100") {
			t.Errorf("the error names the number: %v", err)
		}
	})
	t.Run("context done before", func(t *testing.T) {
		f := newFake(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := channel(t, f.URL(), time.Second).StartCall(ctx, outreach.Call{To: to, URL: "https://x.example/a"})
		checkFailure(t, err, outreach.Retry, 0, 0)
		if len(f.Calls()) != 0 {
			t.Error("a call went to the provider with its context done")
		}
	})
	t.Run("no from number", func(t *testing.T) {
		// A messaging service sends texts but cannot place calls.
		f := newFake(t)
		cfg := config(t, f.URL(), time.Second)
		cfg.FromNumber, cfg.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef"
		_, err := twilio.New(cfg).StartCall(context.Background(), outreach.Call{To: to, URL: "https://x.example/a"})
		checkFailure(t, err, outreach.Final, 0, 0)
		if len(f.Calls()) != 0 {
			t.Error("a call went to the provider without a from number")
		}
	})
}
