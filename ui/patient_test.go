package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestPatientPageSaysWhoIsContacted: the page names the patient, links their phone for a
// call, says in plain words why they are not contacted (or how they are), and shows answers
// by their question's text, instants in the practice's zone.
func TestPatientPageSaysWhoIsContacted(t *testing.T) {
	s := newSite(t)
	c := s.client()
	s.login(c, "RN1")
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`UPDATE patients SET first_name = 'Ada', last_name = 'Lovelace', phone = '+15551110006'`)
	_, _, body := s.do(c, "GET", "/patients/P1", nil, "")
	for _, want := range []string{"Ada Lovelace", `<a id="phone" href="tel:&#43;15551110006">(555) 111-0006</a>`,
		"Not contacted:", "No consent on file, and the practice has no consent exemption."} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	exec(`INSERT INTO consents (practice_id, patient_id, given_at, npi, documented, revoked_at, created_at, updated_at)
		SELECT 1, id, '2025-01-10T15:00:00Z', '1111111112', true, '2025-07-04T16:30:00Z', $1, $1 FROM patients`, s.now)
	exec(`UPDATE patients SET opted_out_at = '2025-12-01T15:04:00Z', opt_out_source = 'sms', programs = '{rpm}', active = false`)
	_, _, body = s.do(c, "GET", "/patients/P1", nil, "")
	for _, want := range []string{"Opted out by text (STOP, or a request in their words) on Dec 1 10:04 EST.", "Inactive: all outreach is stopped.",
		"Consent revoked on Jul 4 12:30 EDT.", "Not in CCM and no check-in script of their own.",
		"given Jan 10 10:00 EST, <strong>revoked Jul 4 12:30 EDT</strong>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	exec(`UPDATE consents SET revoked_at = NULL`)
	exec(`UPDATE patients SET opted_out_at = NULL, opt_out_source = NULL, programs = '{ccm}', active = true, channel = 'voice'`)
	exec(`INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status, started_at, last_sent_at, ended_at)
		SELECT 1, id, 'ccm-monthly', '2025-12-01T10:00', 'en', 'sms', 'completed', '2025-12-01T15:00:00Z', '2025-12-01T15:00:00Z', '2025-12-01T15:20:00Z' FROM patients`)
	exec(`INSERT INTO checkin_answers (practice_id, checkin_id, question_id, value, raw, answered_at)
		SELECT 1, id, 'overall', '8', 'Pretty good, 8', '2025-12-01T15:10:00Z' FROM checkins`)
	_, _, body = s.do(c, "GET", "/patients/P1", nil, "")
	for _, want := range []string{"<strong>Contacted by phone</strong>.", "How are you feeling overall, from 0 (very bad) to 10 (very good)?",
		"started Dec 1 10:00 EST, ended Dec 1 10:20 EST", "<td>Dec 1 10:10 EST</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Not contacted") || strings.Contains(body, `action="/patients/P1/active"`) {
		t.Errorf("a contacted patient's page, for a nurse, says they are not contacted or offers to make them inactive")
	}
	var reads int
	if err := s.db.Get(&reads, `SELECT count(*) FROM audit_log WHERE action = 'patient.read' AND entity_id = (SELECT id::text FROM patients)`); err != nil || reads != 3 {
		t.Errorf("page reads audited: %d, %v", reads, err)
	}
}

