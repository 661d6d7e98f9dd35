package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// TestLoginBurstLeavesWebhooksResponsive: before, 60 logins at once ran 60 bcrypt checks on
// every CPU and a patient's signed text waited 8.6 s for its answer. Now at most a few
// password checks run at once (the rest wait briefly, then get 503 with Retry-After) and the
// webhook answers within 3 s.
func TestLoginBurstLeavesWebhooksResponsive(t *testing.T) {
	ctx := context.Background()
	_, conn := dbtest.Fresh(t)
	fake := newFakeTwilio(t)
	env := twilioEnv(conn, fake)
	patients := "id,first_name,phone,timezone,language,programs,billing_npi,consent_at\nB1,Ana,+15550400001,America/New_York,en,ccm,1111111112,2025-01-01\n"
	if _, _, err := runCmd(t, ctx, env, "import", "patients", writeFile(t, "p.csv", patients)); err != nil {
		t.Fatal(err)
	}
	base := e2eServer(t, env)

	var wg sync.WaitGroup
	codes := make(chan int, 60)
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			form := url.Values{"staff": {fmt.Sprint("NOBODY", i)}, "password": {"wrong password"}}
			resp, err := http.Post(base+"/login", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				t.Error("a busy login without Retry-After")
			}
			codes <- resp.StatusCode
		}()
	}
	time.Sleep(200 * time.Millisecond) // the logins are under way
	start := time.Now()
	code, _ := post(t, base, "/webhooks/twilio/sms", url.Values{"MessageSid": {"SMburst" + strings.Repeat("0", 27)},
		"From": {"+15550400001"}, "To": {"+15550001111"}, "Body": {"feeling fine"}, "AccountSid": {env["TWILIO_ACCOUNT_SID"]}}, nil)
	took := time.Since(start)
	wg.Wait()
	close(codes)
	counts := map[int]int{}
	for c := range codes {
		counts[c]++
	}
	t.Logf("signed webhook answered %d in %v during 60 logins (answers by status: %v)", code, took.Round(time.Millisecond), counts)
	if code != http.StatusOK || took > 3*time.Second {
		t.Errorf("signed webhook during 60 logins: %d in %v, want 200 within 3 s", code, took)
	}
	if counts[http.StatusUnauthorized]+counts[http.StatusServiceUnavailable] != 60 {
		t.Errorf("login answers %v, want 401 or 503 each", counts)
	}
}
