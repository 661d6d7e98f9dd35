package ui_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/monitoring"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/scripts"
	"github.com/outreach-engine/outreach/staff"
	"github.com/outreach-engine/outreach/timelog"
	"github.com/outreach-engine/outreach/ui"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const password = "correct horse battery"

type site struct {
	t       *testing.T
	db      *sqlx.DB
	srv     *httptest.Server
	urgent  int64
	routine int64
	mu      sync.Mutex
	now     time.Time
}

func (s *site) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// newSite serves the pages on a fresh database with staff RN1 (clinical nurse), FD1 (front
// desk) and a patient with a routine and an urgent item, raised in that order.
func newSite(t *testing.T) *site {
	d, _ := dbtest.Fresh(t)
	s := &site{t: t, db: d, now: time.Now().UTC().Add(-time.Hour).Truncate(time.Second)}
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1) ON CONFLICT DO NOTHING`,
		`INSERT INTO staff (practice_id, ext_id, credential, role, created_at, updated_at) VALUES (1, 'RN1', 'RN', 'clinical', $1, $1), (1, 'FD1', '', 'non_clinical', $1, $1), (1, 'AD1', '', 'non_clinical', $1, $1)`,
		`UPDATE staff SET access = 'admin', updated_at = $1 WHERE ext_id = 'AD1'`,
		`INSERT INTO patients (practice_id, ext_id, first_name, last_name, phone, timezone, programs, created_at, updated_at)
			VALUES (1, 'P1', 'Ann', 'Lee', '+15551110006', 'America/New_York', '{ccm}', $1, $1)`,
	} {
		if _, err := d.Exec(q, s.now); err != nil {
			t.Fatal(err)
		}
	}
	// A hash at bcrypt's lowest cost keeps the tests quick; logins compare at the stored cost.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`UPDATE staff SET password_hash = $1`, string(hash)); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var patient int64
	if err := d.Get(&patient, `SELECT id FROM patients`); err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	raise := func(sev escalation.Severity, reason string) int64 {
		r, err := escalation.Raise(ctx, d, escalation.Item{PracticeID: 1, PatientID: patient, Severity: sev, Reason: reason,
			Source: escalation.SourceRule, Question: "symptoms", Answer: "my chest hurts"}, escalation.DefaultDueTimes, s.clock(), ny)
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	s.routine = raise(escalation.Routine, "Missed doses")
	s.urgent = raise(escalation.Urgent, "Emergency words in a reply")
	lib, err := scripts.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	eng := outreach.New(d, lib, nil, s.clock, practice.Settings{ID: 1, Location: ny}, log)
	rates, err := billing.BundledRates()
	if err != nil {
		t.Fatal(err)
	}
	pages := &ui.Pages{DB: d, Practice: 1, Engine: eng,
		Billing: &billing.Store{DB: d, Practice: 1, Location: ny, Rates: rates, Clock: s.clock}, Queue: &escalation.Queue{DB: d, Practice: 1, Clock: s.clock},
		Time:     &timelog.Service{DB: d, Practice: 1, Clock: s.clock},
		Accounts: &web.Accounts{Sessions: &staff.Sessions{DB: d, Practice: 1, Clock: s.clock}}, Location: ny, Log: log,
		Readings: &monitoring.Service{DB: d, Practice: 1, Location: ny, Clock: s.clock, Log: log}}
	s.srv = httptest.NewServer(pages.Handler())
	t.Cleanup(s.srv.Close)
	return s
}

// client is a browser: cookies kept, redirects not followed.
func (s *site) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends a request as a same-origin browser form would, unless origin says otherwise.
func (s *site) do(c *http.Client, method, path string, form url.Values, origin string) (int, string, string) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.srv.URL+path, strings.NewReader(form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		if origin == s.srv.URL {
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		} else {
			req.Header.Set("Sec-Fetch-Site", "cross-site")
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func (s *site) login(c *http.Client, staff string) {
	s.t.Helper()
	code, loc, body := s.do(c, "POST", "/login", url.Values{"staff": {staff}, "password": {password}, "next": {"/"}}, s.srv.URL)
	if code != http.StatusSeeOther || loc != "/" {
		s.t.Fatalf("login as %s: %d %s %s", staff, code, loc, body)
	}
}

func TestLoginAndSessions(t *testing.T) {
	s := newSite(t)
	c := s.client()
	if code, loc, _ := s.do(c, "GET", "/items/1", nil, ""); code != http.StatusSeeOther || loc != "/login?next=%2Fitems%2F1" {
		t.Errorf("page without a session: %d %q", code, loc)
	}
	// An outside "next" never leads off the site.
	code, loc, _ := s.do(c, "POST", "/login", url.Values{"staff": {"RN1"}, "password": {password}, "next": {"//evil.example/x"}}, s.srv.URL)
	if code != http.StatusSeeOther || loc != "/" {
		t.Errorf("login with an outside next: %d %q", code, loc)
	}
	if code, _, body := s.do(c, "GET", "/", nil, ""); code != http.StatusOK || !strings.Contains(body, "RN1 (nurse)") {
		t.Errorf("queue after login: %d", code)
	}
	if code, loc, _ := s.do(c, "POST", "/logout", nil, s.srv.URL); code != http.StatusSeeOther || loc != "/login" {
		t.Errorf("logout: %d %q", code, loc)
	}
	if code, _, _ := s.do(c, "GET", "/", nil, ""); code != http.StatusSeeOther {
		t.Errorf("the session lived on after logout: %d", code)
	}
	// Five wrong passwords lock the staff id, even for the right one, and say for how long;
	// another staff member logs in from the same address meanwhile.
	for i := range 5 {
		if code, _, body := s.do(s.client(), "POST", "/login", url.Values{"staff": {"RN1"}, "password": {"wrong password " + fmt.Sprint(i)}}, s.srv.URL); code != http.StatusUnauthorized || !strings.Contains(body, "wrong password") {
			t.Fatalf("wrong password %d: %d", i, code)
		}
	}
	req, _ := http.NewRequest("POST", s.srv.URL+"/login", strings.NewReader(url.Values{"staff": {"RN1"}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" {
		t.Errorf("after 5 failures: %d, Retry-After %q; want 429 and 60", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	s.login(s.client(), "FD1")
	s.mu.Lock()
	s.now = s.now.Add(16 * time.Minute)
	s.mu.Unlock()
	s.login(s.client(), "RN1")
	var events []string
	if err := s.db.Select(&events, `SELECT action || ' ' || actor FROM audit_log WHERE action LIKE 'staff.log%' ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	want := "staff.login staff:1,staff.logout staff:1,staff.login_failed staff:1,staff.login_failed staff:1,staff.login_failed staff:1," +
		"staff.login_failed staff:1,staff.login_failed staff:1,staff.login_locked staff:1,staff.login staff:2,staff.login staff:1"
	if got := strings.Join(events, ","); got != want {
		t.Errorf("audit log:\n%s\nwant\n%s", got, want)
	}
}

