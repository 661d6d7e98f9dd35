package outreach_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/staff"
)

// A staff text waits for the end of the patient's quiet hours, unless the patient wrote within
// the last hour: then they are in a conversation and it goes at once.
func TestStaffTextsAndQuietHours(t *testing.T) {
	// 23:30 in New York: quiet hours (21:00-08:00).
	r := newRig(t, time.Date(2026, 12, 2, 4, 30, 0, 0, time.UTC), quietNight, "")
	r.patients("Q1 +15550910001 America/New_York en -", "Q2 +15550910002 America/New_York en -")
	if _, err := r.db.Exec(`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'RN1', 'clinical', now(), now())`); err != nil {
		t.Fatal(err)
	}
	var rn1 int64
	if err := r.db.Get(&rn1, `SELECT id FROM staff WHERE ext_id = 'RN1'`); err != nil {
		t.Fatal(err)
	}
	nurse := staff.Identity{PracticeID: 1, StaffID: rn1, Staff: "RN1", Role: "clinical"}
	ctx := context.Background()
	r.receive("+15550910001", "are you there?")
	r.dispatch() // the acknowledgement
	r.clock.Add(40 * time.Minute)
	for _, ext := range []string{"Q1", "Q2"} {
		if _, err := r.eng.SendStaffText(ctx, outreach.Party{Patient: r.id(ext)}, nurse, "Yes, I'm here: how can I help?"); err != nil {
			t.Fatal(err)
		}
	}
	r.dispatch()
	staffTo := func() map[string]int {
		got := map[string]int{}
		for _, m := range r.ch.sends() {
			if m.Kind == "staff" {
				got[m.To]++
			}
		}
		return got
	}
	if got := staffTo(); got["+15550910001"] != 1 || got["+15550910002"] != 0 {
		t.Errorf("staff texts sent in quiet hours: %v, want only to the patient who wrote 40 minutes ago", got)
	}
	r.clock.Set(time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)) // 08:00 in New York
	r.dispatch()
	if got := staffTo(); got["+15550910002"] != 1 {
		t.Errorf("staff texts after quiet hours: %v, want the held one sent", got)
	}
	if _, err := r.eng.SendStaffText(ctx, outreach.Party{Patient: r.id("Q2")}, nurse, ""); !errors.Is(err, errkind.ErrInvalid) {
		t.Errorf("empty text: %v", err)
	}
	r.receive("+15550910002", "STOP")
	if _, err := r.eng.SendStaffText(ctx, outreach.Party{Patient: r.id("Q2")}, nurse, "hello"); !errors.Is(err, errkind.ErrConflict) {
		t.Errorf("text to an opted-out patient: %v", err)
	}
	thread, err := r.eng.Thread(ctx, r.db, outreach.Party{Patient: r.id("Q1")}, 10)
	if err != nil || len(thread) != 3 || thread[0].Kind != "staff" || thread[0].Staff == nil || *thread[0].Staff != "RN1" ||
		thread[2].Direction != "in" {
		t.Errorf("Q1's thread = %+v, %v", thread, err)
	}
}
