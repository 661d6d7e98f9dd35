package outreach_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/ivr"
)

// voicePatient imports a patient on voice and starts a check-in of the script now; it returns
// the patient's id.
func (r *rig) voicePatient(ext, phone, lang, script string) int64 {
	r.t.Helper()
	r.patients(ext + " " + phone + " America/New_York " + lang + " -")
	id := r.id(ext)
	if _, err := r.db.Exec("UPDATE patients SET channel = 'voice' WHERE id = $1", id); err != nil {
		r.t.Fatal(err)
	}
	if ok, err := r.eng.StartNow(context.Background(), outreach.PatientID(id), script); err != nil || !ok {
		r.t.Fatalf("StartNow = %v, %v", ok, err)
	}
	return id
}

// placedCall dispatches and returns the id of the call just placed, read from its callback URL.
func (r *rig) placedCall() int64 {
	r.t.Helper()
	before := len(r.ch.placed())
	res := r.dispatch()
	if res.Calls.Placed != 1 || len(r.ch.placed()) != before+1 {
		r.t.Fatalf("dispatch = %+v; want one call placed", res)
	}
	return r.lastCall()
}

// lastCall returns the id of the latest call placed, read from its callback URL.
func (r *rig) lastCall() int64 {
	r.t.Helper()
	calls := r.ch.placed()
	if len(calls) == 0 {
		r.t.Fatal("no call placed")
	}
	c := calls[len(calls)-1]
	u, err := url.Parse(c.URL)
	if err != nil || u.Path != "/webhooks/twilio/voice/answer" {
		r.t.Fatalf("call URL = %q", c.URL)
	}
	id, err := strconv.ParseInt(u.Query().Get("call"), 10, 64)
	if err != nil {
		r.t.Fatal(err)
	}
	if want := "https://outreach.example.org/webhooks/twilio/status?call=" + u.Query().Get("call"); c.StatusCallback != want {
		r.t.Errorf("status callback = %q, want %q", c.StatusCallback, want)
	}
	return id
}

func (r *rig) answered(call int64, by string) ivr.Turn {
	r.t.Helper()
	turn, err := r.eng.CallAnswered(context.Background(), call, "", by)
	if err != nil {
		r.t.Fatal(err)
	}
	return turn
}

func (r *rig) input(call int64, step, digits, speech string) ivr.Turn {
	r.t.Helper()
	turn, err := r.eng.CallInput(context.Background(), call, step, ivr.Input{Digits: digits, Speech: speech})
	if err != nil {
		r.t.Fatal(err)
	}
	return turn
}

func (r *rig) callStatus(call int64, status string, seconds int) bool {
	r.t.Helper()
	changed, err := r.eng.UpdateCallStatus(context.Background(), outreach.CallReport{Call: call, Status: status, Duration: seconds})
	if err != nil {
		r.t.Fatal(err)
	}
	return changed
}

func step(t *testing.T, turn ivr.Turn) string {
	t.Helper()
	if turn.Gather == nil {
		t.Fatalf("the call hung up (said %q); want it to listen", turn.Say)
	}
	return turn.Gather.Step
}

