package outreach_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/staff"
)

// A conversation read a page at a time, each page before the last text of the one before,
// gives every text once, newest first, over months of history; texts at the same instant are
// told apart by id.
func TestThreadPagesReachEveryText(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC), quietNight, "")
	r.patients("H1 +15550920001 America/New_York en -", "H2 +15550920002 America/New_York en -")
	at := []time.Time{
		time.Date(2026, 6, 3, 10, 0, 0, 0, time.UTC), time.Date(2026, 8, 9, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 8, 9, 10, 0, 0, 0, time.UTC), time.Date(2026, 8, 9, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 30, 23, 59, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC),
	}
	var want []int64
	for i, a := range at {
		var id int64
		if err := r.db.Get(&id, `INSERT INTO messages (practice_id, patient_id, direction, kind, phone, body, status, created_at, updated_at)
			VALUES (1, $1, 'in', 'reply', '+15550920001', $2, 'received', $3, $3) RETURNING id`, r.id("H1"), fmt.Sprintf("text %d", i), a); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	var other int64
	if err := r.db.Get(&other, `INSERT INTO messages (practice_id, patient_id, direction, kind, phone, body, status, created_at, updated_at)
		VALUES (1, $1, 'in', 'reply', '+15550920002', 'not H1', 'received', $2, $2) RETURNING id`, r.id("H2"), at[3]); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(want) // newest first; the same instant, the higher id first
	slices.SortStableFunc(want[4:7], func(a, b int64) int { return int(b - a) })
	ctx := context.Background()
	h1 := outreach.Party{Patient: r.id("H1")}
	var got []int64
	before := int64(0)
	for pages := 0; pages < 10; pages++ {
		page, err := r.eng.ThreadBefore(ctx, r.db, h1, before, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("page of %d texts, limit 3", len(page))
		}
		for _, m := range page {
			got = append(got, m.ID)
		}
		if len(page) < 3 {
			break
		}
		before = page[len(page)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("texts page by page = %v, want %v", got, want)
	}
	// A page that the recent months do not fill goes on into the older ones.
	if page, err := r.eng.Thread(ctx, r.db, h1, 5); err != nil || len(page) != 5 || page[3].ID != want[3] || page[4].ID != want[4] {
		t.Errorf("a page of 5 = %+v, %v; want %v", page, err, want[:5])
	}
	if _, err := r.eng.ThreadBefore(ctx, r.db, h1, other, 3); !errors.Is(err, errkind.ErrInvalid) {
		t.Errorf("a page before another patient's text: %v, want ErrInvalid", err)
	}

	// The API pages the same way: ?limit=2&before=ID.
	tok := staff.Identity{PracticeID: 1, StaffID: 1, Staff: "RN1", Role: "clinical"}
	ask := func(query string) ([]outreach.MessageView, error) {
		req := httptest.NewRequest("GET", "/api/v1/patients/H1/messages?"+query, nil)
		req.SetPathValue("id", "H1")
		_, v, err := r.eng.MessagesHandler(req, tok)
		if err != nil {
			return nil, err
		}
		return v.([]outreach.MessageView), nil
	}
	page, err := ask(fmt.Sprintf("limit=2&before=%d", want[1]))
	if err != nil || len(page) != 2 || page[0].ID != want[2] || page[1].ID != want[3] {
		t.Errorf("API page before %d = %+v, %v; want %v", want[1], page, err, want[2:4])
	}
	for _, q := range []string{"before=x", "before=0", "limit=501", fmt.Sprintf("before=%d", other)} {
		if _, err := ask(q); !errors.Is(err, errkind.ErrInvalid) {
			t.Errorf("API ?%s: %v, want ErrInvalid", q, err)
		}
	}
}

// Check-ins read a page at a time carry their own answers, however long after the check-in
// started (the next month) they came; the pages hold every check-in once.
func TestCheckinPagesCarryTheirAnswers(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC), quietNight, "")
	r.patients("C1 +15550930001 America/New_York en -")
	patient := r.id("C1")
	var want []int64
	for i, start := range []time.Time{
		time.Date(2026, 5, 31, 23, 0, 0, 0, time.UTC), time.Date(2026, 7, 1, 15, 0, 0, 0, time.UTC),
		time.Date(2026, 9, 1, 15, 0, 0, 0, time.UTC), time.Date(2026, 10, 1, 15, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 1, 15, 0, 0, 0, time.UTC),
	} {
		var id int64
		if err := r.db.Get(&id, `INSERT INTO checkins (practice_id, patient_id, script_id, period, language, channel, status,
			started_at, last_sent_at, ended_at) VALUES (1, $1, 'ccm-monthly', $2, 'en', 'sms', 'completed', $3, $3, $4) RETURNING id`,
			patient, fmt.Sprintf("p%d", i), start, start.Add(36*time.Hour)); err != nil {
			t.Fatal(err)
		}
		// One answer the same day, one the day after (for the first, in the next month).
		for j, q := range []string{"overall", "medicines"} {
			if _, err := r.db.Exec(`INSERT INTO checkin_answers (practice_id, checkin_id, question_id, value, raw, answered_at)
				VALUES (1, $1, $2, $3, $3, $4)`, id, q, fmt.Sprint(i), start.Add(time.Duration(j*25+1)*time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		want = append([]int64{id}, want...)
	}
	ctx := context.Background()
	var got []int64
	before := int64(0)
	for pages := 0; pages < 5; pages++ {
		page, err := r.eng.CheckinsBefore(ctx, r.db, patient, before, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			got = append(got, c.ID)
			if len(c.Answers) != 2 {
				t.Errorf("check-in %d (started %v) has answers %+v, want 2", c.ID, c.StartedAt, c.Answers)
			}
		}
		if len(page) < 2 {
			break
		}
		before = page[len(page)-1].ID
	}
	if !slices.Equal(got, want) {
		t.Errorf("check-ins page by page = %v, want %v", got, want)
	}
	if _, err := r.eng.CheckinsBefore(ctx, r.db, patient, want[0]+1000, 2); !errors.Is(err, errkind.ErrInvalid) {
		t.Errorf("a page before an unknown check-in: %v, want ErrInvalid", err)
	}
}
