package outreach_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
)

// monthly returns a rig whose patients' monthly CCM check-in has gone out.
func monthly(t *testing.T, lines ...string) *rig {
	t.Helper()
	r := newRig(t, time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC), quietNight, "0 9 15 * *")
	r.patients(lines...)
	if res := r.schedule(); res.Created != len(lines) {
		t.Fatalf("schedule = %+v", res)
	}
	r.dispatch()
	return r
}

// last returns the body of the last message sent to a phone.
func (r *rig) last(phone string) string {
	r.t.Helper()
	r.dispatch()
	sent := r.ch.sends()
	for i := len(sent) - 1; i >= 0; i-- {
		if sent[i].To == phone {
			return sent[i].Body
		}
	}
	return ""
}

func TestConversationInEnglish(t *testing.T) {
	const phone = "+15550800001"
	r := monthly(t, "E1 "+phone+" America/New_York en -")
	if b := r.last(phone); !strings.Contains(b, "monthly check-in") || !strings.Contains(b, "from 0 (very bad) to 10") {
		t.Fatalf("first message = %q", b)
	}
	steps := []struct{ reply, next string }{
		{"Pretty good, 8", "new or worse symptoms"},
		{"hmm", "YES or NO"}, // re-asked with a hint
		{"Yep!", "what has changed"},
		{"my knee hurts and I feel dizzy", "medicines"},
		{"2", "nurse to call you"},
		{"no thanks", "Thank you!"},
	}
	for _, s := range steps {
		if h := r.receive(phone, s.reply); h != outreach.HandledAnswer {
			t.Fatalf("%q handled as %s", s.reply, h)
		}
		if b := r.last(phone); !strings.Contains(b, s.next) {
			t.Fatalf("after %q: %q, want it to mention %q", s.reply, b, s.next)
		}
	}
	if s := r.str("SELECT status FROM checkins"); s != "completed" {
		t.Errorf("check-in %q, want completed", s)
	}
	var answers []string
	list, err := r.eng.Checkins(context.Background(), r.db, r.id("E1"), 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("Checkins = %+v, %v", list, err)
	}
	for _, a := range list[0].Answers {
		answers = append(answers, a.Question+"="+a.Value)
	}
	want := "overall=8|new_symptoms=yes|symptoms=my knee hurts and I feel dizzy|medicines=missed|call_me=no"
	if got := strings.Join(answers, "|"); got != want {
		t.Errorf("answers in script order = %s, want %s", got, want)
	}
	if list[0].Answers[0].Text != "Pretty good, 8" {
		t.Errorf("the patient's words = %q", list[0].Answers[0].Text)
	}
	var items []string
	if err := r.db.Select(&items, "SELECT severity || ':' || reason FROM escalations ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(items, "; "); got != "high:New symptom that needs a call back; routine:Missed doses" {
		t.Errorf("escalations = %s", got)
	}
}

