package ui_test

import (
	"net/http"
	"strings"
	"testing"
)

// The queue shows a hundred items a page, with links to the pages before and after that keep
// the filter; its refresh keeps the page; an offset that is not a count is a clear error.
func TestQueuePages(t *testing.T) {
	s := newSite(t)
	// 248 more routine items, each of its own patient, raised after the site's two.
	if _, err := s.db.Exec(`WITH p AS (
			INSERT INTO patients (practice_id, ext_id, first_name, last_name, timezone, created_at, updated_at)
			SELECT 1, 'Q' || i, 'Pat', 'Q' || i, 'America/New_York', $1, $1 FROM generate_series(1, 248) AS i
			RETURNING id, ext_id)
		INSERT INTO escalations (practice_id, patient_id, severity, reason, source, status, created_at, due_at, updated_at)
		SELECT 1, id, 'routine', 'Missed doses', 'rule', 'open', $1::timestamptz + make_interval(secs => substr(ext_id, 2)::int), $1, $1 FROM p`,
		s.now); err != nil {
		t.Fatal(err)
	}
	c := s.client()
	s.login(c, "RN1")
	rows := func(body string) int { return strings.Count(body, "<tr data-item=") }
	link := func(body, id string) string {
		t.Helper()
		i := strings.Index(body, `id="`+id+`" href="`)
		if i < 0 {
			return ""
		}
		rest := body[i+len(`id="`+id+`" href="`):]
		return htmlUnescape(rest[:strings.Index(rest, `"`)])
	}
	_, _, body := s.do(c, "GET", "/?severity=routine", nil, "")
	if rows(body) != 100 || !strings.Contains(body, "Items 1 to 100") || link(body, "queue-earlier") != "" {
		t.Fatalf("first page: %d rows\n%s", rows(body), body)
	}
	next := link(body, "queue-later")
	if next != "/?claimed_by=&offset=100&severity=routine&status=" {
		t.Fatalf("the link to the next page is %q", next)
	}
	_, _, body = s.do(c, "GET", "/?severity=routine&offset=200", nil, "")
	if rows(body) != 49 || !strings.Contains(body, "Items 201 to 249") || link(body, "queue-later") != "" ||
		link(body, "queue-earlier") != "/?claimed_by=&offset=100&severity=routine&status=" ||
		!strings.Contains(body, `hx-get="/queue/table?claimed_by=&amp;offset=200&amp;severity=routine&amp;status="`) ||
		!strings.Contains(body, `data-patient="Q248"`) || strings.Contains(body, `data-patient="Q199"`) {
		t.Fatalf("last page: %d rows\n%s", rows(body), body)
	}
	if code, _, body := s.do(c, "GET", "/queue/table?offset=100", nil, ""); code != http.StatusOK || rows(body) != 100 ||
		!strings.Contains(body, `data-patient="Q99"`) {
		t.Errorf("a refresh of the second page: %d, %d rows", code, rows(body))
	}
	if _, _, body := s.do(c, "GET", "/?offset=900", nil, ""); rows(body) != 0 || !strings.Contains(body, "No items this far down the queue.") {
		t.Errorf("a page past the end:\n%s", body)
	}
	for _, bad := range []string{"-1", "ten"} {
		if code, _, body := s.do(c, "GET", "/?offset="+bad, nil, ""); code != http.StatusBadRequest ||
			!strings.Contains(body, `offset &#34;`+bad+`&#34; is not a count of items`) {
			t.Errorf("offset %s: %d\n%s", bad, code, body)
		}
	}
}