// TestLoginNextStaysOnSite: before, /login?next=/%09/evil.example/x sent a clinician who typed
// the right password to http://evil.example/x (browsers drop the tab). Now any destination
// that is not a path of this site becomes "/".
func TestLoginNextStaysOnSite(t *testing.T) {
	s := newSite(t)
	for _, next := range []string{"/%09/evil.example/x", "/%5Cevil.example", "//evil.example", "https://evil.example/", "/%0a/evil.example"} {
		code, _, body := s.do(s.client(), "GET", "/login?next="+next, nil, "")
		if code != http.StatusOK || !strings.Contains(body, `name="next" value="/"`) {
			t.Errorf("login page for next=%s: %d, the form does not go to /", next, code)
		}
	}
	for _, next := range []string{"/\t/evil.example/x", "/\\evil.example/x", "/%2F/evil.example"} {
		code, loc, _ := s.do(s.client(), "POST", "/login", url.Values{"staff": {"RN1"}, "password": {password}, "next": {next}}, s.srv.URL)
		if code != http.StatusSeeOther || loc != "/" {
			t.Errorf("login with next %q: %d %q, want /", next, code, loc)
		}
	}
	code, loc, _ := s.do(s.client(), "POST", "/login", url.Values{"staff": {"RN1"}, "password": {password}, "next": {"/items/1?x=1"}}, s.srv.URL)
	if code != http.StatusSeeOther || loc != "/items/1?x=1" {
		t.Errorf("login with a page of the site: %d %q", code, loc)
	}
}

