package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// conversationRig is "serve" against the fake Twilio, with a patient C1, a nurse RN1 and a front
// desk FD1 (who may read but not write to patients), each with a token.
type conversationRig struct {
	t      *testing.T
	d      *sqlx.DB
	fake   *fakeTwilio
	base   string
	nurse  apiClient
	front  apiClient
	inSeq  int
	before int // texts the fake Twilio had got at the last wait
}

const (
	convPatient   = "+15550300001"
	convCaregiver = "+15550399999"
)

func newConversationRig(t *testing.T) *conversationRig {
	ctx := context.Background()
	d, conn := dbtest.Fresh(t)
	fake := newFakeTwilio(t)
	env := twilioEnv(conn, fake)
	env["OUTREACH_QUIET_HOURS"] = "off"
	// A yearly check-in three days from now: its last slot is a year old, past the catch-up, and
	// no scheduler tick during the test starts one, so the patient's texts are questions, not
	// answers.
	dir := t.TempDir()
	env["OUTREACH_SCRIPTS_DIR"] = dir
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	slot := time.Now().In(ny).AddDate(0, 0, 3)
	writeFileAt(t, dir, "yearly.yaml", fmt.Sprintf(`
id: yearly
schedule: "0 10 %d %d *"
languages: [en]
intro: {en: "Your check-in."}
questions:
  - id: feel
    type: scale
    text: {en: "How do you feel today, from 0 to 10?"}
closing: {en: "Thank you."}
`, slot.Day(), int(slot.Month())))
	patients := "id,first_name,phone,timezone,language,programs,billing_npi,consent_at,script\nC1,Cora," + convPatient + ",America/New_York,en,ccm,1111111112,2025-01-01,yearly\n"
	staffCSV := "id,name,credential,role\nRN1,Rita,RN,clinical\nFD1,Fred,,non_clinical\n"
	for kind, content := range map[string]string{"staff": staffCSV, "patients": patients} {
		if _, _, err := runCmd(t, ctx, env, "import", kind, writeFile(t, kind+".csv", content)); err != nil {
			t.Fatal(err)
		}
	}
	r := &conversationRig{t: t, d: d, fake: fake, base: e2eServer(t, env)}
	for _, s := range []struct {
		id string
		c  *apiClient
	}{{"RN1", &r.nurse}, {"FD1", &r.front}} {
		token, _, err := runCmd(t, ctx, env, "staff", "token", s.id)
		if err != nil {
			t.Fatal(err)
		}
		*s.c = apiClient{t: t, base: r.base, token: strings.TrimSpace(token)}
	}
	return r
}

// text delivers a signed text from a number, as Twilio does.
func (r *conversationRig) text(from, body string) {
	r.t.Helper()
	r.inSeq++
	form := url.Values{"MessageSid": {fmt.Sprintf("SMconv%026d", r.inSeq)}, "From": {from}, "To": {"+15550001111"}, "Body": {body}}
	if code, resp := post(r.t, r.base, "/webhooks/twilio/sms", form, nil); code != http.StatusOK {
		r.t.Fatalf("text from %s: %d %s", from, code, resp)
	}
}

// sentTo waits for the fake Twilio to get n more texts, and returns those to a number.
func (r *conversationRig) waitSent(n int) []url.Values {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(r.fake.sent()) < r.before+n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	sent := r.fake.sent()
	if len(sent) < r.before+n {
		r.t.Fatalf("Twilio got %d texts, want %d more than %d", len(sent), n, r.before)
	}
	got := sent[r.before:]
	r.before = len(sent)
	return got
}

func (r *conversationRig) items() []map[string]any {
	r.t.Helper()
	code, body := r.nurse.do("GET", "/api/v1/escalations", "")
	var items []map[string]any
	if err := json.Unmarshal([]byte(body), &items); err != nil || code != http.StatusOK {
		r.t.Fatalf("items: %d %s", code, body)
	}
	return items
}

func (r *conversationRig) thread(patient string) []map[string]any {
	r.t.Helper()
	code, body := r.nurse.do("GET", "/api/v1/patients/"+patient+"/messages", "")
	var msgs []map[string]any
	if err := json.Unmarshal([]byte(body), &msgs); err != nil || code != http.StatusOK {
		r.t.Fatalf("messages of %s: %d %s", patient, code, body)
	}
	return msgs
}

