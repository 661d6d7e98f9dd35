package outreach_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/history"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/staff"
)

// queuedLateInNovember returns a rig whose patient was answered with a text queued a minute
// before the end of November (UTC) and sent in December, the rig's clock then; and the status
// callback URL the text went out with. Both months have their partitions.
func queuedLateInNovember(t *testing.T) (*rig, outreach.SMS) {
	t.Helper()
	r := newRig(t, time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC), quietNight, "")
	if _, err := history.Ensure(context.Background(), r.db, r.clock.Now(), 1); err != nil {
		t.Fatal(err)
	}
	r.patients("M1 +15550700001 America/New_York en -")
	if h := r.receive("+15550700001", "HELP"); h != outreach.HandledHelp {
		t.Fatalf("HELP handled as %q", h)
	}
	r.clock.Add(2 * time.Minute)
	if res := r.dispatch(); res.Sent != 1 {
		t.Fatalf("dispatch = %+v, want one text sent", res)
	}
	if n := r.count("SELECT count(*) FROM messages_p202611 WHERE direction = 'out'"); n != 1 {
		t.Fatalf("November's partition holds %d texts to the patient, want the one queued then", n)
	}
	return r, r.ch.sends()[0]
}

// postStatus posts a delivery report to the status webhook at callback (its path and query).
func postStatus(t *testing.T, e *outreach.Engine, callback, sid, status string) int {
	t.Helper()
	u, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {status}}
	req := httptest.NewRequest(http.MethodPost, u.RequestURI(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := req.ParseForm(); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	e.StatusWebhook(w, req)
	return w.Code
}

func TestStatusCallbackNamesTheMonthTheTextWasQueuedIn(t *testing.T) {
	r, sms := queuedLateInNovember(t)
	id := r.str("SELECT id::text FROM messages WHERE direction = 'out'")
	want := "https://outreach.example.org/webhooks/twilio/status?message=" + id + "&month=2026-11"
	if sms.StatusCallback != want {
		t.Fatalf("status callback = %q, want %q (the month it was queued in, not sent in)", sms.StatusCallback, want)
	}
}

func TestStatusWebhookFindsTheTextWithAndWithoutItsMonth(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query func(q url.Values)
		want  string
	}{
		{"with its month", func(url.Values) {}, "delivered"},
		{"without a month: an older callback URL", func(q url.Values) { q.Del("month") }, "delivered"},
		{"with a month that cannot be read", func(q url.Values) { q.Set("month", "November") }, "delivered"},
		{"with another month: not looked for elsewhere", func(q url.Values) { q.Set("month", "2026-12") }, "sent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, sms := queuedLateInNovember(t)
			u, err := url.Parse(sms.StatusCallback)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			tc.query(q)
			u.RawQuery = q.Encode()
			sid := r.str("SELECT twilio_sid FROM messages WHERE direction = 'out'")
			if code := postStatus(t, r.eng, u.String(), sid, "delivered"); code != http.StatusOK {
				t.Fatalf("status webhook answered %d", code)
			}
			if got := r.str("SELECT status FROM messages WHERE direction = 'out'"); got != tc.want {
				t.Errorf("status = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUpdateStatusByMonth(t *testing.T) {
	r, _ := queuedLateInNovember(t)
	var id int64
	if err := r.db.Get(&id, "SELECT id FROM messages WHERE direction = 'out'"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	december := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if changed, err := r.eng.UpdateStatus(ctx, outreach.Report{Message: id, Month: december, Status: "delivered"}); err != nil || changed {
		t.Fatalf("a report naming December = %v, %v; want no change: the text is November's", changed, err)
	}
	november := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if changed, err := r.eng.UpdateStatus(ctx, outreach.Report{Message: id, Month: november, Status: "delivered"}); err != nil || !changed {
		t.Fatalf("a report naming November = %v, %v; want the text delivered", changed, err)
	}
	if changed, err := r.eng.UpdateStatus(ctx, outreach.Report{Message: id, Status: "sent"}); err != nil || changed {
		t.Fatalf("a late sent, month unknown = %v, %v; want no change", changed, err)
	}
	if got := r.str("SELECT status FROM messages WHERE id = $1", strconv.FormatInt(id, 10)); got != "delivered" {
		t.Errorf("status = %q, want delivered", got)
	}
}

func TestRetriedTextIsRecordedInTheMonthItWasQueuedIn(t *testing.T) {
	r := newRig(t, time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC), quietNight, "")
	if _, err := history.Ensure(context.Background(), r.db, r.clock.Now(), 1); err != nil {
		t.Fatal(err)
	}
	r.patients("M2 +15550700002 America/New_York en -")
	r.receive("+15550700002", "HELP")
	r.clock.Add(2 * time.Minute)
	r.ch.then(fail(outreach.Retry, 0))
	if res := r.dispatch(); res.Retrying != 1 {
		t.Fatalf("dispatch = %+v, want the text queued again", res)
	}
	if got := r.str("SELECT status FROM messages_p202611 WHERE direction = 'out'"); got != "queued" {
		t.Fatalf("after a failure to reach the provider the text is %q, want queued", got)
	}
	r.clock.Add(2 * time.Hour)
	if res := r.dispatch(); res.Sent != 1 {
		t.Fatalf("second dispatch = %+v, want the text sent", res)
	}
	if got := r.str("SELECT status FROM messages_p202611 WHERE direction = 'out'"); got != "sent" {
		t.Errorf("status = %q, want sent", got)
	}
}

// A patient who answers a staff text gets no acknowledgement, however long ago staff wrote: the
// last text they got is looked for in the recent months first, then in all of them.
func TestReplyToAStaffTextOfAnEarlierMonth(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, time.Date(2026, 7, 15, 15, 0, 0, 0, time.UTC), quietNight, "")
	if _, err := history.Ensure(ctx, r.db, r.clock.Now(), 1); err != nil {
		t.Fatal(err)
	}
	r.patients("A1 +15550710001 America/New_York en -", "A2 +15550710002 America/New_York en -")
	if _, err := r.db.Exec(`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'RN1', 'clinical', now(), now())`); err != nil {
		t.Fatal(err)
	}
	var rn1 int64
	if err := r.db.Get(&rn1, `SELECT id FROM staff WHERE ext_id = 'RN1'`); err != nil {
		t.Fatal(err)
	}
	nurse := staff.Identity{PracticeID: 1, StaffID: rn1, Staff: "RN1", Role: "clinical"}
	if _, err := r.eng.SendStaffText(ctx, outreach.Party{Patient: r.id("A1")}, nurse, "Call us when you can."); err != nil {
		t.Fatal(err)
	}
	r.receive("+15550710002", "hello") // acknowledged
	r.dispatch()

	r.clock.Set(time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC))
	if _, err := history.Ensure(ctx, r.db, r.clock.Now(), 1); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		ext, phone string
		acks       int
	}{{"A1", "+15550710001", 0}, {"A2", "+15550710002", 2}} {
		if h := r.receive(p.phone, "thank you"); h != outreach.HandledMessage {
			t.Errorf("%s's text handled as %q", p.ext, h)
		}
		if n := r.count("SELECT count(*) FROM messages WHERE patient_id = $1 AND kind = 'notice'", r.id(p.ext)); n != p.acks {
			t.Errorf("%s got %d acknowledgements, want %d", p.ext, n, p.acks)
		}
	}
}