// TestPollingIsNotActivity: the queue's refresh and the claim's renewal, sent by the pages every
// few seconds or minutes, do not keep a session alive; 30 minutes after the person's last
// action the session is over and htmx is sent to the login page.
func TestPollingIsNotActivity(t *testing.T) {
	s := newSite(t)
	c := s.client()
	s.login(c, "RN1")
	claim := fmt.Sprintf("/items/%d/claim", s.urgent)
	renew := fmt.Sprintf("/items/%d/renew", s.urgent)
	if code, _, _ := s.do(c, "POST", claim, nil, s.srv.URL); code != http.StatusSeeOther {
		t.Fatalf("claim: %d", code)
	}
	if code, _, body := s.do(c, "GET", fmt.Sprintf("/items/%d", s.urgent), nil, ""); code != http.StatusOK || !strings.Contains(body, `hx-post="`+renew+`"`) {
		t.Fatalf("the item's page does not renew the claim through %s: %d", renew, code)
	}
	poll := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, s.srv.URL+path, nil)
		req.Header.Set("HX-Request", "true")
		if method == "POST" {
			req.Header.Set("Origin", s.srv.URL)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("HX-Redirect")
	}
	advance := func(d time.Duration) {
		s.mu.Lock()
		s.now = s.now.Add(d)
		s.mu.Unlock()
	}
	for range 5 {
		advance(5 * time.Minute)
		if code, _ := poll("GET", "/queue/table"); code != http.StatusOK {
			t.Fatalf("queue refresh: %d", code)
		}
		if code, _ := poll("POST", renew); code != http.StatusNoContent {
			t.Fatalf("claim renewal: %d", code)
		}
	}
	advance(5*time.Minute + time.Second)
	if code, redirect := poll("GET", "/queue/table"); code != http.StatusUnauthorized || redirect != "/login" {
		t.Errorf("queue refresh 30 minutes after the last action: %d %q, want 401 and /login", code, redirect)
	}
	if code, loc, _ := s.do(c, "GET", "/", nil, ""); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
		t.Errorf("the queue page after 30 idle minutes: %d %q, want the login page", code, loc)
	}
}

// The queue gathers a patient's items under their name; an item's page names the patient, gives
// the number to call, the question's text and local times, and who resolved it.
func TestQueueByPatientAndItemPage(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	ny, _ := time.LoadLocation("America/New_York")
	var patient, checkin int64
	if err := s.db.Get(&patient, `INSERT INTO patients (practice_id, ext_id, first_name, last_name, timezone, created_at, updated_at)
		VALUES (1, 'P2', 'Bo', 'Diaz', 'America/Chicago', $1, $1) RETURNING id`, s.now); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Get(&checkin, `INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status,
		started_at, last_sent_at) VALUES (1, $1, 'ccm-monthly', '2026-12-01T10:00', 'en', 'sms', 'open', $2, $2) RETURNING id`, patient, s.now); err != nil {
		t.Fatal(err)
	}
	r, err := escalation.Raise(ctx, s.db, escalation.Item{PracticeID: 1, PatientID: patient, CheckinID: &checkin, Severity: escalation.High,
		Reason: "Feels very unwell overall", Source: escalation.SourceRule, Question: "overall", Answer: "2"},
		escalation.DefaultDueTimes, s.clock(), ny)
	if err != nil {
		t.Fatal(err)
	}
	c := s.client()
	s.login(c, "RN1")
	_, _, body := s.do(c, "GET", "/", nil, "")
	groups := strings.Count(body, "<tbody data-patient=")
	p1 := body[strings.Index(body, `<tbody data-patient="P1"`):]
	p1 = p1[:strings.Index(p1, "</tbody>")]
	if groups != 2 || !strings.Contains(p1, "Ann Lee") || !strings.Contains(p1, "2 items") ||
		!strings.Contains(p1, fmt.Sprintf(`data-item="%d"`, s.urgent)) || !strings.Contains(p1, fmt.Sprintf(`data-item="%d"`, s.routine)) {
		t.Errorf("queue: %d groups; P1's group:\n%s", groups, p1)
	}
	if strings.Index(body, `data-patient="P1"`) > strings.Index(body, `data-patient="P2"`) {
		t.Error("the patient with the urgent item is not first")
	}
	_, _, body = s.do(c, "GET", fmt.Sprintf("/items/%d", r.ID), nil, "")
	at := s.clock().In(ny).Format("Jan 2 15:04 MST")
	for _, want := range []string{"Bo Diaz", "How are you feeling overall, from 0 (very bad) to 10 (very good)?", at} {
		if !strings.Contains(body, want) {
			t.Errorf("item page lacks %q", want)
		}
	}
	if !strings.Contains(body, "no phone on file") {
		t.Error("the item page of a patient without a phone does not say so")
	}
	item := fmt.Sprintf("/items/%d", s.urgent)
	_, _, body = s.do(c, "GET", item, nil, "")
	if !strings.Contains(body, `href="tel:&#43;15551110006"`) || !strings.Contains(body, "(555) 111-0006") || !strings.Contains(body, "Ann Lee") {
		t.Errorf("item page lacks the patient's name and click-to-call number:\n%s", body)
	}
	s.do(c, "POST", item+"/claim", nil, s.srv.URL)
	s.do(c, "POST", item+"/resolve", url.Values{"outcome": {"reached_patient"}, "note": {"Spoke with her."}}, s.srv.URL)
	if _, _, body = s.do(c, "GET", item, nil, ""); !strings.Contains(body, "by RN1: reached patient") {
		t.Errorf("the resolved item does not say who resolved it")
	}
	if _, _, body = s.do(c, "GET", "/?status=resolved", nil, ""); !strings.Contains(body, "resolved by RN1 (reached patient)") {
		t.Errorf("the queue does not say who resolved the item")
	}
	var reads int
	if err := s.db.Get(&reads, `SELECT count(*) FROM audit_log WHERE action = 'escalation.read'`); err != nil || reads != 4 {
		t.Errorf("item reads audited: %d, %v; want 4 (three pages and the resolution's)", reads, err)
	}
}

