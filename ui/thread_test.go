package ui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/escalation"
)

// The item's page shows the conversation and takes a reply, which claims the item for the
// writer and goes to the outbox; htmx gets the thread alone back.
func TestItemConversation(t *testing.T) {
	s := newSite(t)
	item := fmt.Sprintf("/items/%d", s.patientText("Can I take ibuprofen?"))
	c := s.client()
	s.login(c, "RN1")
	_, _, body := s.do(c, "GET", "/", nil, "")
	if !strings.Contains(body, `<span class="unread">new text</span>`) {
		t.Errorf("the queue does not mark the item with an unread text")
	}
	_, _, body = s.do(c, "GET", item, nil, "")
	if !strings.Contains(body, "Can I take ibuprofen?") || !strings.Contains(body, `hx-post="`+item+`/message"`) {
		t.Fatalf("the item page lacks the conversation or the reply box:\n%s", body)
	}
	if _, _, body = s.do(c, "GET", "/", nil, ""); strings.Contains(body, `class="unread"`) {
		t.Errorf("the item is still marked unread after its page was read")
	}
	// A reply through htmx: the thread comes back alone, with the text; the item is the nurse's.
	req, _ := http.NewRequest("POST", s.srv.URL+item+"/message", strings.NewReader(url.Values{"body": {"Please use acetaminophen."}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("HX-Request", "true")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	frag := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(frag, `<section id="thread"`) || strings.Contains(frag, "<html") ||
		!strings.Contains(frag, "Please use acetaminophen.") || !strings.Contains(frag, "written by RN1") {
		t.Errorf("htmx reply: %d\n%s", resp.StatusCode, frag)
	}
	var claimedBy, status string
	if err := s.db.QueryRow(`SELECT s.ext_id, e.status FROM escalations e JOIN staff s ON s.id = e.claimed_by WHERE '/items/' || e.id = $1`, item).Scan(&claimedBy, &status); err != nil || claimedBy != "RN1" || status != "claimed" {
		t.Errorf("after the reply the item is %s by %s (%v), want claimed by RN1", status, claimedBy, err)
	}
	var queued int
	if err := s.db.Get(&queued, `SELECT count(*) FROM messages WHERE kind = 'staff' AND status = 'queued' AND staff_id IS NOT NULL`); err != nil || queued != 1 {
		t.Errorf("staff texts queued: %d, %v", queued, err)
	}
	// Without htmx, back to the page; an empty text is refused; the front desk may not write.
	if code, loc, _ := s.do(c, "POST", item+"/message", url.Values{"body": {"Call us back when you can."}}, s.srv.URL); code != http.StatusSeeOther || loc != item {
		t.Errorf("plain reply: %d %q", code, loc)
	}
	if code, _, _ := s.do(c, "POST", item+"/message", url.Values{"body": {"  "}}, s.srv.URL); code != http.StatusBadRequest {
		t.Errorf("empty reply: %d, want 400", code)
	}
	fd := s.client()
	s.login(fd, "FD1")
	if code, _, _ := s.do(fd, "POST", item+"/message", url.Values{"body": {"hi"}}, s.srv.URL); code != http.StatusForbidden {
		t.Errorf("front desk reply: %d, want 403", code)
	}
	// The patient's page shows the same conversation, with a reply box and a timer for it.
	_, _, body = s.do(c, "GET", "/patients/P1", nil, "")
	if !strings.Contains(body, "Please use acetaminophen.") || !strings.Contains(body, `hx-post="/patients/P1/message"`) ||
		!strings.Contains(body, `id="thread-timer"`) {
		t.Errorf("the patient's page lacks the conversation, the reply box or the timer")
	}
	if code, loc, _ := s.do(c, "POST", "/patients/P1/message", url.Values{"body": {"One more thing."}}, s.srv.URL); code != http.StatusSeeOther || loc != "/patients/P1#thread" {
		t.Errorf("reply from the patient's page: %d %q", code, loc)
	}
}

// patientText stores a text from P1 outside a check-in and puts it on P1's item, as the engine
// does; it returns the item.
func (s *site) patientText(body string) int64 {
	s.t.Helper()
	var patient int64
	if err := s.db.Get(&patient, `SELECT id FROM patients WHERE ext_id = 'P1'`); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT INTO messages (practice_id, patient_id, direction, kind, phone, body, status, created_at, updated_at)
		VALUES (1, $1, 'in', 'reply', '+15551110006', $2, 'received', $3, $3)`, patient, body, s.clock()); err != nil {
		s.t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	r, err := escalation.AddText(context.Background(), s.db, escalation.Item{PracticeID: 1, PatientID: patient,
		Severity: escalation.Routine, Source: escalation.SourceMessage, Reason: "Message from the patient outside a check-in",
		Text: body}, escalation.DefaultDueTimes, s.clock(), ny)
	if err != nil {
		s.t.Fatal(err)
	}
	return r.ID
}

// An item about a number that matches no patient is attached to the patient it is about, with
// the number's texts.
func TestAttachUnknownNumber(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	const number = "+15550199999"
	if _, err := s.db.Exec(`INSERT INTO messages (practice_id, direction, kind, phone, body, status, created_at, updated_at)
		VALUES (1, 'in', 'reply', $1, 'This is her daughter, she fell', 'received', $2, $2)`, number, s.clock()); err != nil {
		t.Fatal(err)
	}
	r, err := escalation.AddText(ctx, s.db, escalation.Item{PracticeID: 1, Phone: number, Severity: escalation.Routine,
		Source: escalation.SourceMessage, Reason: "Message from a number that matches no patient", Text: "This is her daughter, she fell"},
		escalation.DefaultDueTimes, s.clock(), ny)
	if err != nil {
		t.Fatal(err)
	}
	item := fmt.Sprintf("/items/%d", r.ID)
	c := s.client()
	s.login(c, "RN1")
	_, _, body := s.do(c, "GET", "/", nil, "")
	if !strings.Contains(body, `data-number="&#43;15550199999"`) || !strings.Contains(body, "(555) 019-9999") {
		t.Errorf("the queue does not show the unknown number's item:\n%s", body)
	}
	_, _, body = s.do(c, "GET", item, nil, "")
	if !strings.Contains(body, "matches no patient") || !strings.Contains(body, "This is her daughter, she fell") || !strings.Contains(body, `action="`+item+`/attach"`) {
		t.Fatalf("the item page of an unknown number:\n%s", body)
	}
	if code, _, body := s.do(c, "POST", item+"/attach", url.Values{"patient": {"NOPE"}}, s.srv.URL); code != http.StatusBadRequest || !strings.Contains(body, `no patient &#34;NOPE&#34;`) {
		t.Errorf("attach to an unknown patient: %d", code)
	}
	if code, loc, _ := s.do(c, "POST", item+"/attach", url.Values{"patient": {"P1"}}, s.srv.URL); code != http.StatusSeeOther || loc != item {
		t.Fatalf("attach: %d %q", code, loc)
	}
	_, _, body = s.do(c, "GET", "/patients/P1", nil, "")
	if !strings.Contains(body, "This is her daughter, she fell") {
		t.Errorf("the number's text did not join the patient's conversation")
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The care team records an opt-out the patient asked for by phone: no more texts, one
// confirmation queued, the page says so and no longer offers it.
func TestRecordOptOutFromThePatientPage(t *testing.T) {
	s := newSite(t)
	c := s.client()
	s.login(c, "RN1")
	if _, _, body := s.do(c, "GET", "/patients/P1", nil, ""); !strings.Contains(body, `action="/patients/P1/opt-out"`) {
		t.Fatal("the patient's page does not offer to record an opt-out")
	}
	fd := s.client()
	s.login(fd, "FD1")
	if code, _, _ := s.do(fd, "POST", "/patients/P1/opt-out", nil, s.srv.URL); code != http.StatusForbidden {
		t.Errorf("front desk: %d, want 403", code)
	}
	if code, loc, _ := s.do(c, "POST", "/patients/P1/opt-out", nil, s.srv.URL); code != http.StatusSeeOther || loc != "/patients/P1?opted_out=1" {
		t.Fatalf("record: %d %q", code, loc)
	}
	var source, actor string
	var confirmations int
	if err := s.db.QueryRow(`SELECT opt_out_source FROM patients WHERE ext_id = 'P1'`).Scan(&source); err != nil || source != "staff" {
		t.Errorf("opt-out source %q, %v", source, err)
	}
	if err := s.db.QueryRow(`SELECT actor FROM audit_log WHERE action = 'patient.opt_out'`).Scan(&actor); err != nil || !strings.HasPrefix(actor, "staff:") {
		t.Errorf("opt-out audited as %q, %v", actor, err)
	}
	if err := s.db.Get(&confirmations, `SELECT count(*) FROM messages WHERE kind = 'confirmation' AND status = 'queued'`); err != nil || confirmations != 1 {
		t.Errorf("confirmations queued: %d, %v", confirmations, err)
	}
	_, _, body := s.do(c, "GET", "/patients/P1?opted_out=1", nil, "")
	if !strings.Contains(body, "The opt-out is recorded") || strings.Contains(body, `action="/patients/P1/opt-out"`) {
		t.Errorf("after the opt-out the page still offers it, or does not say it is recorded")
	}
	if code, _, _ := s.do(c, "POST", "/patients/P1/opt-out", nil, s.srv.URL); code != http.StatusConflict {
		t.Errorf("a second opt-out: %d, want 409", code)
	}
}
