package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/outreach-engine/outreach/internal/dbtest"
)

// TestHostileInput drives the running engine with what an attacker or a broken client sends:
// oversized bodies, invalid UTF-8, SQL and markup in texts, JSON and CSV fields, and path
// tricks. Invalid input gets a clear 4xx (or a CSV error naming line and column) and stores
// nothing; text that is merely unusual is kept as inert text; nothing leaks from outside the
// engine's routes. Each case is counted in the log as tried, stored, refused.
func TestHostileInput(t *testing.T) {
	ctx := context.Background()
	d, conn := dbtest.Fresh(t)
	fake := newFakeTwilio(t)
	env := twilioEnv(conn, fake)
	patients := "id,first_name,phone,timezone,language,programs,billing_npi,consent_at\nH1,Ana,+15550300001,America/New_York,en,ccm,1111111112,2025-01-01\n"
	if _, _, err := runCmd(t, ctx, env, "import", "patients", writeFile(t, "p.csv", patients)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, ctx, env, "import", "staff", writeFile(t, "s.csv", "id,name,credential,role\nRN1,Rita,RN,clinical\n")); err != nil {
		t.Fatal(err)
	}
	token, _, err := runCmd(t, ctx, env, "staff", "token", "RN1")
	if err != nil {
		t.Fatal(err)
	}
	token = strings.TrimSpace(token)
	base := e2eServer(t, env)
	count := func(q string) int { return countRows(t, d, q) }
	tried, refused := 0, 0

	// Webhooks. Unusual texts are the patient's words: kept, as valid UTF-8 without NUL.
	inbound := func(sid, from, body string) url.Values {
		return url.Values{"MessageSid": {sid}, "From": {from}, "To": {"+15550001111"}, "Body": {body},
			"AccountSid": {env["TWILIO_ACCOUNT_SID"]}}
	}
	kept := []struct{ name, body string }{
		{"invalid UTF-8 and NUL", "yes \xff\xfe\x00 please"},
		{"markup", `<script>alert(1)</script><img src=x onerror=alert(2)>`},
		{"SQL", `8'); DROP TABLE patients; --`},
	}
	for i, k := range kept {
		tried++
		if code, _ := post(t, base, "/webhooks/twilio/sms", inbound(fmt.Sprintf("SMhostile%023d", i), "+15550300001", k.body), nil); code != http.StatusOK {
			t.Errorf("webhook with %s: %d, want 200", k.name, code)
		}
	}
	var bodies []string
	if err := d.Select(&bodies, "SELECT body FROM messages WHERE direction = 'in' ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != len(kept) {
		t.Fatalf("%d texts stored, want %d", len(bodies), len(kept))
	}
	if !utf8.ValidString(bodies[0]) || strings.ContainsRune(bodies[0], 0) || !strings.Contains(bodies[0], "please") {
		t.Errorf("the text with invalid UTF-8 was stored as %q", bodies[0])
	}
	if bodies[1] != kept[1].body || bodies[2] != kept[2].body {
		t.Errorf("markup and SQL were not kept word for word: %q", bodies[1:])
	}
	if n := count("SELECT count(*) FROM patients"); n != 1 {
		t.Errorf("%d patients after the SQL text, want 1", n)
	}
	before := count("SELECT count(*) FROM messages")
	refusedHooks := []struct {
		name string
		form url.Values
		want int
	}{
		{"oversized body", inbound("SMhostile9", "+15550300001", strings.Repeat("x", 70_000)), http.StatusRequestEntityTooLarge},
		{"no message id", url.Values{"From": {"+15550300001"}, "Body": {"hi"}}, http.StatusBadRequest},
	}
	for _, c := range refusedHooks {
		tried++
		if code, _ := post(t, base, "/webhooks/twilio/sms", c.form, nil); code != c.want {
			t.Errorf("webhook with %s: %d, want %d", c.name, code, c.want)
		} else {
			refused++
		}
	}
	tried++
	if code, _ := post(t, base, "/webhooks/twilio/sms", inbound("SMhostile8", `+1555' OR '1'='1`, "8"), nil); code != http.StatusOK {
		t.Errorf("webhook from a number with SQL in it: %d, want 200 (an unknown sender, nothing stored)", code)
	}
	if n := count("SELECT count(*) FROM messages"); n != before {
		t.Errorf("refused webhooks stored %d messages", n-before)
	}

	// The JSON API.
	api := apiClient{t: t, base: base, token: token}.do
	entry := func(note string) string {
		return `{"patients":"H1","staff":"RN1","program":"ccm","started_at":"2026-11-30T10:00:00-05:00","minutes":5,"activity":"patient_call","note":"` + note + `"}`
	}
	entries := count("SELECT count(*) FROM time_entries")
	for _, c := range []struct {
		name, body string
		want       int
	}{
		{"invalid UTF-8 in a note", entry("ok \xff\xfe"), http.StatusBadRequest},
		{"a NUL in a note", entry(`ok \u0000`), http.StatusBadRequest},
		{"a 2 MB body", entry(strings.Repeat("x", 2<<20)), http.StatusRequestEntityTooLarge},
		{"SQL in a patient id", strings.Replace(entry("x"), `"H1"`, `"H1'; DROP TABLE time_entries; --"`, 1), http.StatusBadRequest},
		{"not JSON", `<xml/>`, http.StatusBadRequest},
	} {
		tried++
		code, body := api(http.MethodPost, "/api/v1/time-entries", c.body)
		switch {
		case code != c.want:
			t.Errorf("time entry with %s: %d %s, want %d", c.name, code, body, c.want)
		case !strings.Contains(body, `"error"`):
			t.Errorf("time entry with %s: %d without an error message: %s", c.name, code, body)
		default:
			refused++
		}
	}
	if n := count("SELECT count(*) FROM time_entries"); n != entries {
		t.Errorf("refused time entries stored %d", n-entries)
	}
	tried++
	if code, body := api(http.MethodPost, "/api/v1/time-entries", entry(`<script>alert(1)</script>`)); code != http.StatusCreated {
		t.Errorf("a note with markup: %d %s, want 201 (kept as text)", code, body)
	} else if strings.Contains(body, "<script>") {
		t.Errorf("markup comes back unescaped in JSON: %s", body)
	}

	// Path tricks: nothing outside the routes, no id that is not an id.
	for _, path := range []string{
		"/api/v1/patients/..%2F..%2F..%2Fetc%2Fpasswd/checkins",
		"/api/v1/patients/H1'%20OR%20'1'='1/checkins",
		"/api/v1/patients/%00/checkins",
		"/api/v1/escalations/1%20OR%201=1",
		"/api/v1/escalations/99999999999999999999999",
		"/api/v1/escalations/-1",
		"/api/v1/time-entries/1;DROP/history",
		"/static/../../../../etc/passwd",
		"/static/..%2F..%2F..%2Fetc%2Fpasswd",
		"/api/v1/../../../etc/passwd",
		"/%2e%2e/%2e%2e/etc/passwd",
	} {
		tried++
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.RawPath = path // as sent, not cleaned by the client
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case strings.Contains(string(b), "root:"):
			t.Errorf("%s leaked a system file", path)
		case resp.StatusCode == http.StatusOK:
			t.Errorf("%s: 200 %.200s, want a 3xx or 4xx", path, b)
		case resp.StatusCode >= 500:
			t.Errorf("%s: %d, want a 3xx or 4xx", path, resp.StatusCode)
		default:
			refused++
		}
	}

	// CSV files: an error names the line and the column, and nothing of the file is stored.
	for _, c := range []struct{ name, csv, want string }{
		{"SQL in an id", "id,phone\nH2,+15550300002\nH3'; DROP TABLE patients; --,+15550300003\n", "hostile.csv:3: id "},
		{"invalid UTF-8", "id,first_name\nH2,Bo\nH3,\xff\xfe\n", "hostile.csv:3: "},
		{"a phone with markup", "id,phone\nH2,<script>\n", "hostile.csv:2: phone "},
	} {
		tried++
		_, _, err := runCmd(t, ctx, env, "import", "patients", writeFile(t, "hostile.csv", c.csv))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CSV with %s: %v, want an error starting %q (file, line, column)", c.name, err, c.want)
		} else {
			refused++
		}
	}
	if n := count("SELECT count(*) FROM patients"); n != 1 {
		t.Errorf("%d patients after refused files, want 1", n)
	}
	t.Logf("%d hostile inputs tried, %d refused with a 3xx/4xx or a CSV error, the rest kept as inert text; nothing else stored", tried, refused)
}