func TestQueueWorkflow(t *testing.T) {
	s := newSite(t)
	c := s.client()
	s.login(c, "RN1")
	_, _, body := s.do(c, "GET", "/", nil, "")
	u, r := strings.Index(body, fmt.Sprintf(`data-item="%d"`, s.urgent)), strings.Index(body, fmt.Sprintf(`data-item="%d"`, s.routine))
	if u < 0 || r < 0 || u > r {
		t.Fatalf("the urgent item is not at the top of the queue:\n%s", body)
	}
	item := fmt.Sprintf("/items/%d", s.urgent)
	// A form posted from another site is refused before it does anything.
	if code, _, _ := s.do(c, "POST", item+"/claim", nil, "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("cross-site claim: %d, want 403", code)
	}
	var status string
	if err := s.db.Get(&status, `SELECT status FROM escalations WHERE id = $1`, s.urgent); err != nil || status != "open" {
		t.Fatalf("after a forged claim the item is %q (%v)", status, err)
	}
	if code, loc, _ := s.do(c, "POST", item+"/claim", nil, s.srv.URL); code != http.StatusSeeOther || loc != item {
		t.Fatalf("claim: %d %q", code, loc)
	}
	_, _, body = s.do(c, "GET", item, nil, "")
	if !strings.Contains(body, "my chest hurts") || !strings.Contains(body, `name="outcome"`) {
		t.Fatalf("item page after the claim lacks the answer or the resolve form")
	}
	// The front desk may read the queue but not work it.
	fd := s.client()
	s.login(fd, "FD1")
	if code, _, _ := s.do(fd, "POST", fmt.Sprintf("/items/%d/claim", s.routine), nil, s.srv.URL); code != http.StatusForbidden {
		t.Errorf("front desk claim: %d, want 403", code)
	}
	s.mu.Lock()
	s.now = s.now.Add(9 * time.Minute)
	s.mu.Unlock()
	code, _, body := s.do(c, "POST", item+"/resolve", url.Values{"outcome": {"advised_ed_911"}, "note": {"Told to call 911."}}, s.srv.URL)
	if code != http.StatusOK || !strings.Contains(body, "Record 9 min 00 s of ccm time") {
		t.Fatalf("resolve: %d\n%s", code, body)
	}
	form := url.Values{}
	for _, f := range []string{"patients", "interactive", "program", "started_date", "started_time", "ended_date", "ended_time", "activity", "note"} {
		form.Set(f, valueOf(body, f))
	}
	if code, loc, body := s.do(c, "POST", item+"/time", form, s.srv.URL); code != http.StatusSeeOther || loc != item+"?recorded=1" {
		t.Fatalf("record time: %d %q %s", code, loc, body)
	}
	var entry struct {
		Program  string `db:"program"`
		Activity string `db:"activity"`
		Seconds  int    `db:"seconds"`
	}
	if err := s.db.Get(&entry, `SELECT program, activity, extract(epoch FROM ended_at - started_at)::int AS seconds FROM time_entries`); err != nil {
		t.Fatal(err)
	}
	if entry.Program != "ccm" || entry.Activity != "patient_call" || entry.Seconds != 540 {
		t.Errorf("time entry = %+v", entry)
	}
	// The patient's page shows the entry and takes one by hand; reading it is audited.
	code, _, body = s.do(c, "GET", "/patients/P1", nil, "")
	if code != http.StatusOK || !strings.Contains(body, "Told to call 911.") || !strings.Contains(body, "ccm 9.0 min") {
		t.Fatalf("patient page: %d\n%s", code, body)
	}
	ny, _ := time.LoadLocation("America/New_York")
	start := s.clock().Add(-30 * time.Minute).In(ny)
	form = url.Values{"program": {"ccm"}, "started_date": {start.Format("2006-01-02")}, "started_time": {start.Format("15:04")},
		"minutes": {"12"}, "activity": {"care_plan"}, "note": {"Updated the care plan after the ED visit."}}
	if code, loc, body := s.do(c, "POST", "/patients/P1/time", form, s.srv.URL); code != http.StatusSeeOther || loc != "/patients/P1?recorded=1" {
		t.Fatalf("manual time: %d %q %s", code, loc, body)
	}
	form.Set("minutes", "zero")
	if code, _, body := s.do(c, "POST", "/patients/P1/time", form, s.srv.URL); code != http.StatusBadRequest || !strings.Contains(body, "minutes must be") {
		t.Errorf("bad minutes: %d", code)
	}
	if _, _, body := s.do(c, "GET", "/patients/P1", nil, ""); !strings.Contains(body, "ccm 21.0 min") {
		t.Errorf("the month's total does not count the manual entry")
	}
	if code, _, _ := s.do(c, "GET", "/patients/NOPE", nil, ""); code != http.StatusNotFound {
		t.Errorf("unknown patient: %d", code)
	}
	// The month's billing page and its CSV.
	month := s.clock().In(time.UTC).Format("2006-01")
	if code, _, body := s.do(c, "GET", "/billing?month="+month, nil, ""); code != http.StatusOK || !strings.Contains(body, `<a href="/patients/P1">P1</a></td><td>ccm</td>`) || !strings.Contains(body, "no billing npi") {
		t.Errorf("billing page: %d\n%s", code, body)
	}
	if code, _, body := s.do(c, "GET", "/billing.csv?month="+month, nil, ""); code != http.StatusOK || !strings.Contains(body, "P1") {
		t.Errorf("billing CSV: %d %s", code, body)
	}
	if code, _, _ := s.do(c, "GET", "/billing?month=13", nil, ""); code != http.StatusBadRequest {
		t.Errorf("bad month: %d", code)
	}
	var reads int
	if err := s.db.Get(&reads, `SELECT count(*) FROM audit_log WHERE action = 'patient.read'`); err != nil || reads < 2 {
		t.Errorf("patient page reads audited: %d, %v", reads, err)
	}
}