// TestConversationEndToEnd: a patient's question reaches the nurse on an item, the nurse answers
// through the API and Twilio, the patient's answer joins the same item; a caregiver's emergency
// from an unknown number is kept, answered with the safety message and attached to the patient.
func TestConversationEndToEnd(t *testing.T) {
	r := newConversationRig(t)
	r.text(convPatient, "Can I take ibuprofen with my new pills?")
	if ack := r.waitSent(1); ack[0].Get("To") != convPatient || !strings.Contains(ack[0].Get("Body"), "Your care team will read") {
		t.Errorf("acknowledgement = %v", ack[0])
	}
	items := r.items()
	if len(items) != 1 || items[0]["patient"] != "C1" || items[0]["unread"] != true || items[0]["severity"] != "routine" {
		t.Fatalf("items = %v", items)
	}
	item := fmt.Sprintf("/api/v1/escalations/%v", items[0]["id"])
	code, body := r.nurse.do("GET", item, "")
	if code != http.StatusOK || !strings.Contains(body, `"text":"Can I take ibuprofen with my new pills?"`) {
		t.Errorf("item: %d %s", code, body)
	}
	if r.items()[0]["unread"] != false {
		t.Error("the item is still unread after the nurse read it")
	}

	// The nurse answers; the front desk may not.
	reply := `{"body": "Please use acetaminophen instead; ibuprofen raises blood pressure."}`
	if code, body := r.front.do("POST", "/api/v1/patients/C1/messages", reply); code != http.StatusForbidden {
		t.Errorf("front desk text: %d %s", code, body)
	}
	for _, bad := range []string{`{"body": "   "}`, fmt.Sprintf(`{"body": %q}`, strings.Repeat("x", 1601)), `{"text": "hi"}`} {
		if code, _ := r.nurse.do("POST", "/api/v1/patients/C1/messages", bad); code != http.StatusBadRequest {
			t.Errorf("bad body %.30s: %d, want 400", bad, code)
		}
	}
	if code, _ := r.nurse.do("POST", "/api/v1/patients/NOPE/messages", reply); code != http.StatusNotFound {
		t.Errorf("unknown patient: %d, want 404", code)
	}
	code, body = r.nurse.do("POST", "/api/v1/patients/C1/messages", reply)
	var created struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil || code != http.StatusCreated || created.Status != "queued" {
		t.Fatalf("nurse's text: %d %s", code, body)
	}
	sent := r.waitSent(1)
	if sent[0].Get("To") != convPatient || !strings.Contains(sent[0].Get("Body"), "acetaminophen") ||
		!strings.Contains(sent[0].Get("StatusCallback"), fmt.Sprintf("?message=%d&", created.ID)) {
		t.Errorf("Twilio got %v", sent[0])
	}
	// The provider has the text a moment before the engine's batched send log records its id.
	var sid string
	for deadline := time.Now().Add(30 * time.Second); sid == ""; time.Sleep(20 * time.Millisecond) {
		if err := r.d.Get(&sid, "SELECT coalesce(twilio_sid, '') FROM messages WHERE id = $1", created.ID); err != nil {
			t.Fatal(err)
		}
		if sid == "" && time.Now().After(deadline) {
			t.Fatal("the sent text's provider id was never recorded")
		}
	}
	path := fmt.Sprintf("/webhooks/twilio/status?message=%d", created.ID)
	if code, _ := post(t, r.base, path, url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}}, nil); code != http.StatusOK {
		t.Errorf("status callback: %d", code)
	}

	// The patient's answer is not taken for anything else: it joins the item, unread.
	r.text(convPatient, "OK thank you!")
	items = r.items()
	if len(items) != 1 || items[0]["firings"] != float64(2) || items[0]["unread"] != true {
		t.Errorf("after the patient's answer: %v", items)
	}
	thread := r.thread("C1")
	var lines []string
	for _, m := range thread {
		staff := ""
		if m["staff"] != nil {
			staff = " by " + m["staff"].(string)
		}
		lines = append(lines, fmt.Sprintf("%s %s %s%s", m["direction"], m["kind"], m["status"], staff))
	}
	want := "in reply received|out staff delivered by RN1|out notice sent|in reply received"
	if got := strings.Join(lines, "|"); got != want {
		t.Errorf("thread, newest first:\n got %s\nwant %s", got, want)
	}
	if n := countRows(t, r.d, "SELECT count(*) FROM audit_log WHERE action = 'patient.read' AND detail->>'view' = 'messages'"); n != 1 {
		t.Errorf("thread reads audited: %d, want 1", n)
	}
	if n := countRows(t, r.d, "SELECT count(*) FROM audit_log WHERE action = 'patient.message'"); n != 1 {
		t.Errorf("staff texts audited: %d, want 1", n)
	}

	// A caregiver's emergency from a number no patient has.
	r.text(convCaregiver, "My mom has chest pain and can't breathe")
	if safety := r.waitSent(1); safety[0].Get("To") != convCaregiver || !strings.Contains(safety[0].Get("Body"), "911") {
		t.Errorf("safety reply = %v", safety[0])
	}
	var stranger map[string]any
	for _, it := range r.items() {
		if it["patient"] == nil {
			stranger = it
		}
	}
	if stranger == nil || stranger["severity"] != "urgent" || stranger["number"] != convCaregiver {
		t.Fatalf("the unknown number's item: %v", stranger)
	}
	attach := fmt.Sprintf("/api/v1/escalations/%v/attach", stranger["id"])
	if code, _ := r.nurse.do("POST", attach, `{"patient": "NOPE"}`); code != http.StatusBadRequest {
		t.Errorf("attach to an unknown patient: %d, want 400", code)
	}
	if code, body := r.nurse.do("POST", attach, `{"patient": "C1"}`); code != http.StatusOK {
		t.Fatalf("attach: %d %s", code, body)
	}
	if code, _ := r.nurse.do("POST", attach, `{"patient": "C1"}`); code != http.StatusBadRequest {
		t.Errorf("attach again: %d, want 400", code)
	}
	thread = r.thread("C1")
	joined := 0
	for _, m := range thread {
		if m["body"] == "My mom has chest pain and can't breathe" || m["kind"] == "safety" {
			joined++
		}
	}
	if len(thread) != 6 || joined != 2 {
		t.Errorf("the caregiver's text and its answer did not join C1's conversation: %v", thread)
	}

	// A request in plain words opts out, with one confirmation through Twilio; then the patient
	// is not written to.
	r.text(convPatient, "Please don't text me anymore.")
	if conf := r.waitSent(1); conf[0].Get("To") != convPatient || !strings.Contains(conf[0].Get("Body"), "no more texts") {
		t.Errorf("confirmation = %v", conf[0])
	}
	if code, body := r.nurse.do("POST", "/api/v1/patients/C1/messages", reply); code != http.StatusConflict {
		t.Errorf("text to an opted-out patient: %d %s, want 409", code, body)
	}
	if code, _ := r.nurse.do("GET", "/api/v1/patients/C1/messages?limit=0", ""); code != http.StatusBadRequest {
		t.Errorf("limit 0: %d, want 400", code)
	}
}