func TestConversationInSpanishWithEmergency(t *testing.T) {
	const phone = "+15550800002"
	r := monthly(t, "S1 "+phone+" America/New_York es -")
	if b := r.last(phone); !strings.Contains(b, "control mensual") {
		t.Fatalf("first message = %q", b)
	}
	r.receive(phone, "2")
	if b := r.last(phone); !strings.Contains(b, "síntomas nuevos") {
		t.Fatalf("next = %q", b)
	}
	r.receive(phone, "sí, tengo dolor de pecho")
	r.dispatch()
	sent := r.ch.sends()
	var safety bool
	for _, m := range sent {
		if m.Kind == "safety" && strings.Contains(m.Body, "llame al 911") {
			safety = true
		}
	}
	if !safety {
		t.Error("no safety message in Spanish")
	}
	var items []string
	if err := r.db.Select(&items, "SELECT severity || ':' || source FROM escalations ORDER BY severity, id"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(items, " "); got != "high:rule urgent:emergency" {
		t.Errorf("escalations = %s, want the low score (high) and the emergency (urgent)", got)
	}
	if m := r.count("SELECT count(*) FROM messages WHERE kind = 'safety' AND immediate"); m != 1 {
		t.Errorf("safety messages sent immediately = %d", m)
	}
	// The emergency ends the check-in there: a human takes over, no automated question follows.
	if last := sent[len(sent)-1]; last.Kind != "safety" {
		t.Errorf("last message after the emergency is a %s (%q), want the safety message alone", last.Kind, last.Body)
	}
	if s := r.str("SELECT status FROM checkins"); s != "handed_off" {
		t.Errorf("check-in %s, want handed_off", s)
	}
	if s := r.str("SELECT raw FROM checkin_answers WHERE question_id = 'new_symptoms'"); s != "sí, tengo dolor de pecho" {
		t.Errorf("the patient's words kept as %q", s)
	}
	if s := r.str("SELECT details->0->>'text' FROM escalations WHERE source = 'emergency'"); s != "sí, tengo dolor de pecho" {
		t.Errorf("the urgent item carries %q, want the patient's words", s)
	}
	r.clock.Add(30 * time.Hour)
	if _, err := r.eng.FollowUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.dispatch()
	if n := len(r.ch.sends()); n != len(sent) {
		t.Errorf("%d more messages after the hand-off, want none", n-len(sent))
	}
}

func TestUnreadableRepliesGoToAHuman(t *testing.T) {
	const phone = "+15550800003"
	r := monthly(t, "U1 "+phone+" America/New_York en -")
	for range outreach.MaxReasks {
		r.receive(phone, "banana")
		if b := r.last(phone); !strings.Contains(b, "0 to 10") {
			t.Fatalf("re-ask = %q", b)
		}
	}
	r.receive(phone, "banana")
	if b := r.last(phone); !strings.Contains(b, "new or worse symptoms") {
		t.Errorf("after the re-asks: %q, want the next question", b)
	}
	if n := r.count("SELECT count(*) FROM escalations WHERE source = 'unparseable' AND severity = 'routine'"); n != 1 {
		t.Errorf("unparseable items = %d, want 1", n)
	}
	if v := r.str("SELECT value || '|' || raw FROM checkin_answers WHERE question_id = 'overall'"); v != "|banana" {
		t.Errorf("stored %q, want the raw reply without a value", v)
	}
}

func TestDuplicateInboundIsIgnored(t *testing.T) {
	const phone = "+15550800004"
	r := monthly(t, "D1 "+phone+" America/New_York en -")
	in := outreach.Inbound{SID: "SMdup000000000000000000000000000001", From: phone, Body: "7"}
	for i, want := range []outreach.Handled{outreach.HandledAnswer, outreach.HandledDuplicate, outreach.HandledDuplicate} {
		h, err := r.eng.Receive(context.Background(), in)
		if err != nil || h != want {
			t.Fatalf("delivery %d: %s, %v; want %s", i, h, err, want)
		}
	}
	if n := r.count("SELECT count(*) FROM checkin_answers"); n != 1 {
		t.Errorf("answers = %d, want 1", n)
	}
	if n := r.count("SELECT count(*) FROM messages WHERE direction = 'in'"); n != 1 {
		t.Errorf("inbound messages = %d, want 1", n)
	}
}

func TestStopVariantsAndStart(t *testing.T) {
	for _, word := range []string{"STOP", "stop", "Stop.", "STOPALL", "unsubscribe", "Cancel", "END", "quit!", "REVOKE", "OptOut"} {
		t.Run(word, func(t *testing.T) {
			const phone = "+15550900001"
			r := monthly(t, "T1 "+phone+" America/New_York en -", "T2 "+phone+" America/New_York es -")
			if h := r.receive(phone, word); h != outreach.HandledStop {
				t.Fatalf("%q handled as %s", word, h)
			}
			if n := r.count("SELECT count(*) FROM patients WHERE opted_out_at IS NOT NULL AND opt_out_source = 'sms'"); n != 2 {
				t.Errorf("opted out %d patients sharing the number, want 2", n)
			}
			if n := r.count("SELECT count(*) FROM checkins WHERE status = 'open'"); n != 0 {
				t.Errorf("open check-ins after STOP = %d", n)
			}
			before := len(r.ch.sends())
			r.clock.Add(24 * time.Hour)
			r.schedule()
			r.eng.FollowUp(context.Background())
			r.dispatch()
			if n := len(r.ch.sends()); n != before {
				t.Errorf("texted %d times after STOP", n-before)
			}
			if n := r.count("SELECT count(*) FROM audit_log WHERE action = 'patient.opt_out'"); n != 2 {
				t.Errorf("audit entries = %d", n)
			}
		})
	}
	t.Run("START and YES", func(t *testing.T) {
		const phone = "+15550900002"
		r := monthly(t, "T3 "+phone+" America/New_York en -")
		r.receive(phone, "stop")
		if h := r.receive(phone, "5"); h != outreach.HandledMessage {
			t.Errorf("a reply after STOP was %s, want a message for a human", h)
		}
		if h := r.receive(phone, "Start"); h != outreach.HandledStart {
			t.Fatalf("START handled as %s", h)
		}
		if n := r.count("SELECT count(*) FROM patients WHERE opted_out_at IS NULL"); n != 1 {
			t.Error("START did not opt the patient back in")
		}
		r.receive(phone, "STOP")
		if h := r.receive(phone, "yes"); h != outreach.HandledStart {
			t.Errorf("YES after STOP = %s, want start", h)
		}
		// YES from a patient who did not opt out is an answer, not a keyword.
		r.clock.Add(time.Hour)
		if _, err := r.eng.StartNow(context.Background(), outreach.PatientID(r.id("T3")), "daily"); err != nil {
			t.Fatal(err)
		}
		r.dispatch()
		if h := r.receive(phone, "YES"); h != outreach.HandledAnswer {
			t.Errorf("YES in a check-in = %s, want answer", h)
		}
	})
}

func TestHelpAnswersWithThePractice(t *testing.T) {
	const phone = "+15550900003"
	r := monthly(t, "H1 "+phone+" America/New_York es -")
	if h := r.receive(phone, "HELP"); h != outreach.HandledHelp {
		t.Fatalf("HELP = %s", h)
	}
	if b := r.last(phone); !strings.Contains(b, "Maple Clinic") || !strings.Contains(b, "+15550100999") || !strings.Contains(b, "STOP") {
		t.Errorf("HELP reply = %q", b)
	}
	if q := r.str("SELECT question_id FROM checkins"); q != "overall" {
		t.Errorf("HELP moved the conversation to %q", q)
	}
}

func TestMessagesOutsideACheckin(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC), practice.QuietHours{}, "")
	r.patients("M1 +15550900004 America/New_York en -")
	r.receive("+15550900004", "Can someone call me about my refill?")
	r.receive("+15550900004", "Thanks")
	if n := r.count("SELECT firings FROM escalations WHERE source = 'message'"); n != 2 {
		t.Errorf("firings = %d, want one item fired twice", n)
	}
	if s := r.str("SELECT details->1->>'text' FROM escalations WHERE source = 'message'"); s != "Thanks" {
		t.Errorf("the second firing's words = %q", s)
	}
	if n := r.count("SELECT count(*) FROM escalations WHERE unread_since IS NOT NULL"); n != 1 {
		t.Errorf("unread items = %d, want the patient's item", n)
	}
	if n := r.count("SELECT count(*) FROM messages WHERE kind = 'notice'"); n != 1 {
		t.Errorf("acknowledgements = %d, want 1 a day", n)
	}
	r.receive("+15550900004", "I think I'm having a heart attack")
	if n := r.count("SELECT count(*) FROM escalations WHERE severity = 'urgent' AND source = 'emergency'"); n != 1 {
		t.Errorf("urgent items = %d", n)
	}
	if s := r.str("SELECT details->0->>'text' FROM escalations WHERE source = 'emergency'"); s != "I think I'm having a heart attack" {
		t.Errorf("the urgent item's words = %q", s)
	}
}