// valueOf finds a form field's value in a page: an input's value or a textarea's text, or the
// selected option.
func valueOf(page, name string) string {
	i := strings.Index(page, `name="`+name+`"`)
	if i < 0 {
		return ""
	}
	rest := page[i:]
	end := strings.Index(rest, ">")
	tag := rest[:end]
	if v := strings.Index(tag, `value="`); v >= 0 {
		return htmlUnescape(tag[v+7 : v+7+strings.Index(tag[v+7:], `"`)])
	}
	if strings.Contains(page[strings.LastIndex(page[:i], "<"):i], "<textarea") {
		return htmlUnescape(rest[end+1 : end+1+strings.Index(rest[end+1:], "</textarea>")])
	}
	if sel := strings.Index(rest, "selected"); sel >= 0 {
		opt := rest[:sel]
		v := strings.LastIndex(opt, `value="`)
		return opt[v+7 : v+7+strings.Index(opt[v+7:], `"`)]
	}
	return ""
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#43;", "+", "&amp;", "&", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

func TestStaffAdmin(t *testing.T) {
	s := newSite(t)
	nurse, fd, admin := s.client(), s.client(), s.client()
	s.login(nurse, "RN1")
	s.login(fd, "FD1")
	s.login(admin, "AD1")
	if code, _, _ := s.do(nurse, "GET", "/staff", nil, ""); code != http.StatusForbidden {
		t.Errorf("a nurse on the staff page: %d, want 403", code)
	}
	if code, _, body := s.do(admin, "GET", "/staff", nil, ""); code != http.StatusOK || !strings.Contains(body, `data-staff="FD1"`) {
		t.Fatalf("staff page: %d", code)
	}
	if code, loc, _ := s.do(admin, "POST", "/staff/RN1/access", url.Values{"access": {"manager"}}, s.srv.URL); code != http.StatusSeeOther || loc != "/staff?saved=1" {
		t.Errorf("set access: %d %q", code, loc)
	}
	if code, _, _ := s.do(admin, "POST", "/staff/FD1/disable", nil, s.srv.URL); code != http.StatusSeeOther {
		t.Errorf("disable: %d", code)
	}
	if code, _, _ := s.do(fd, "GET", "/", nil, ""); code != http.StatusSeeOther {
		t.Errorf("a disabled account's session still works: %d", code)
	}
	if code, _, _ := s.do(admin, "POST", "/staff/AD1/disable", nil, s.srv.URL); code != http.StatusConflict {
		t.Errorf("an admin disabling themselves: %d, want 409", code)
	}
	if code, _, _ := s.do(admin, "POST", "/staff/RN1/access", url.Values{"access": {"boss"}}, s.srv.URL); code != http.StatusBadRequest {
		t.Errorf("unknown access: %d", code)
	}
	var access string
	if err := s.db.Get(&access, `SELECT access FROM staff WHERE ext_id = 'RN1'`); err != nil || access != "manager" {
		t.Errorf("RN1 access = %q, %v", access, err)
	}
}

func TestPatientTimer(t *testing.T) {
	s := newSite(t)
	c := s.client()
	s.login(c, "RN1")
	if code, loc, body := s.do(c, "POST", "/patients/P1/timer/start", url.Values{"program": {"ccm"}, "activity": {"care_plan"}}, s.srv.URL); code != http.StatusSeeOther || loc != "/patients/P1" {
		t.Fatalf("start: %d %q %s", code, loc, body)
	}
	if _, _, body := s.do(c, "GET", "/patients/P1", nil, ""); !strings.Contains(body, "Timer running since") {
		t.Fatal("the patient page does not show the running timer")
	}
	if code, _, _ := s.do(c, "POST", "/patients/P1/timer/start", url.Values{"program": {"ccm"}, "activity": {"care_plan"}}, s.srv.URL); code != http.StatusConflict {
		t.Errorf("a second timer: %d, want 409", code)
	}
	s.mu.Lock()
	s.now = s.now.Add(17 * time.Minute)
	s.mu.Unlock()
	if code, loc, body := s.do(c, "POST", "/patients/P1/timer/stop", url.Values{"note": {"Care plan reviewed with the patient."}, "interactive": {"true"}}, s.srv.URL); code != http.StatusSeeOther || loc != "/patients/P1?recorded=1" {
		t.Fatalf("stop: %d %q %s", code, loc, body)
	}
	var seconds int
	if err := s.db.Get(&seconds, `SELECT extract(epoch FROM ended_at - started_at)::int FROM time_entries WHERE source = 'timer' AND interactive`); err != nil || seconds != 17*60 {
		t.Errorf("timer entry = %d s, %v; want 1020", seconds, err)
	}
	if code, _, _ := s.do(c, "POST", "/patients/P1/timer/stop", nil, s.srv.URL); code != http.StatusConflict {
		t.Errorf("stopping with no timer: %d, want 409", code)
	}
}

// TestPagesByAccess walks every page route as each kind of staff member: a clinical nurse, the
// front desk (non-clinical), a manager and an admin, and no one.
func TestPagesByAccess(t *testing.T) {
	s := newSite(t)
	if _, err := s.db.Exec(`INSERT INTO staff (practice_id, ext_id, role, access, password_hash, created_at, updated_at)
		SELECT 1, 'MG1', 'non_clinical', 'manager', password_hash, $1, $1 FROM staff WHERE ext_id = 'RN1'`, s.now); err != nil {
		t.Fatal(err)
	}
	clients := map[string]*http.Client{"none": s.client()}
	for _, who := range []string{"RN1", "FD1", "MG1", "AD1"} {
		clients[who] = s.client()
		s.login(clients[who], who)
	}
	item := fmt.Sprintf("/items/%d", s.routine)
	type want map[string]int
	tests := []struct {
		method, path string
		codes        want
	}{
		{"GET", "/", want{"none": 303, "RN1": 200, "FD1": 200, "MG1": 200, "AD1": 200}},
		{"GET", "/queue/table", want{"none": 303, "RN1": 200, "FD1": 200, "MG1": 200, "AD1": 200}},
		{"GET", item, want{"none": 303, "RN1": 200, "FD1": 200, "MG1": 200, "AD1": 200}},
		{"GET", "/patients/P1", want{"none": 303, "RN1": 200, "FD1": 200, "MG1": 200, "AD1": 200}},
		{"GET", "/billing", want{"none": 303, "RN1": 200, "FD1": 200, "MG1": 200, "AD1": 200}},
		{"GET", "/billing.csv", want{"none": 303, "RN1": 200, "FD1": 200, "MG1": 200, "AD1": 200}},
		{"GET", "/audit", want{"none": 303, "RN1": 403, "FD1": 403, "MG1": 200, "AD1": 200}},
		{"GET", "/staff", want{"none": 303, "RN1": 403, "FD1": 403, "MG1": 403, "AD1": 200}},
		{"POST", item + "/claim", want{"none": 401, "FD1": 403, "MG1": 403, "AD1": 403, "RN1": 303}},
		{"POST", item + "/renew", want{"none": 401, "FD1": 403, "MG1": 403, "AD1": 403, "RN1": 204}},
		{"POST", item + "/release", want{"none": 401, "FD1": 403, "RN1": 303}},
		{"POST", "/staff/FD1/access", want{"none": 401, "RN1": 403, "FD1": 403, "MG1": 403}},
		{"POST", "/logout", want{"none": 401}},
	}
	for _, tt := range tests {
		for _, who := range []string{"none", "RN1", "FD1", "MG1", "AD1"} {
			code, ok := tt.codes[who]
			if !ok {
				continue
			}
			if got, _, _ := s.do(clients[who], tt.method, tt.path, url.Values{"access": {"nurse"}}, s.srv.URL); got != code {
				t.Errorf("%s %s as %s: %d, want %d", tt.method, tt.path, who, got, code)
			}
		}
	}
}

// The audit page filters by the ids people use, and names who acted by id and name.
func TestAuditPageByPeoplesIDs(t *testing.T) {
	s := newSite(t)
	if _, err := s.db.Exec(`UPDATE staff SET name = 'Ada Admin' WHERE ext_id = 'AD1'`); err != nil {
		t.Fatal(err)
	}
	c := s.client()
	s.login(c, "AD1")
	s.do(c, "GET", "/patients/P1", nil, "") // an audited read, by AD1
	_, _, body := s.do(c, "GET", "/audit?entity_id=P1&actor=AD1", nil, "")
	if !strings.Contains(body, "<td>AD1 (Ada Admin)</td><td>patient.read</td><td>patient P1</td>") {
		t.Errorf("the audit page does not show the read by AD1 of P1:\n%s", body)
	}
	if _, _, body = s.do(c, "GET", "/audit?actor=RN1", nil, ""); strings.Contains(body, "patient.read") {
		t.Errorf("RN1's events include AD1's read")
	}
}

// TestPagesEscapePatientWords: what patients write is shown as text, never run as markup.
func TestPagesEscapePatientWords(t *testing.T) {
	s := newSite(t)
	hostile := `<script>alert("x")</script><img src=x onerror=alert(1)>'; DROP TABLE patients; --`
	if _, err := s.db.Exec(`INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status, started_at, last_sent_at, ended_at)
		SELECT 1, id, 'ccm-monthly', 'p', 'en', 'sms', 'completed', $1, $1, $1 FROM patients`, s.now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`INSERT INTO checkin_answers (practice_id, checkin_id, question_id, value, raw, answered_at)
		SELECT 1, id, 'symptoms', $2, $2, $1 FROM checkins`, s.now, hostile); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE escalations SET details = jsonb_build_array(jsonb_build_object('answer', $1::text))`, hostile); err != nil {
		t.Fatal(err)
	}
	c := s.client()
	s.login(c, "RN1")
	for _, path := range []string{"/patients/P1", fmt.Sprintf("/items/%d", s.urgent)} {
		_, _, body := s.do(c, "GET", path, nil, "")
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s renders the patient's words as markup", path)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(") {
			t.Errorf("%s does not show the patient's words", path)
		}
	}
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM patients`); err != nil || n != 1 {
		t.Errorf("patients = %d, %v", n, err)
	}
}
