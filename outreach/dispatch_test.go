package outreach_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
)

// started returns a rig with one New York patient whose daily check-in is queued.
func started(t *testing.T) *rig {
	t.Helper()
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "0 9 * * *")
	r.patients("S1 +15550600001 America/New_York en daily")
	if res := r.schedule(); res.Created != 1 {
		t.Fatalf("schedule = %+v", res)
	}
	return r
}

func (r *rig) status() string {
	r.t.Helper()
	return r.str("SELECT status FROM messages WHERE direction = 'out' ORDER BY id LIMIT 1")
}

func TestCrashBetweenClaimAndSendDoesNotDoubleSend(t *testing.T) {
	r := started(t)
	// Replica A claims the message and the provider accepts it, but A never records the
	// outcome (it is stuck, or it died).
	stuck := make(chan struct{})
	release := make(chan struct{})
	a := r.engine(r.ch)
	r.ch.then(func(m outreach.SMS) (string, error) {
		close(stuck)
		<-release
		return "SMaccepted000000000000000000000001", nil
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := a.Dispatch(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	<-stuck
	if s := r.status(); s != "sending" {
		t.Fatalf("claimed message is %q, want sending (the claim commits before the send)", s)
	}
	// Replica B, after the lease: the message becomes unknown and is not sent again.
	r.clock.Add(6 * time.Minute)
	if res := r.dispatch(); res.Claimed != 0 {
		t.Fatalf("replica B claimed %d messages", res.Claimed)
	}
	if s := r.status(); s != "unknown" {
		t.Fatalf("after the lease: %q, want unknown", s)
	}
	// The status report settles it.
	var id int64
	if err := r.db.Get(&id, "SELECT id FROM messages"); err != nil {
		t.Fatal(err)
	}
	if changed, err := r.eng.UpdateStatus(context.Background(), outreach.Report{Message: id, SID: "SMaccepted000000000000000000000001", Status: "delivered"}); err != nil || !changed {
		t.Fatalf("UpdateStatus = %v, %v", changed, err)
	}
	close(release)
	<-done
	if s := r.status(); s != "delivered" {
		t.Errorf("after the late outcome: %q, want delivered", s)
	}
	r.clock.Add(time.Hour)
	r.dispatch()
	if n := len(r.ch.sends()); n != 1 {
		t.Errorf("provider got %d sends, want 1", n)
	}
}

func TestUnknownSendsSettledByLookup(t *testing.T) {
	r := started(t)
	r.ch.then(fail(outreach.Ambiguous, 0))
	if res := r.dispatch(); res.Unknown != 1 {
		t.Fatalf("dispatch = %+v, want 1 unknown", res)
	}
	r.clock.Add(5 * time.Minute)
	if res := r.dispatch(); res.Claimed != 0 || res.Settled != 0 {
		t.Fatalf("an unknown send was retried before its lookup: %+v", res)
	}
	// Not found at the provider: it never got there, so it is sent again.
	r.clock.Add(10 * time.Minute)
	res := r.dispatch()
	if res.Settled != 1 || res.Sent != 1 {
		t.Fatalf("dispatch = %+v, want settled and sent", res)
	}
	// Found at the provider: it takes the provider's status and is not sent again.
	r2 := started(t)
	r2.ch.then(fail(outreach.Ambiguous, 0))
	r2.dispatch()
	body := r2.str("SELECT body FROM messages")
	r2.ch.found[body] = &outreach.Found{SID: "SMfound00000000000000000000000001", Status: "delivered"}
	r2.clock.Add(11 * time.Minute)
	if res := r2.dispatch(); res.Settled != 1 || res.Claimed != 0 {
		t.Fatalf("dispatch = %+v", res)
	}
	if s := r2.status(); s != "delivered" {
		t.Errorf("status = %q, want delivered", s)
	}
	if n := len(r2.ch.sends()); n != 0 {
		t.Errorf("sent %d times, want 0 (the provider had it)", n)
	}
}

func TestRetryAfter429ThenSuccess(t *testing.T) {
	r := started(t)
	r.ch.then(func(outreach.SMS) (string, error) {
		return "", &outreach.SendError{Failure: outreach.Retry, Code: 20429, RetryAfter: 120}
	})
	if res := r.dispatch(); res.Retrying != 1 {
		t.Fatalf("dispatch = %+v, want 1 retrying", res)
	}
	var next time.Time
	if err := r.db.Get(&next, "SELECT next_attempt_at FROM messages"); err != nil {
		t.Fatal(err)
	}
	if wait := next.Sub(r.clock.Now()); wait < 120*time.Second || wait > time.Hour {
		t.Errorf("backoff = %v, want at least the 120 s asked for", wait)
	}
	if res := r.dispatch(); res.Claimed != 0 {
		t.Errorf("retried before the backoff: %+v", res)
	}
	r.clock.Set(next)
	if res := r.dispatch(); res.Sent != 1 {
		t.Fatalf("dispatch = %+v, want sent", res)
	}
	if a := r.count("SELECT attempts FROM messages"); a != 2 {
		t.Errorf("attempts = %d, want 2", a)
	}
	if s := r.status(); s != "sent" {
		t.Errorf("status = %q", s)
	}
}

func TestRetriesGiveUp(t *testing.T) {
	r := started(t)
	r.eng.Send.MaxAttempts = 3
	for range 3 {
		r.ch.then(fail(outreach.Retry, 0))
		r.dispatch()
		r.clock.Add(2 * time.Hour)
	}
	if s := r.status(); s != "failed" {
		t.Errorf("after %d retryable failures: %q, want failed", 3, s)
	}
}

func TestFinalProviderCodes(t *testing.T) {
	tests := []struct {
		code              int
		optedOut          bool
		channel           string
		escalations       int
		checkinStatus     string
		scheduledAfterFix bool
	}{
		{code: outreach.CodeUnsubscribed, optedOut: true, channel: "sms", checkinStatus: "cancelled"},
		{code: outreach.CodeInvalidTo, channel: "sms", escalations: 1, checkinStatus: "cancelled"},
		{code: outreach.CodeNotMobile, channel: "voice", checkinStatus: "open"},
		{code: 21408, channel: "sms", checkinStatus: "open"}, // region not enabled: fails, nothing else
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			r := started(t)
			r.ch.then(fail(outreach.Final, tt.code))
			if res := r.dispatch(); res.Failed != 1 {
				t.Fatalf("dispatch = %+v", res)
			}
			if s := r.status(); s != "failed" {
				t.Errorf("message %q, want failed", s)
			}
			if got := r.count("SELECT count(*) FROM patients WHERE opted_out_at IS NOT NULL") == 1; got != tt.optedOut {
				t.Errorf("opted out = %v, want %v", got, tt.optedOut)
			}
			if ch := r.str("SELECT channel FROM patients"); ch != tt.channel {
				t.Errorf("channel = %q, want %q", ch, tt.channel)
			}
			if n := r.count("SELECT count(*) FROM escalations WHERE source = 'invalid_number'"); n != tt.escalations {
				t.Errorf("invalid-number items = %d, want %d", n, tt.escalations)
			}
			if s := r.str("SELECT status FROM checkins"); s != tt.checkinStatus {
				t.Errorf("check-in %q, want %q", s, tt.checkinStatus)
			}
			r.clock.Add(24 * time.Hour)
			r.schedule()
			r.dispatch()
			if tt.optedOut && len(r.ch.sends()) != 0 {
				t.Error("an opted-out patient was texted again")
			}
		})
	}
}

func TestDeliveryReportsMoveForwardOnly(t *testing.T) {
	r := started(t)
	var id int64
	if err := r.db.Get(&id, "SELECT id FROM messages"); err != nil {
		t.Fatal(err)
	}
	report := func(sid, status string, code int) {
		t.Helper()
		if _, err := r.eng.UpdateStatus(context.Background(), outreach.Report{Message: id, SID: sid, Status: status, ErrorCode: code}); err != nil {
			t.Fatal(err)
		}
	}
	// The report can come before the send's own result is recorded.
	stuck := make(chan struct{})
	release := make(chan struct{})
	r.ch.then(func(outreach.SMS) (string, error) {
		close(stuck)
		<-release
		return "SMx0000000000000000000000000000001", nil
	})
	done := make(chan struct{})
	go func() { defer close(done); r.dispatch() }()
	<-stuck
	report("SMx0000000000000000000000000000001", "delivered", 0)
	close(release)
	<-done
	if s := r.status(); s != "delivered" {
		t.Fatalf("status = %q, want delivered", s)
	}
	for _, late := range []string{"sent", "queued", "sending", "failed", "undelivered", "bogus"} {
		report("SMx0000000000000000000000000000001", late, 30003)
		if s := r.status(); s != "delivered" {
			t.Errorf("a late %q turned delivered into %q", late, s)
		}
	}
	// A report with another message's provider id changes nothing.
	if changed, _ := r.eng.UpdateStatus(context.Background(), outreach.Report{Message: id, SID: "SMother", Status: "failed"}); changed {
		t.Error("a report with a foreign sid was applied")
	}
	if sid := r.str("SELECT twilio_sid FROM messages"); sid != "SMx0000000000000000000000000000001" {
		t.Errorf("sid = %q", sid)
	}
}

func TestLandlineReportSwitchesToVoice(t *testing.T) {
	r := started(t)
	r.dispatch()
	sid := r.str("SELECT twilio_sid FROM messages")
	if _, err := r.eng.UpdateStatus(context.Background(), outreach.Report{SID: sid, Status: "undelivered", ErrorCode: outreach.CodeLandline}); err != nil {
		t.Fatal(err)
	}
	if s, ch := r.status(), r.str("SELECT channel FROM patients"); s != "undelivered" || ch != "voice" {
		t.Errorf("status %q, channel %q; want undelivered, voice", s, ch)
	}
}

func TestNothingOlderThanSevenDaysIsSent(t *testing.T) {
	r := started(t)
	r.ch.then(fail(outreach.Retry, 0))
	r.dispatch()
	r.clock.Add(outreach.MaxAge + time.Minute)
	if res := r.dispatch(); res.Expired != 1 || res.Sent != 0 {
		t.Errorf("dispatch = %+v, want the stale message expired", res)
	}
	if s := r.status(); s != "expired" {
		t.Errorf("status = %q", s)
	}
}

// A text still queued when its dispatcher comes back after weeks is older than any claim reads:
// the housekeeping ends it as expired, and it is never sent.
func TestTextsQueuedBeforeALongStopExpire(t *testing.T) {
	r := started(t)
	r.clock.Add(30 * 24 * time.Hour)
	if res := r.dispatch(); res.Expired != 1 || res.Claimed != 0 {
		t.Errorf("dispatch = %+v, want 1 expired and none claimed", res)
	}
	if s := r.status(); s != "expired" {
		t.Errorf("status = %q, want expired", s)
	}
	if n := len(r.ch.sends()); n != 0 {
		t.Errorf("sent %d texts, want 0", n)
	}
}

func TestPacing(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "0 9 * * *")
	r.patients("P1 +15550700001 America/New_York en daily", "P2 +15550700002 America/New_York en daily",
		"P3 +15550700003 America/New_York en daily", "P4 +15550700004 America/New_York en daily",
		"P5 +15550700005 America/New_York en daily")
	r.schedule()
	r.eng.Send.PerSecond = 20
	start := time.Now()
	if res := r.dispatch(); res.Sent != 5 {
		t.Fatalf("dispatch = %+v", res)
	}
	// Five sends at 20 a second span at least four intervals of 50 ms.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("5 sends took %v at 20/s, want at least 200ms", d)
	}
}
