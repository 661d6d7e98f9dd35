package twilio_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/twiliofake"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/twilio"
)

func TestStartCall(t *testing.T) {
	f := newFake(t)
	call := outreach.Call{To: to, URL: "https://outreach.example.org/webhooks/twilio/voice/answer?call=5",
		StatusCallback: "https://outreach.example.org/webhooks/twilio/status?call=5"}
	sid, err := channel(t, f.URL(), time.Second).StartCall(context.Background(), call)
	if err != nil {
		t.Fatal(err)
	}
	got := f.Calls()
	if len(got) != 1 || got[0].SID != sid || sid == "" {
		t.Fatalf("calls at the provider = %+v, sid %q", got, sid)
	}
	c := got[0]
	if c.To != to || c.From != from || c.URL != call.URL || c.Method != "POST" || c.StatusCallback != call.StatusCallback ||
		c.StatusCallbackMethod != "POST" || c.MachineDetection != "Enable" || c.Timeout != "30" ||
		!slices.Equal(c.StatusCallbackEvent, []string{"initiated", "ringing", "answered", "completed"}) {
		t.Errorf("call request = %+v", c)
	}
}

func TestStartCallFailures(t *testing.T) {
	tests := []struct {
		name    string
		script  func(*twiliofake.Server)
		failure outreach.Failure
		code    int
	}{
		{"429 from Twilio", func(f *twiliofake.Server) { f.Fail(429, 20429) }, outreach.Retry, 20429},
		{"503 page from a proxy", func(f *twiliofake.Server) { f.FailHTML(503, 0) }, outreach.Retry, 503},
		{"invalid number", func(f *twiliofake.Server) { f.Fail(400, 21211) }, outreach.Final, 21211},
		{"timeout after the request was written", func(f *twiliofake.Server) { f.Hang(5 * time.Second) }, outreach.Ambiguous, 0},
		{"nothing listening", func(f *twiliofake.Server) { f.Close() }, outreach.Retry, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			tt.script(f)
			_, err := channel(t, f.URL(), 300*time.Millisecond).StartCall(context.Background(),
				outreach.Call{To: to, URL: "https://outreach.example.org/webhooks/twilio/voice/answer?call=1"})
			checkFailure(t, err, tt.failure, tt.code, 0)
		})
	}
	// A messaging service sends texts but cannot place calls.
	f := newFake(t)
	cfg := config(t, f.URL(), time.Second)
	cfg.FromNumber, cfg.MessagingServiceSID = "", "MG0123456789abcdef0123456789abcdef"
	_, err := twilio.New(cfg).StartCall(context.Background(), outreach.Call{To: to, URL: "https://x.example/a"})
	checkFailure(t, err, outreach.Final, 0, 0)
	if len(f.Calls()) != 0 {
		t.Error("a call went to the provider without a from number")
	}
}
