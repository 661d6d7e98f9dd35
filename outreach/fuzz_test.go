package outreach_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/practice"
)

// FuzzSMSWebhook posts any text from a patient in a conversation (or from any number) to the
// inbound handler: it never panics, answers 200 or 400, and stores valid text.
func FuzzSMSWebhook(f *testing.F) {
	for _, seed := range []string{"STOP", "yes", "8", "sí, me duele el pecho", "\x00\xff", "<script>alert(1)</script>",
		"'; DROP TABLE patients; --", string(make([]byte, 3000)), "START", "HELP", "🤒", ""} {
		f.Add(seed, true)
	}
	f.Add("hello", false)
	r := newRig(f, time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC), practice.QuietHours{}, "")
	seq := 0
	f.Fuzz(func(t *testing.T, body string, known bool) {
		r.t = t
		seq++
		from := "+15551110000"
		if !known {
			from = fmt.Sprintf("+1555%07d", seq)
		}
		if seq%5 == 1 { // keep a conversation going
			r.patients(fmt.Sprintf("F%d %s America/New_York en -", seq, from))
			r.clock.Add(time.Minute)
		}
		form := url.Values{"MessageSid": {fmt.Sprintf("SMfuzz%026d", seq)}, "From": {from}, "Body": {body}}
		req := httptest.NewRequest(http.MethodPost, "/webhooks/twilio/sms", nil)
		req.PostForm = form
		rec := httptest.NewRecorder()
		r.eng.SMSWebhook(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%q: status %d: %s", body, rec.Code, rec.Body)
		}
	})
}
