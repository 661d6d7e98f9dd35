package ui_test

import (
	"regexp"
	"strings"
	"testing"
)

// The patient's page shows the newest 100 texts and 12 check-ins, and this month's time; links
// lead to the older texts, the older check-ins and the months before, so that nothing of the
// patient's history is out of reach, and each page of it is audited as a read.
func TestPatientPageLinksToOlderHistory(t *testing.T) {
	s := newSite(t)
	c := s.client()
	s.login(c, "RN1")
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := s.db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	// 105 texts a day apart, the oldest first; 14 monthly check-ins; time a month ago.
	exec(`INSERT INTO messages (practice_id, patient_id, direction, kind, phone, body, status, created_at, updated_at)
		SELECT 1, p.id, 'in', 'reply', '+15551110006', 'text number ' || n, 'received', $1::timestamptz - (106 - n) * interval '1 day',
			$1::timestamptz - (106 - n) * interval '1 day'
		FROM patients p, generate_series(1, 105) n WHERE p.ext_id = 'P1'`, s.now)
	exec(`INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status, started_at, last_sent_at, ended_at)
		SELECT 1, p.id, 'ccm-monthly', 'period ' || n, 'en', 'sms', 'completed', $1::timestamptz - (15 - n) * interval '1 month',
			$1::timestamptz - (15 - n) * interval '1 month', $1::timestamptz - (15 - n) * interval '1 month' + interval '1 hour'
		FROM patients p, generate_series(1, 14) n WHERE p.ext_id = 'P1'`, s.now)
	exec(`INSERT INTO checkin_answers (practice_id, checkin_id, question_id, value, raw, answered_at)
		SELECT 1, id, 'overall', '8', 'answer to ' || period, started_at + interval '10 minutes' FROM checkins`)

	_, _, body := s.do(c, "GET", "/patients/P1", nil, "")
	for _, want := range []string{"text number 105", "text number 6<", "answer to period 14", "answer to period 3<", "Time this month"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, not := range []string{"text number 5<", "answer to period 2<", `id="texts-newest"`} {
		if strings.Contains(body, not) {
			t.Errorf("the page shows %q, beyond its newest 100 texts and 12 check-ins", not)
		}
	}
	link := func(body, id string) string {
		t.Helper()
		m := regexp.MustCompile(`id="` + id + `" href="([^"]+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no link %s on the page", id)
		}
		return strings.ReplaceAll(m[1], "&amp;", "&")
	}
	_, _, older := s.do(c, "GET", link(body, "texts-older"), nil, "")
	for _, want := range []string{"text number 5<", "text number 1<", `id="texts-newest"`} {
		if !strings.Contains(older, want) {
			t.Errorf("the page of older texts lacks %q", want)
		}
	}
	if strings.Contains(older, "text number 6<") || strings.Contains(older, `id="texts-older"`) {
		t.Errorf("the page of older texts repeats a newer one, or links to more")
	}
	_, _, older = s.do(c, "GET", link(body, "checkins-older"), nil, "")
	if !strings.Contains(older, "answer to period 2<") || !strings.Contains(older, "answer to period 1<") ||
		strings.Contains(older, "answer to period 3<") || !strings.Contains(older, `id="checkins-newest"`) {
		t.Errorf("the page of older check-ins does not hold just the two oldest with their answers")
	}
	prev := link(body, "time-prev")
	if !strings.Contains(prev, "month=") {
		t.Errorf("previous month's link %q names no month", prev)
	}
	status, _, month := s.do(c, "GET", prev, nil, "")
	if status != 200 || !strings.Contains(month, "Time in ") || !strings.Contains(month, `id="time-next"`) {
		t.Errorf("previous month's page: %d, lacks its heading or the link back", status)
	}
	if status, _, _ := s.do(c, "GET", "/patients/P1?texts_before=nope", nil, ""); status != 400 {
		t.Errorf("a bad page of texts: %d, want 400", status)
	}
	var reads int
	if err := s.db.Get(&reads, `SELECT count(*) FROM audit_log WHERE action = 'patient.read' AND entity_id = (SELECT id::text FROM patients WHERE ext_id = 'P1')`); err != nil || reads != 4 {
		t.Errorf("page reads audited: %d, %v; want %d", reads, err, 4)
	}
}