func TestVoiceCheckinWholeCall(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), quietNight, "")
	patient := r.voicePatient("V1", "+15550600001", "es", "ccm-monthly")
	if n := r.count("SELECT count(*) FROM messages"); n != 0 {
		t.Errorf("a voice check-in queued %d texts", n)
	}
	call := r.placedCall()
	if ch := r.str("SELECT channel FROM checkins WHERE patient_id = $1", patient); ch != "voice" {
		t.Errorf("check-in channel = %s", ch)
	}

	turn := r.answered(call, "human")
	if step(t, turn) != ivr.StepMenu || turn.Lang != "es" {
		t.Fatalf("answered: %+v; want the menu in Spanish", turn)
	}
	// Silence at the menu says it again.
	turn = r.input(call, ivr.StepMenu, "", "")
	if s := step(t, turn); s != ivr.StepMenu+":2" {
		t.Errorf("after silence at the menu: step %q", s)
	}
	turn = r.input(call, turn.Gather.Step, "1", "")
	if step(t, turn) != "overall" || len(turn.Say) != 1 || turn.Say[0] == "" {
		t.Fatalf("after pressing 1: %+v; want the introduction and the first question", turn)
	}
	turn = r.input(call, "overall", "8", "")
	if step(t, turn) != "new_symptoms" {
		t.Fatalf("after 8: step %q", turn.Gather.Step)
	}
	// No input, then a key it cannot read: the question is asked again each time.
	turn = r.input(call, "new_symptoms", "", "")
	if step(t, turn) != "new_symptoms" || !strings.HasPrefix(turn.Gather.Prompt, "Perdón, no escuché") {
		t.Fatalf("after silence: %+v; want the question again", turn.Gather)
	}
	turn = r.input(call, "new_symptoms", "5", "")
	if step(t, turn) != "new_symptoms" || !strings.HasPrefix(turn.Gather.Prompt, "Perdón, no le entendí") {
		t.Fatalf("after an unreadable key: %+v; want the question again", turn.Gather)
	}
	// A repeated request for a step already passed asks the current question; nothing changes.
	if again := r.input(call, "overall", "2", ""); step(t, again) != "new_symptoms" {
		t.Errorf("stale step: %+v", again)
	}
	turn = r.input(call, "new_symptoms", "", "no")
	if step(t, turn) != "medicines" { // "symptoms" is skipped after "no"
		t.Fatalf("after no: step %q", turn.Gather.Step)
	}
	turn = r.input(call, "medicines", "2", "")
	if step(t, turn) != "call_me" {
		t.Fatalf("after 2: step %q", turn.Gather.Step)
	}
	turn = r.input(call, "call_me", "2", "")
	if turn.Gather != nil || len(turn.Say) == 0 {
		t.Fatalf("after the last answer: %+v; want the closing and a hang-up", turn)
	}
	if s := r.str("SELECT status FROM checkins WHERE patient_id = $1", patient); s != "completed" {
		t.Errorf("check-in %s, want completed", s)
	}
	var answers []struct {
		Q string `db:"question_id"`
		V string `db:"value"`
	}
	if err := r.db.Select(&answers, "SELECT question_id, value FROM checkin_answers ORDER BY answered_at, question_id"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"overall": "8", "new_symptoms": "no", "medicines": "missed", "call_me": "no"}
	if len(answers) != len(want) {
		t.Errorf("answers = %+v", answers)
	}
	for _, a := range answers {
		if want[a.Q] != a.V {
			t.Errorf("answer %s = %q, want %q", a.Q, a.V, want[a.Q])
		}
	}
	if n := r.count("SELECT count(*) FROM escalations WHERE severity = 'routine' AND reason = 'Missed doses'"); n != 1 {
		t.Errorf("missed doses items = %d, want 1", n)
	}

	// Status reports only move forward; the duration is the call's, never staff time.
	if !r.callStatus(call, "completed", 95) {
		t.Error("completed report not applied")
	}
	if r.callStatus(call, "ringing", 0) {
		t.Error("a late ringing report replaced completed")
	}
	if d := r.count("SELECT duration_seconds FROM calls WHERE id = $1", call); d != 95 {
		t.Errorf("duration = %d", d)
	}
	if n := r.count("SELECT count(*) FROM time_entries"); n != 0 {
		t.Errorf("the call created %d time entries", n)
	}
	if n := r.count("SELECT count(*) FROM calls"); n != 1 {
		t.Errorf("calls = %d; a completed check-in is not called again", n)
	}
	views, err := r.eng.Checkins(context.Background(), r.db, patient, 10)
	if err != nil || len(views) != 1 || len(views[0].Calls) != 1 || !views[0].Calls[0].Reached ||
		views[0].Calls[0].DurationSeconds == nil || *views[0].Calls[0].DurationSeconds != 95 {
		t.Errorf("check-in view = %+v, %v", views, err)
	}
}