// TestPatientActiveToggle: a manager makes a patient inactive with a reason, which cancels what
// is queued and is audited, and active again; a nurse is refused.
func TestPatientActiveToggle(t *testing.T) {
	s := newSite(t)
	if _, err := s.db.Exec(`INSERT INTO staff (practice_id, ext_id, role, access, password_hash, created_at, updated_at)
		SELECT 1, 'MG1', 'non_clinical', 'manager', password_hash, $1, $1 FROM staff WHERE ext_id = 'RN1'`, s.now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE patients SET phone = '+15551110006'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`
		WITH c AS (INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status, started_at, last_sent_at)
			SELECT 1, id, 'ccm-monthly', 'p', 'en', 'sms', 'open', $1, $1 FROM patients RETURNING id, patient_id)
		INSERT INTO messages (practice_id, patient_id, checkin_id, direction, kind, phone, body, status, next_attempt_at, created_at, updated_at)
		SELECT 1, patient_id, id, 'out', 'question', '+15551110006', 'How are you?', 'queued', $1, $1, $1 FROM c`, s.now); err != nil {
		t.Fatal(err)
	}
	nurse, mgr := s.client(), s.client()
	s.login(nurse, "RN1")
	s.login(mgr, "MG1")
	form := url.Values{"active": {"false"}, "reason": {"Imported by mistake"}}
	if code, _, _ := s.do(nurse, "POST", "/patients/P1/active", form, s.srv.URL); code != http.StatusForbidden {
		t.Errorf("a nurse's post: %d, want 403", code)
	}
	if code, _, _ := s.do(mgr, "POST", "/patients/P1/active", form, "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("a cross-site post: %d, want 403", code)
	}
	if code, _, body := s.do(mgr, "POST", "/patients/P1/active", url.Values{"active": {"false"}}, s.srv.URL); code != http.StatusBadRequest || !strings.Contains(body, "reason: say why") {
		t.Errorf("no reason: %d", code)
	}
	var active bool
	if err := s.db.Get(&active, `SELECT active FROM patients`); err != nil || !active {
		t.Fatalf("refused posts changed the patient: active %v, %v", active, err)
	}
	_, _, body := s.do(mgr, "GET", "/patients/P1", nil, "")
	if !strings.Contains(body, `action="/patients/P1/active"`) || !strings.Contains(body, "Make inactive") {
		t.Fatalf("a manager has no control to make the patient inactive:\n%s", body)
	}
	code, loc, _ := s.do(mgr, "POST", "/patients/P1/active", form, s.srv.URL)
	if code != http.StatusSeeOther || loc != "/patients/P1?active=0" {
		t.Fatalf("deactivate: %d %q", code, loc)
	}
	var st struct {
		Active  bool   `db:"active"`
		Checkin string `db:"checkin"`
		Message string `db:"message"`
	}
	if err := s.db.Get(&st, `SELECT p.active, c.status AS checkin, m.status AS message
		FROM patients p JOIN checkins c ON c.patient_id = p.id JOIN messages m ON m.checkin_id = c.id`); err != nil {
		t.Fatal(err)
	}
	if st.Active || st.Checkin != "cancelled" || st.Message != "cancelled" {
		t.Errorf("after deactivation: %+v", st)
	}
	var ev struct {
		Actor, EntityID, Reason string
	}
	if err := s.db.QueryRow(`SELECT actor, entity_id, detail->>'reason' FROM audit_log WHERE action = 'patient.deactivate' AND entity = 'patient'`).Scan(&ev.Actor, &ev.EntityID, &ev.Reason); err != nil {
		t.Fatal(err)
	}
	var ids struct {
		Staff   string `db:"staff"`
		Patient string `db:"patient"`
	}
	if err := s.db.Get(&ids, `SELECT (SELECT 'staff:' || id FROM staff WHERE ext_id = 'MG1') AS staff, (SELECT id::text FROM patients) AS patient`); err != nil {
		t.Fatal(err)
	}
	if ev.Actor != ids.Staff || ev.EntityID != ids.Patient || ev.Reason != "Imported by mistake" {
		t.Errorf("audit = %+v, want %+v", ev, ids)
	}
	_, _, body = s.do(mgr, "GET", loc, nil, "")
	for _, want := range []string{"The patient is inactive", "Inactive: all outreach is stopped.", "by MG1: Imported by mistake", "Make active again"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page after deactivation lacks %q", want)
		}
	}
	code, loc, _ = s.do(mgr, "POST", "/patients/P1/active", url.Values{"active": {"true"}, "reason": {"Enrolled after all"}}, s.srv.URL)
	if code != http.StatusSeeOther || loc != "/patients/P1?active=1" {
		t.Fatalf("activate: %d %q", code, loc)
	}
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM audit_log WHERE action = 'patient.activate' AND detail->>'reason' = 'Enrolled after all'`); err != nil || n != 1 {
		t.Errorf("activations audited: %d, %v", n, err)
	}
	if code, _, _ := s.do(mgr, "POST", "/patients/NOPE/active", form, s.srv.URL); code != http.StatusNotFound {
		t.Errorf("unknown patient: %d, want 404", code)
	}
	if code, _, _ := s.do(mgr, "POST", "/patients/P1/active", url.Values{"active": {"maybe"}, "reason": {"x"}}, s.srv.URL); code != http.StatusBadRequest {
		t.Errorf("active=maybe: %d, want 400", code)
	}
}

// TestTimeFormsByRole: the front desk is offered no time form or timer on a patient's page, and
// a form posted all the same records nothing (403), nor does a timer; a nurse records hers.
func TestTimeFormsByRole(t *testing.T) {
	s := newSite(t)
	ny, _ := time.LoadLocation("America/New_York")
	start := s.clock().Add(-time.Hour).In(ny)
	form := url.Values{"program": {"ccm"}, "started_date": {start.Format("2006-01-02")}, "started_time": {start.Format("15:04")},
		"minutes": {"40"}, "activity": {"care_plan"}, "note": {"Reviewed the care plan."}}
	for _, tt := range []struct {
		who        string
		forms      bool
		time, tick int // the answers to a time form and to a timer's start
	}{
		{"FD1", false, http.StatusForbidden, http.StatusForbidden},
		{"RN1", true, http.StatusSeeOther, http.StatusSeeOther},
	} {
		c := s.client()
		s.login(c, tt.who)
		_, _, page := s.do(c, "GET", "/patients/P1", nil, "")
		if got := strings.Contains(page, `aria-label="Record time"`) && strings.Contains(page, `id="timer-start-button"`); got != tt.forms {
			t.Errorf("%s is offered the time forms: %v, want %v", tt.who, got, tt.forms)
		}
		code, _, body := s.do(c, "POST", "/patients/P1/time", form, s.srv.URL)
		if code != tt.time {
			t.Errorf("%s posts time: %d, want %d\n%s", tt.who, code, tt.time, body)
		}
		if tt.time == http.StatusForbidden && !strings.Contains(body, "FD1 is non-clinical staff") {
			t.Errorf("the refusal does not say why:\n%s", body)
		}
		if code, _, _ := s.do(c, "POST", "/patients/P1/timer/start", url.Values{"program": {"ccm"}, "activity": {"care_plan"}}, s.srv.URL); code != tt.tick {
			t.Errorf("%s starts a timer: %d, want %d", tt.who, code, tt.tick)
		}
	}
	var entries, timers []string
	if err := s.db.Select(&entries, `SELECT s.ext_id FROM time_entries e JOIN staff s ON s.id = e.staff_id`); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Select(&timers, `SELECT s.ext_id FROM timers t JOIN staff s ON s.id = t.staff_id`); err != nil {
		t.Fatal(err)
	}
	if strings.Join(entries, ",") != "RN1" || strings.Join(timers, ",") != "RN1" {
		t.Errorf("entries of %v and timers of %v, want RN1's only", entries, timers)
	}
}
