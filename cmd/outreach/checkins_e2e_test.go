package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// sign computes X-Twilio-Signature as Twilio does: HMAC-SHA1 with the auth token over the URL
// followed by each POST parameter's name and value, sorted by name, in base64.
func sign(token, u string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(u)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(params.Get(k))
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestSignerMatchesTwilioPublishedExample(t *testing.T) {
	params := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
		"From": {"+14158675309"}, "To": {"+18005551212"}}
	if got := sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Errorf("signature = %s", got)
	}
}

// fakeTwilio answers message creations like Twilio's REST API; fail queues error answers.
type fakeTwilio struct {
	mu   sync.Mutex
	got  []url.Values
	fail []int // HTTP status, Twilio code pairs
	srv  *httptest.Server
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	f := &fakeTwilio{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/Messages.json") || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if len(f.fail) > 0 {
			status, code := f.fail[0], f.fail[1]
			f.fail = f.fail[2:]
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"code": %d, "message": "fake failure", "more_info": "", "status": %d}`, code, status)
			return
		}
		f.got = append(f.got, r.PostForm)
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"sid": fmt.Sprintf("SM%032d", len(f.got)), "status": "queued",
			"to": r.PostForm.Get("To"), "body": r.PostForm.Get("Body")})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTwilio) sent() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.got...)
}

func (f *fakeTwilio) failNext(status, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = append(f.fail, status, code)
}

const (
	e2eToken  = "abc123token"
	e2ePublic = "https://outreach.example.org/engine"
)

func twilioEnv(conn string, fake *fakeTwilio) map[string]string {
	return map[string]string{
		"DATABASE_URL": conn, "TWILIO_ACCOUNT_SID": "AC" + strings.Repeat("0", 31) + "1",
		"TWILIO_AUTH_TOKEN": e2eToken, "TWILIO_FROM_NUMBER": "+15550001111", "TWILIO_API_URL": fake.srv.URL,
		"OUTREACH_PUBLIC_URL": e2ePublic, "OUTREACH_SEND_RATE": "0",
		"OUTREACH_PRACTICE_NAME": "Maple Clinic", "OUTREACH_PRACTICE_PHONE": "+15550002222",
	}
}

func TestCheckinsRunAtPinnedInstant(t *testing.T) {
	ctx := context.Background()
	_, conn := dbtest.Fresh(t)
	fake := newFakeTwilio(t)
	env := twilioEnv(conn, fake)
	patients := "id,phone,timezone,language,programs,billing_npi,consent_at\nNY1,+15550100001,America/New_York,en,ccm,1111111112,2025-01-01\n" +
		"LA1,+15550100002,America/Los_Angeles,es,ccm,1111111112,2025-01-01\nNO1,+15550100003,America/New_York,en,rpm,1111111112,2025-01-01\n"
	if _, _, err := runCmd(t, ctx, env, "import", "patients", writeFile(t, "p.csv", patients)); err != nil {
		t.Fatal(err)
	}
	// 14:00 UTC on the 1st: 09:00 in New York (due since... not yet: the slot is 10:00).
	out, _, err := runCmd(t, ctx, env, "checkins", "run", "--at", "2026-12-01T14:00:00Z")
	if err != nil || !strings.Contains(out, "0 started") {
		t.Fatalf("09:00 New York: %q, %v", out, err)
	}
	fake.failNext(429, 20429) // Twilio's rate limit, then success
	out, _, err = runCmd(t, ctx, env, "checkins", "run", "--at", "2026-12-01T15:00:00Z")
	if err != nil || !strings.Contains(out, "1 started") || !strings.Contains(out, "0 sent, 1 to retry") {
		t.Fatalf("10:00 New York: %q, %v", out, err)
	}
	out, _, err = runCmd(t, ctx, env, "checkins", "run", "--at", "2026-12-01T18:00:00Z")
	if err != nil || !strings.Contains(out, "1 started") || !strings.Contains(out, "2 sent") {
		t.Fatalf("10:00 Los Angeles: %q, %v", out, err)
	}
	sent := fake.sent()
	if len(sent) != 2 {
		t.Fatalf("Twilio got %d messages, want 2", len(sent))
	}
	byTo := map[string]url.Values{}
	for _, m := range sent {
		byTo[m.Get("To")] = m
	}
	if m := byTo["+15550100001"]; !strings.Contains(m.Get("Body"), "monthly check-in") || m.Get("From") != "+15550001111" ||
		!strings.HasPrefix(m.Get("StatusCallback"), e2ePublic+"/webhooks/twilio/status?message=") {
		t.Errorf("New York message = %v", m)
	}
	if m := byTo["+15550100002"]; !strings.Contains(m.Get("Body"), "control mensual") {
		t.Errorf("Los Angeles message = %v", m)
	}
	if _, _, err := runCmd(t, ctx, env, "checkins", "run", "--at", "not-a-time"); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("bad --at: %v", err)
	}
}

// e2eServer runs "serve" against the fake Twilio and returns its base URL.
func e2eServer(t *testing.T, env map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env["OUTREACH_LISTEN"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, logs, err := runCmd(t, ctx, env, "serve")
		if t.Failed() {
			t.Log(logs)
		}
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	for range 200 {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "http://" + addr
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("serve did not get ready")
	return ""
}

// post sends a webhook form, signed as Twilio signs it for the public URL unless sig is given.
func post(t *testing.T, base, path string, form url.Values, sig *string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s := sign(e2eToken, e2ePublic+path, form)
	if sig != nil {
		s = *sig
	}
	if s != "" {
		req.Header.Set("X-Twilio-Signature", s)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWebhooksEndToEnd(t *testing.T) {
	ctx := context.Background()
	d, conn := dbtest.Fresh(t)
	fake := newFakeTwilio(t)
	env := twilioEnv(conn, fake)
	// A script due every minute, so that the check-in starts at the real clock.
	dir := t.TempDir()
	env["OUTREACH_SCRIPTS_DIR"] = dir
	env["OUTREACH_QUIET_HOURS"] = "off"
	writeFileAt(t, dir, "bp.yaml", `
id: bp
schedule: "* * * * *"
languages: [en]
intro: {en: "Blood pressure check."}
questions:
  - id: bp
    type: blood_pressure
    text: {en: "What was your last reading? Like 120/80."}
    escalate:
      - when: {field: systolic, gte: 180}
        severity: urgent
        reason: Blood pressure in the crisis range
closing: {en: "Thank you."}
`)
	patients := "id,phone,timezone,language,programs,script,billing_npi,consent_at\nW1,+15550200001,America/New_York,en,ccm,bp,1111111112,2025-01-01\n"
	if _, _, err := runCmd(t, ctx, env, "import", "patients", writeFile(t, "p.csv", patients)); err != nil {
		t.Fatal(err)
	}
	staffCSV := "id,name,credential,role,npi\nRN1,Rita,RN,clinical,\n"
	if _, _, err := runCmd(t, ctx, env, "import", "staff", writeFile(t, "s.csv", staffCSV)); err != nil {
		t.Fatal(err)
	}
	token, _, err := runCmd(t, ctx, env, "staff", "token", "RN1")
	if err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCmd(t, ctx, env, "checkins", "run"); err != nil || !strings.Contains(out, "1 started") {
		t.Fatalf("checkins run: %q, %v", out, err)
	}
	base := e2eServer(t, env)
	var msgID int64
	if err := d.Get(&msgID, "SELECT id FROM messages"); err != nil {
		t.Fatal(err)
	}

	inbound := url.Values{"MessageSid": {"SM" + strings.Repeat("a", 32)}, "From": {"+15550200001"},
		"To": {"+15550001111"}, "Body": {"It was 185/121 this morning"}, "AccountSid": {env["TWILIO_ACCOUNT_SID"]}}
	bad := "bm90IGEgc2lnbmF0dXJl"
	none := ""
	for name, sig := range map[string]*string{"wrong": &bad, "missing": &none} {
		if code, _ := post(t, base, "/webhooks/twilio/sms", inbound, sig); code != http.StatusForbidden {
			t.Errorf("%s signature: %d, want 403", name, code)
		}
	}
	if n := countRows(t, d, "SELECT count(*) FROM messages WHERE direction = 'in'"); n != 0 {
		t.Fatalf("a refused webhook stored %d messages", n)
	}
	for range 3 { // Twilio may deliver a webhook more than once
		if code, body := post(t, base, "/webhooks/twilio/sms", inbound, nil); code != http.StatusOK || !strings.Contains(body, "<Response>") {
			t.Fatalf("inbound: %d %s", code, body)
		}
	}
	if n := countRows(t, d, "SELECT count(*) FROM checkin_answers"); n != 1 {
		t.Errorf("answers = %d, want 1", n)
	}
	if n := countRows(t, d, "SELECT count(*) FROM escalations WHERE severity = 'urgent'"); n != 1 {
		t.Errorf("urgent items = %d, want 1", n)
	}
	// The safety message goes out through Twilio within the dispatcher's pace, and nothing after
	// it: an urgent answer hands the check-in to the care team.
	deadline := time.Now().Add(10 * time.Second)
	for len(fake.sent()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if sent := fake.sent(); len(sent) != 2 || !strings.Contains(sent[1].Get("Body"), "911") {
		t.Errorf("after the urgent answer Twilio got %d messages, want the question and the safety message: %v", len(sent), sent)
	}
	if n := countRows(t, d, "SELECT count(*) FROM messages WHERE direction = 'out' AND kind NOT IN ('question', 'safety')"); n != 0 {
		t.Errorf("%d more messages queued after the urgent answer, want none", n)
	}

	// Delivery reports, out of order: a late "sent" does not undo "delivered".
	path := fmt.Sprintf("/webhooks/twilio/status?message=%d", msgID)
	for _, st := range []string{"delivered", "sent"} {
		form := url.Values{"MessageSid": {fake.sid(0)}, "MessageStatus": {st}}
		if code, _ := post(t, base, path, form, nil); code != http.StatusOK {
			t.Fatalf("status %s: %d", st, code)
		}
	}
	var status string
	if err := d.Get(&status, "SELECT status FROM messages WHERE id = $1", msgID); err != nil || status != "delivered" {
		t.Errorf("status = %q, %v; want delivered", status, err)
	}

	// STOP, then nothing more is sent.
	stop := url.Values{"MessageSid": {"SM" + strings.Repeat("b", 32)}, "From": {"+15550200001"}, "Body": {"Stop."}}
	if code, _ := post(t, base, "/webhooks/twilio/sms", stop, nil); code != http.StatusOK {
		t.Fatalf("STOP: %d", code)
	}
	if n := countRows(t, d, "SELECT count(*) FROM patients WHERE opted_out_at IS NOT NULL"); n != 1 {
		t.Errorf("opted out = %d", n)
	}

	// The check-ins API.
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/patients/W1/checkins", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []struct {
		ID      int64  `json:"id"`
		Script  string `json:"script"`
		Status  string `json:"status"`
		Answers []struct{ Question, Value, Text string }
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &list); err != nil || resp.StatusCode != 200 {
		t.Logf("%s", raw)
		t.Fatalf("checkins API: %d, %v", resp.StatusCode, err)
	}
	if len(list) != 1 || list[0].Script != "bp" || list[0].Status != "handed_off" || len(list[0].Answers) != 1 ||
		list[0].Answers[0].Value != "185/121" || list[0].Answers[0].Text != "It was 185/121 this morning" {
		t.Errorf("checkins = %+v", list)
	}
	// The queue: the urgent item is listed first, claimed, and resolved with an outcome.
	apiCall := apiClient{t: t, base: base, token: strings.TrimSpace(token)}.do
	code, body := apiCall("GET", "/api/v1/escalations?status=open", "")
	var items []struct {
		ID       int64  `json:"id"`
		Patient  string `json:"patient"`
		Severity string `json:"severity"`
	}
	if err := json.Unmarshal([]byte(body), &items); err != nil || code != 200 || len(items) == 0 || items[0].Severity != "urgent" || items[0].Patient != "W1" {
		t.Fatalf("queue: %d %s", code, body)
	}
	item := fmt.Sprintf("/api/v1/escalations/%d", items[0].ID)
	if code, body := apiCall("GET", item, ""); code != 200 || !strings.Contains(body, `"answer":"185/121"`) || !strings.Contains(body, `"question":"bp"`) {
		t.Errorf("item: %d %s", code, body)
	}
	if code, body := apiCall("POST", item+"/claim", ""); code != 200 {
		t.Errorf("claim: %d %s", code, body)
	}
	code, body = apiCall("POST", item+"/resolve", `{"outcome": "advised_ed_911", "note": "Called; went to the ED."}`)
	var resolved struct {
		Proposal map[string]any `json:"proposed_time_entry"`
	}
	if err := json.Unmarshal([]byte(body), &resolved); err != nil || code != 200 || resolved.Proposal["program"] != "ccm" ||
		resolved.Proposal["activity"] != "patient_call" || resolved.Proposal["staff"] != "RN1" {
		t.Fatalf("resolve: %d %s", code, body)
	}
	// The nurse confirms the proposed entry as it is: it becomes CCM time.
	delete(resolved.Proposal, "seconds")
	resolved.Proposal["started_at"] = time.Now().Add(-7 * time.Minute).UTC().Format(time.RFC3339) // the call took 7 minutes
	confirm, _ := json.Marshal(resolved.Proposal)
	if code, body := apiCall("POST", "/api/v1/time-entries", string(confirm)); code != http.StatusCreated {
		t.Errorf("confirming the proposed time entry: %d %s", code, body)
	}
	if n := countRows(t, d, "SELECT count(*) FROM time_entries WHERE program = 'ccm' AND activity = 'patient_call'"); n != 1 {
		t.Errorf("time entries = %d", n)
	}
	// The managers' metrics after this run, as Prometheus scrapes them. Gauges are read in the
	// background (every 7.5 s): scrape until the care time's gauge has the entry.
	var scraped []byte
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err = http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		scraped, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if regexp.MustCompile(`(?m)^outreach_care_time_seconds\{program="ccm"\} 4`).Match(scraped) || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	// Counters count what this process recorded: the check-in was started by "checkins run".
	for _, line := range []string{
		`outreach_checkins_created_total{channel="sms",script="bp"} 0`,
		`outreach_checkins_ended_total{channel="sms",script="bp",status="handed_off"} 1`,
		`outreach_messages_sent_total{kind="safety"} 1`,
		`outreach_messages_delivered_total 1`,
		`outreach_metrics_query_errors_total 0`,
		`outreach_escalations_opened_total{severity="urgent",source="rule"} 1`,
		`outreach_escalations_resolved_total{outcome="advised_ed_911"} 1`,
		`outreach_escalation_time_to_claim_seconds_count{severity="urgent"} 1`,
		`outreach_inbound_messages_total 2`,                                                     // the answer (delivered 3 times, stored once) and STOP
		`outreach_care_time_seconds{program="ccm"} 420`,                                         // and a fraction: the entry ends when it was resolved
		`outreach_provider_request_duration_seconds_count{operation="send_sms",outcome="ok"} 1`, // the server's send: the safety message
		`outreach_http_requests_total{code="403",route="POST /webhooks/twilio/sms"} 2`,
	} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(line) + `(\.\d+)?$`).Match(scraped) {
			t.Errorf("/metrics lacks %s in:\n%s", line, grepLines(string(scraped), strings.SplitN(strings.Fields(line)[0], "{", 2)[0]))
		}
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(string(scraped))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	} else if os.Getenv("OUTREACH_PROMTOOL") == "required" {
		t.Error("promtool is not installed")
	}
	if n := countRows(t, d, "SELECT count(*) FROM escalations WHERE status = 'resolved' AND outcome = 'advised_ed_911'"); n != 1 {
		t.Errorf("resolved items = %d", n)
	}

	req, _ = http.NewRequest(http.MethodGet, base+"/api/v1/patients/NOPE/checkins", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(token))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown patient: %v %v", resp.StatusCode, err)
	}
}

func (f *fakeTwilio) sid(i int) string { return fmt.Sprintf("SM%032d", i+1) }

func writeFileAt(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := writeFileIn(dir, name, content); err != nil {
		t.Fatal(err)
	}
}

func countRows(t *testing.T, d interface {
	Get(any, string, ...any) error
}, q string) int {
	t.Helper()
	var n int
	if err := d.Get(&n, q); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestScriptsValidateCommand(t *testing.T) {
	good := writeFile(t, "good.yaml", "id: ok\nschedule: \"0 10 1 * *\"\nlanguages: [en]\nintro: {en: hi}\nquestions:\n  - id: q\n    type: yesno\n    text: {en: \"OK?\"}\nclosing: {en: bye}\n")
	out, _, err := runCmd(t, context.Background(), nil, "scripts", "validate", good)
	if err != nil || !strings.Contains(out, `script "ok" is valid`) {
		t.Errorf("good script: %q, %v", out, err)
	}
	bad := writeFile(t, "bad.yaml", "id: Bad!\nschedule: \"CRON_TZ=UTC\"\nlanguages: [en]\nintro: {en: hi}\nquestions:\n  - id: q\n    type: maybe\n    text: {en: \"OK?\"}\nclosing: {en: bye}\n")
	out, _, err = runCmd(t, context.Background(), nil, "scripts", "validate", bad)
	if err == nil || !strings.Contains(out, "bad.yaml:1:") || !strings.Contains(out, "bad.yaml:2:") || !strings.Contains(out, "bad.yaml:7:") {
		t.Errorf("bad script: %q, %v", out, err)
	}
}

// grepLines returns the lines of text that start with prefix.
func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