func TestVoiceUrgentAnswerEndsTheCall(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), quietNight, "")
	patient := r.voicePatient("V2", "+15550600002", "en", "hypertension")
	call := r.placedCall()
	r.answered(call, "human")
	turn := r.input(call, ivr.StepMenu, "", "yes")
	if step(t, turn) != "checked" {
		t.Fatalf("first question = %q", turn.Gather.Step)
	}
	turn = r.input(call, "checked", "1", "")
	turn = r.input(call, step(t, turn), "190*100", "")
	if turn.Gather != nil {
		t.Fatalf("after a crisis reading the call goes on: %+v", turn)
	}
	said := strings.Join(turn.Say, " ")
	if !strings.Contains(said, ivr.Dial911.In("en")) {
		t.Errorf("said %q; want the advice to dial 911", said)
	}
	if s := r.str("SELECT status FROM checkins WHERE patient_id = $1", patient); s != "handed_off" {
		t.Errorf("check-in %s, want handed_off", s)
	}
	if n := r.count("SELECT count(*) FROM escalations WHERE severity = 'urgent' AND status = 'open'"); n != 1 {
		t.Errorf("urgent items = %d, want 1", n)
	}
	if n := r.count("SELECT count(*) FROM messages"); n != 0 {
		t.Errorf("texts queued for a voice patient: %d", n)
	}
	// The end of that call changes nothing more.
	r.callStatus(call, "completed", 40)
	if n := r.count("SELECT count(*) FROM calls"); n != 1 {
		t.Errorf("calls = %d", n)
	}
}

func TestVoiceNurseRequestAndOptOut(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), quietNight, "")
	nurse := r.voicePatient("V3", "+15550600003", "en", "ccm-monthly")
	call := r.placedCall()
	r.answered(call, "human")
	r.input(call, ivr.StepMenu, "1", "")
	r.input(call, "overall", "7", "")
	if turn := r.input(call, "new_symptoms", "0", ""); turn.Gather != nil || len(turn.Say) != 1 {
		t.Fatalf("after 0: %+v; want the acknowledgement and a hang-up", turn)
	}
	if s := r.str("SELECT status FROM checkins WHERE patient_id = $1", nurse); s != "handed_off" {
		t.Errorf("check-in %s, want handed_off", s)
	}
	if n := r.count("SELECT count(*) FROM escalations WHERE patient_id = $1 AND severity = 'routine' AND source = 'call_request'", nurse); n != 1 {
		t.Errorf("call-back items = %d, want 1", n)
	}
	r.callStatus(call, "completed", 30)
	if n := r.count("SELECT count(*) FROM calls WHERE patient_id = $1", nurse); n != 1 {
		t.Errorf("called again after asking for a nurse: %d calls", n)
	}

	stop := r.voicePatient("V4", "+15550600004", "en", "ccm-monthly")
	call = r.placedCall()
	r.answered(call, "human")
	if turn := r.input(call, ivr.StepMenu, "9", ""); turn.Gather != nil {
		t.Fatalf("after 9: %+v", turn)
	}
	if s := r.str("SELECT opt_out_source FROM patients WHERE id = $1", stop); s != "voice" {
		t.Errorf("opt-out source %q", s)
	}
	if s := r.str("SELECT status FROM checkins WHERE patient_id = $1", stop); s != "cancelled" {
		t.Errorf("check-in %s, want cancelled", s)
	}
	r.callStatus(call, "completed", 12)
	r.clock.Add(40 * 24 * time.Hour)
	r.schedule()
	r.dispatch()
	if n := r.count("SELECT count(*) FROM checkins WHERE patient_id = $1", stop); n != 1 {
		t.Errorf("a patient who pressed 9 got another check-in")
	}
}

