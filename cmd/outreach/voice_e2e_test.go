package main

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/testsupport/twiliofake"
)

// gatherOf parses TwiML and returns the Gather's action ("" after a hang-up) and what was said.
func gatherOf(t *testing.T, doc string) (action, said string) {
	t.Helper()
	var r struct {
		Say    []string `xml:"Say"`
		Gather *struct {
			Action string   `xml:"action,attr"`
			Say    []string `xml:"Say"`
		} `xml:"Gather"`
		Hangup *struct{} `xml:"Hangup"`
	}
	if err := xml.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatalf("TwiML: %v\n%s", err, doc)
	}
	said = strings.Join(r.Say, " ")
	if r.Gather == nil {
		if r.Hangup == nil {
			t.Errorf("TwiML neither listens nor hangs up: %s", doc)
		}
		return "", said
	}
	return strings.TrimPrefix(r.Gather.Action, e2ePublic), said + " " + strings.Join(r.Gather.Say, " ")
}

func TestVoiceCheckinEndToEnd(t *testing.T) {
	ctx := context.Background()
	d, conn := dbtest.Fresh(t)
	fake := twiliofake.New("AC"+strings.Repeat("0", 31)+"1", e2eToken)
	t.Cleanup(fake.Close)
	env := map[string]string{
		"DATABASE_URL": conn, "TWILIO_ACCOUNT_SID": "AC" + strings.Repeat("0", 31) + "1",
		"TWILIO_AUTH_TOKEN": e2eToken, "TWILIO_FROM_NUMBER": "+15550001111", "TWILIO_API_URL": fake.URL(),
		"OUTREACH_PUBLIC_URL": e2ePublic, "OUTREACH_SEND_RATE": "0", "OUTREACH_PRACTICE_NAME": "Maple Clinic",
	}
	patients := "id,phone,timezone,language,channel,programs,billing_npi,consent_at\n" +
		"VO1,+15550300001,America/New_York,en,voice,ccm,1111111112,2025-01-01\n" +
		"LL1,+15550300002,America/New_York,es,sms,ccm,1111111112,2025-01-01\n"
	if _, _, err := runCmd(t, ctx, env, "import", "patients", writeFile(t, "p.csv", patients)); err != nil {
		t.Fatal(err)
	}
	// The text to LL1 is refused as not a mobile: LL1 moves to voice and is called in the same run.
	fake.Fail(400, 21614)
	out, _, err := runCmd(t, ctx, env, "checkins", "run", "--at", "2026-12-01T15:00:00Z")
	if err != nil || !strings.Contains(out, "2 started") || !strings.Contains(out, "calls: 2 placed") {
		t.Fatalf("checkins run: %q, %v", out, err)
	}
	if n := countRows(t, d, "SELECT count(*) FROM patients WHERE channel = 'voice'"); n != 2 {
		t.Errorf("patients on voice = %d, want 2", n)
	}
	calls := fake.Calls()
	if len(calls) != 2 {
		t.Fatalf("calls at Twilio = %d", len(calls))
	}
	var answerPath, statusPath, callSID string
	for _, c := range calls {
		if c.MachineDetection != "Enable" || !strings.HasPrefix(c.URL, e2ePublic+"/webhooks/twilio/voice/answer?call=") {
			t.Errorf("call = %+v", c)
		}
		if c.To == "+15550300001" {
			answerPath, statusPath, callSID = strings.TrimPrefix(c.URL, e2ePublic), strings.TrimPrefix(c.StatusCallback, e2ePublic), c.SID
		}
	}

	base := e2eServer(t, env)
	code, doc := post(t, base, answerPath, url.Values{"CallSid": {callSID}, "AnsweredBy": {"human"}}, nil)
	if code != http.StatusOK {
		t.Fatalf("answer: %d %s", code, doc)
	}
	action, said := gatherOf(t, doc)
	if !strings.Contains(said, "Maple Clinic") || !strings.Contains(said, "press 1") {
		t.Errorf("greeting = %q", said)
	}
	// The whole call: the menu, a scale by keypad, silence, yes/no by voice, a choice, the last answer.
	steps := []url.Values{
		{"Digits": {"1"}},
		{"Digits": {"8#"}},
		{},
		{"SpeechResult": {"No."}},
		{"Digits": {"1"}},
		{"Digits": {"2"}},
	}
	for i, form := range steps {
		if action == "" {
			t.Fatalf("the call hung up before step %d", i)
		}
		form.Set("CallSid", callSID)
		code, doc = post(t, base, action, form, nil)
		if code != http.StatusOK {
			t.Fatalf("step %d: %d %s", i, code, doc)
		}
		action, said = gatherOf(t, doc)
	}
	if action != "" || !strings.Contains(said, "Thank you") {
		t.Errorf("after the last answer: action %q, said %q", action, said)
	}
	if n := countRows(t, d, "SELECT count(*) FROM checkin_answers a JOIN checkins c ON c.id = a.checkin_id JOIN patients p ON p.id = c.patient_id WHERE p.ext_id = 'VO1'"); n != 4 {
		t.Errorf("answers = %d, want 4", n)
	}
	if n := countRows(t, d, "SELECT count(*) FROM checkins c JOIN patients p ON p.id = c.patient_id WHERE p.ext_id = 'VO1' AND c.status = 'completed'"); n != 1 {
		t.Error("the check-in is not completed")
	}
	// The call's status report, with its duration.
	if code, _ := post(t, base, statusPath, url.Values{"CallSid": {callSID}, "CallStatus": {"completed"}, "CallDuration": {"83"}}, nil); code != http.StatusOK {
		t.Fatalf("status: %d", code)
	}
	if n := countRows(t, d, "SELECT duration_seconds FROM calls k JOIN patients p ON p.id = k.patient_id WHERE p.ext_id = 'VO1'"); n != 83 {
		t.Errorf("duration = %d", n)
	}
	// A forged input changes nothing.
	bad := "bm90IGEgc2lnbmF0dXJl"
	if code, _ := post(t, base, answerPath, url.Values{"AnsweredBy": {"human"}}, &bad); code != http.StatusForbidden {
		t.Errorf("unsigned voice webhook: %d", code)
	}
}