// A text from a number that matches no patient is kept and read by a human: an item of that
// number, urgent with the safety reply for emergency words; HELP is answered; nothing is dropped.
func TestTextsFromUnknownNumbers(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC), practice.QuietHours{}, "")
	r.patients("M1 +15550900004 America/New_York en -")
	const caregiver, stranger = "+15550900009", "+15550900010"
	if h := r.receive(caregiver, "who is this"); h != outreach.HandledUnknown {
		t.Errorf("unknown number = %s", h)
	}
	r.receive(caregiver, "my mother got your text")
	if h := r.receive(stranger, "I have chest pain and can't breathe"); h != outreach.HandledUnknown {
		t.Errorf("emergency from an unknown number = %s", h)
	}
	r.receive(stranger, "HELP")
	r.dispatch()
	if n := r.count("SELECT count(*) FROM messages WHERE direction = 'in' AND patient_id IS NULL"); n != 4 {
		t.Errorf("stored %d texts from unknown numbers, want 4", n)
	}
	var items []string
	if err := r.db.Select(&items, `SELECT severity || ' ' || phone || ' ' || firings || ' ' || (unread_since IS NOT NULL)
		FROM escalations WHERE patient_id IS NULL ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(items, "; "); got != "routine "+caregiver+" 2 true; urgent "+stranger+" 1 true" {
		t.Errorf("items of unknown numbers: %s", got)
	}
	if s := r.str("SELECT details->0->>'text' FROM escalations WHERE phone = $1", stranger); s != "I have chest pain and can't breathe" {
		t.Errorf("the urgent item's words = %q", s)
	}
	sent := map[string][]string{}
	for _, m := range r.ch.sends() {
		sent[m.To] = append(sent[m.To], m.Kind+": "+m.Body)
	}
	slices.Sort(sent[stranger])
	if got := sent[caregiver]; len(got) != 1 || !strings.HasPrefix(got[0], "notice: Thank you") {
		t.Errorf("sent to the caregiver: %q, want one acknowledgement", got)
	}
	if got := sent[stranger]; len(got) != 2 || !strings.Contains(got[0], "STOP") || !strings.Contains(got[1], "911") {
		t.Errorf("sent to the stranger: %q, want the HELP answer and the safety message", got)
	}
	// The same text delivered again is a duplicate, not a second item firing.
	if h := r.receiveSID("SMagain", caregiver, "again"); h != outreach.HandledUnknown {
		t.Errorf("first delivery = %s", h)
	}
	if h := r.receiveSID("SMagain", caregiver, "again"); h != outreach.HandledDuplicate {
		t.Errorf("redelivery = %s", h)
	}
}

func TestReminderAndExpiry(t *testing.T) {
	const phone = "+15550900005"
	r := monthly(t, "X1 "+phone+" America/New_York en -")
	sentAt := r.clock.Now()
	follow := func() outreach.FollowUpResult {
		t.Helper()
		res, err := r.eng.FollowUp(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	r.clock.Set(sentAt.Add(23*time.Hour + 59*time.Minute))
	if res := follow(); res.Reminded != 0 {
		t.Errorf("reminded early: %+v", res)
	}
	r.clock.Set(sentAt.Add(24 * time.Hour))
	if res := follow(); res.Reminded != 1 {
		t.Errorf("at 24 h: %+v, want a reminder", res)
	}
	if b := r.last(phone); !strings.Contains(b, "Reminder") || !strings.Contains(b, "0 (very bad)") {
		t.Errorf("reminder = %q", b)
	}
	r.clock.Set(sentAt.Add(48 * time.Hour))
	if res := follow(); res.Reminded != 0 {
		t.Errorf("a second reminder: %+v", res)
	}
	r.clock.Set(sentAt.Add(5*24*time.Hour - time.Minute))
	if res := follow(); res.Expired != 0 {
		t.Errorf("expired early: %+v", res)
	}
	r.clock.Set(sentAt.Add(5 * 24 * time.Hour))
	if res := follow(); res.Expired != 1 {
		t.Errorf("at 5 days: %+v, want expired", res)
	}
	if n := r.count("SELECT count(*) FROM escalations WHERE source = 'expired' AND severity = 'routine'"); n != 1 {
		t.Errorf("call-the-patient items = %d", n)
	}
	if h := r.receive(phone, "8"); h != outreach.HandledMessage {
		t.Errorf("a late reply = %s, want a message for a human", h)
	}
}

// A request in plain words to stop the texts opts out, with one confirmation text; words that
// only look like one do not; a doubtful one goes to a human, and the reply goes on.
func TestPlainLanguageOptOut(t *testing.T) {
	const stays, leaves, unsure, outside = "+15550920001", "+15550920002", "+15550920003", "+15550920004"
	r := monthly(t, "P1 "+stays+" America/New_York en -", "P2 "+leaves+" America/New_York es -",
		"P3 "+unsure+" America/New_York en -", "P4 "+outside+" America/New_York en -")
	r.receive(stays, "4")
	r.receive(stays, "yes")
	if h := r.receive(stays, "I stopped my metformin last week"); h != outreach.HandledAnswer {
		t.Errorf("a symptom report with 'stopped' = %s, want an answer", h)
	}
	if h := r.receive(leaves, "Por favor ya no me manden mensajes 🙏"); h != outreach.HandledStop {
		t.Errorf("a request to stop in Spanish = %s", h)
	}
	if h := r.receive(unsure, "who is this? stop"); h != outreach.HandledAnswer {
		t.Errorf("a doubtful reply inside a check-in = %s, want it read as an answer too", h)
	}
	if _, err := r.db.Exec(`UPDATE checkins SET status = 'completed', ended_at = now(), question_id = NULL
		WHERE patient_id = $1`, r.id("P4")); err != nil {
		t.Fatal(err)
	}
	if h := r.receive(outside, "why do you keep texting me"); h != outreach.HandledMessage {
		t.Errorf("a doubtful text outside a check-in = %s", h)
	}
	r.dispatch()
	var opted []string
	if err := r.db.Select(&opted, `SELECT ext_id || ' ' || opt_out_source FROM patients WHERE opted_out_at IS NOT NULL ORDER BY ext_id`); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(opted, ", "); got != "P2 sms" {
		t.Errorf("opted out: %s, want P2 only", got)
	}
	if s := r.str(`SELECT detail->>'how' FROM audit_log WHERE action = 'patient.opt_out'`); s != "plain_language" {
		t.Errorf("the opt-out is audited as %q", s)
	}
	var confirmations []string
	for _, m := range r.ch.sends() {
		if m.Kind == "confirmation" {
			confirmations = append(confirmations, m.To+": "+m.Body)
		}
	}
	if len(confirmations) != 1 || !strings.HasPrefix(confirmations[0], leaves+": No recibirá más mensajes") {
		t.Errorf("confirmations sent: %q, want one, in Spanish, to P2", confirmations)
	}
	if s := r.str(`SELECT status FROM checkins WHERE patient_id = $1`, r.id("P2")); s != "cancelled" {
		t.Errorf("P2's check-in is %s, want cancelled", s)
	}
	var items []string
	if err := r.db.Select(&items, `SELECT p.ext_id || ' ' || e.severity || ' ' || (e.due_at - e.created_at > interval '13 days')
		FROM escalations e JOIN patients p ON p.id = e.patient_id WHERE e.source = 'opt_out_request' ORDER BY p.ext_id`); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(items, ", "); got != "P3 routine true, P4 routine true" {
		t.Errorf("possible opt-out items: %s, want P3's and P4's, due in 10 business days", got)
	}
	if n := r.count(`SELECT count(*) FROM escalations WHERE source = 'message'`); n != 0 {
		t.Errorf("%d message items, want the doubtful text on its own item only", n)
	}
}