func TestUnansweredCallsRetryInAllowedHoursThenExpire(t *testing.T) {
	// 14:00 in New York; calls are retried 2 hours after the last one ended, never in quiet hours
	// (21:00-08:00).
	start := time.Date(2026, 12, 1, 19, 0, 0, 0, time.UTC)
	r := newRig(t, start, quietNight, "")
	patient := r.voicePatient("V5", "+15550600005", "en", "ccm-monthly")
	first := r.placedCall()
	r.callStatus(first, "busy", 0)

	r.clock.Add(time.Hour)
	if res := r.dispatch(); res.Calls.Placed != 0 {
		t.Fatalf("called again after an hour: %+v", res)
	}
	r.clock.Set(start.Add(2 * time.Hour))
	second := r.placedCall()
	// An answering machine: a message without health details, and the call counts as unanswered.
	if turn := r.answered(second, "machine_start"); turn.Gather != nil || len(turn.Say) == 0 {
		t.Errorf("answering machine: %+v; want a message and a hang-up", turn)
	}
	// The message ends at 19:30 in New York: the next call falls due at 21:30, in quiet hours, so
	// it waits for 08:00 the next day.
	r.clock.Set(time.Date(2026, 12, 1, 19, 30, 0, 0, newYork))
	r.callStatus(second, "completed", 21)
	r.clock.Set(time.Date(2026, 12, 1, 21, 30, 0, 0, newYork))
	if res := r.dispatch(); res.Calls.Placed != 0 || res.Calls.Deferred != 1 {
		t.Fatalf("in quiet hours: %+v; want the call deferred", res)
	}
	r.clock.Set(time.Date(2026, 12, 2, 7, 59, 0, 0, newYork))
	if res := r.dispatch(); res.Calls.Placed != 0 {
		t.Fatalf("called before 08:00: %+v", res)
	}
	r.clock.Set(time.Date(2026, 12, 2, 8, 0, 0, 0, newYork))
	third := r.placedCall()
	r.callStatus(third, "no-answer", 0)

	if s := r.str("SELECT status FROM checkins WHERE patient_id = $1", patient); s != "expired" {
		t.Errorf("after three unanswered calls the check-in is %s, want expired", s)
	}
	if n := r.count("SELECT count(*) FROM escalations WHERE patient_id = $1 AND source = 'expired' AND severity = 'routine'", patient); n != 1 {
		t.Errorf("call-the-patient items = %d, want 1", n)
	}
	r.clock.Add(3 * time.Hour)
	r.dispatch()
	if n := r.count("SELECT count(*) FROM calls WHERE patient_id = $1", patient); n != 3 {
		t.Errorf("calls = %d, want 3", n)
	}
	var attempts []int
	if err := r.db.Select(&attempts, "SELECT attempt FROM calls ORDER BY attempt"); err != nil || len(attempts) != 3 || attempts[2] != 3 {
		t.Errorf("attempts = %v, %v", attempts, err)
	}
}

func TestHangUpMidwayGoesToStaff(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "")
	patient := r.voicePatient("V6", "+15550600006", "en", "ccm-monthly")
	call := r.placedCall()
	r.answered(call, "human")
	r.input(call, ivr.StepMenu, "1", "")
	r.input(call, "overall", "9", "") // 9 is a number here, not "stop"
	if s := r.str("SELECT value FROM checkin_answers WHERE question_id = 'overall'"); s != "9" {
		t.Errorf("overall = %q, want 9", s)
	}
	r.callStatus(call, "completed", 50)
	if s := r.str("SELECT status FROM checkins WHERE patient_id = $1", patient); s != "expired" {
		t.Errorf("check-in %s after a hang-up, want expired", s)
	}
	if n := r.count("SELECT count(*) FROM calls"); n != 1 {
		t.Errorf("a patient who hung up was called again by the machine")
	}
	if n := r.count("SELECT count(*) FROM escalations WHERE source = 'expired'"); n != 1 {
		t.Errorf("call-the-patient items = %d, want 1", n)
	}
}

func TestTextsFallBackToCalls(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "0 9 1 * *")
	r.patients("L1 +15550700001 America/New_York en daily", "L2 +15550700002 America/New_York en daily")
	r.schedule()
	// 21614 when sending: not a mobile number.
	r.ch.then(fail(outreach.Final, outreach.CodeNotMobile))
	r.ch.then(nil)
	// The same pass calls the patient whose text failed.
	res := r.dispatch()
	if res.Failed != 1 || res.Sent != 1 || res.Calls.Placed != 1 {
		t.Fatalf("dispatch = %+v", res)
	}
	landline := r.str("SELECT p.ext_id FROM messages m JOIN patients p ON p.id = m.patient_id WHERE m.status = 'failed'")
	if ch := r.str("SELECT channel FROM patients WHERE ext_id = $1", landline); ch != "voice" {
		t.Errorf("patient channel after 21614 = %s", ch)
	}
	if ch := r.str("SELECT c.channel FROM checkins c JOIN patients p ON p.id = c.patient_id WHERE p.ext_id = $1", landline); ch != "voice" {
		t.Errorf("check-in channel after 21614 = %s", ch)
	}
	call := r.lastCall()
	r.answered(call, "human")
	if turn := r.input(call, ivr.StepMenu, "1", ""); step(t, turn) != "ok" {
		t.Errorf("the call does not go on from the question the text asked: %+v", turn)
	}

	// 30006 in a delivery report: the other patient's check-in is called too.
	var msg int64
	if err := r.db.Get(&msg, "SELECT id FROM messages WHERE status = 'sent'"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.eng.UpdateStatus(context.Background(), outreach.Report{Message: msg, Status: "undelivered", ErrorCode: outreach.CodeLandline}); err != nil {
		t.Fatal(err)
	}
	r.placedCall()
	if n := r.count("SELECT count(*) FROM patients WHERE channel = 'voice'"); n != 2 {
		t.Errorf("patients on voice = %d, want 2", n)
	}
}

func TestCallPlacementFailures(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "")
	r.voicePatient("V7", "+15550600007", "en", "ccm-monthly")
	r.ch.callPlan = []error{
		&outreach.SendError{Failure: outreach.Retry, Code: 20429, RetryAfter: 60},
		&outreach.SendError{Failure: outreach.Ambiguous},
	}
	if res := r.dispatch(); res.Calls.Retrying != 1 {
		t.Fatalf("dispatch = %+v; want the call queued again", res)
	}
	r.clock.Add(30 * time.Second)
	if res := r.dispatch(); res.Calls.Placed != 0 {
		t.Fatalf("retried before Retry-After: %+v", res)
	}
	r.clock.Add(time.Hour)
	if res := r.dispatch(); res.Calls.Unknown != 1 {
		t.Fatalf("dispatch = %+v; want the call in doubt", res)
	}
	// No status report within the settle time: counted as a call that did not reach the patient.
	r.clock.Add(r.eng.Send.SettleAfter)
	r.dispatch()
	if s := r.str("SELECT status FROM calls WHERE attempt = 1"); s != "failed" {
		t.Errorf("call in doubt is %s, want failed", s)
	}
	if n := r.count("SELECT count(*) FROM calls WHERE attempt = 2 AND status = 'queued'"); n != 1 {
		t.Errorf("second call not queued")
	}
	// 21211: the number is not valid; the check-in is cancelled and staff correct the number.
	r.clock.Add(2 * time.Hour)
	r.ch.callPlan = []error{&outreach.SendError{Failure: outreach.Final, Code: outreach.CodeInvalidTo}}
	if res := r.dispatch(); res.Calls.Failed != 1 {
		t.Fatalf("dispatch = %+v", res)
	}
	if s := r.str("SELECT status FROM checkins"); s != "cancelled" {
		t.Errorf("check-in %s, want cancelled", s)
	}
	if n := r.count("SELECT count(*) FROM escalations WHERE source = 'invalid_number'"); n != 1 {
		t.Errorf("invalid number items = %d", n)
	}
}

// A call whose claim outlived its holder (a crash between the claim and the provider's answer)
// may have been placed: it is never placed again blindly, it waits in doubt for its status
// report, and without one it counts as a call that did not reach the patient.
func TestCallClaimOfAVanishedHolderExpiresIntoDoubt(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "")
	r.voicePatient("V8", "+15550600008", "en", "ccm-monthly")
	if _, err := r.db.Exec("UPDATE calls SET status = 'sending', tries = 1, lease_until = $1",
		r.clock.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if res := r.dispatch(); res.Calls.Placed != 0 || len(r.ch.placed()) != 0 {
		t.Fatalf("dispatch = %+v; the call in doubt was placed again", res)
	}
	if s := r.str("SELECT status FROM calls WHERE attempt = 1"); s != "unknown" {
		t.Errorf("call whose claim expired is %s, want unknown", s)
	}
	r.clock.Add(r.eng.Send.SettleAfter)
	if res := r.dispatch(); len(r.ch.placed()) != 0 || r.count("SELECT count(*) FROM calls WHERE status = 'failed'") != 1 {
		t.Errorf("dispatch = %+v, calls placed %d; want the call in doubt counted as not answered", res, len(r.ch.placed()))
	}
}
