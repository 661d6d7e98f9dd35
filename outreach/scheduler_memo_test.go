package outreach_test

import (
	"context"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/outreach"
)

// TestScheduleMinuteWithNothingDueReadsNoPatient: once a slot's check-ins all started, the
// following minutes read no patient until something that could make one due changes.
func TestScheduleMinuteWithNothingDueReadsNoPatient(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 16, 30, 0, 0, time.UTC), quietNight, "")
	r.patients("A1 +15550200001 America/New_York en -", "A2 +15550200002 America/New_York en -",
		"A3 +15550200003 America/Chicago en -")
	if s := r.schedule(); s.Created != 3 || s.Scanned != 2 {
		t.Fatalf("first minute: %+v, want 3 started in 2 groups", s)
	}
	for i := range 3 {
		r.clock.Add(time.Minute)
		if s := r.schedule(); s.Created != 0 || s.Scanned != 0 {
			t.Fatalf("minute %d after: %+v, want no group read", i+1, s)
		}
	}
	// Another replica remembers nothing: it reads the groups once, starts nothing.
	other := r.engine(r.ch)
	if s, err := other.Schedule(context.Background()); err != nil || s.Created != 0 || s.Scanned != 2 {
		t.Fatalf("another replica's first minute: %+v, %v; want 2 groups read, none started", s, err)
	}
	// After the memo's bound, the groups are read again, with nothing to start.
	r.clock.Add(time.Hour)
	if s := r.schedule(); s.Created != 0 || s.Scanned != 2 {
		t.Fatalf("an hour later: %+v, want the 2 groups read again", s)
	}
}

// TestScheduleMemoForgetsOnChanges: a patient who becomes due after their group was done is
// started at the next minute, whatever made them due.
func TestScheduleMemoForgetsOnChanges(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), quietNight, "0 9 * * *")
	r.patients("A1 +15550200001 America/New_York en -")
	ctx := context.Background()
	minute := func(step string, want int) {
		t.Helper()
		r.clock.Add(time.Minute)
		if s := r.schedule(); s.Created != want {
			t.Fatalf("%s: %+v, want %d started", step, s, want)
		}
	}
	minute("first minute", 1)
	minute("nothing changed", 0)

	r.patients("A2 +15550200002 America/New_York en -")
	minute("a patient imported", 1)

	// A patient on file, not in CCM and without consent, then enrolled, then consenting.
	now := r.clock.Now()
	if _, err := r.db.Exec(`INSERT INTO patients (practice_id, ext_id, phone, timezone, created_at, updated_at)
		SELECT id, 'B1', '+15550200003', 'America/New_York', $1, $1 FROM practices`, now); err != nil {
		t.Fatal(err)
	}
	minute("a patient in no program", 0)
	if _, err := r.db.Exec(`UPDATE patients SET programs = '{ccm}', updated_at = $1 WHERE ext_id = 'B1'`, now); err != nil {
		t.Fatal(err)
	}
	minute("enrolled without consent", 0)
	if _, err := r.db.Exec(`INSERT INTO consents (practice_id, patient_id, given_at, npi, documented, created_at, updated_at)
		SELECT practice_id, id, $1, '1111111112', true, $1, $1 FROM patients WHERE ext_id = 'B1'`, now); err != nil {
		t.Fatal(err)
	}
	minute("consent given", 1)

	// A consent dated ahead: nothing is noted when it comes into force.
	if _, err := r.db.Exec(`INSERT INTO patients (practice_id, ext_id, phone, timezone, programs, created_at, updated_at)
		SELECT id, 'C1', '+15550200004', 'America/New_York', '{ccm}', $1, $1 FROM practices`, now); err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.Exec(`INSERT INTO consents (practice_id, patient_id, given_at, npi, documented, created_at, updated_at)
		SELECT practice_id, id, $1, '1111111112', true, $2, $2 FROM patients WHERE ext_id = 'C1'`,
		r.clock.Now().Add(10*time.Minute), now); err != nil {
		t.Fatal(err)
	}
	minute("consent to come", 0)
	r.clock.Add(9 * time.Minute)
	minute("consent in force", 1)

	// A patient in another conversation when the group ran is started once it ends.
	r.patients("D1 +15550200005 America/New_York en daily")
	d1 := r.id("D1")
	if ok, err := r.eng.StartNow(ctx, outreach.PatientID(d1), outreach.DefaultScript); err != nil || !ok {
		t.Fatalf("StartNow = %v, %v", ok, err)
	}
	minute("in another conversation", 0)
	minute("still in it", 0)
	if _, err := r.db.Exec(`UPDATE checkins SET status = 'completed', ended_at = $1 WHERE patient_id = $2`, r.clock.Now(), d1); err != nil {
		t.Fatal(err)
	}
	minute("the conversation ended", 1)
	if n := r.count("SELECT count(*) FROM checkins WHERE script_id = 'daily'"); n != 1 {
		t.Errorf("daily check-ins = %d, want 1", n)
	}
}

// TestScheduleChangesNoted: only what the scheduler's eligibility reads notes a change.
func TestScheduleChangesNoted(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), quietNight, "")
	r.patients("A1 +15550200001 America/New_York en -", "A2 +15550200002 America/New_York en -")
	r.schedule()
	r.dispatch()
	noted := func() int { return r.count("SELECT count(*) FROM schedule_changes") }
	before := noted()
	now := r.clock.Now()
	for _, stmt := range []string{
		// What a reply, the move to voice calls and staff edits of other columns update.
		`UPDATE patients SET channel = 'voice', updated_at = $1 WHERE ext_id = 'A1'`,
		`UPDATE patients SET language = 'es', first_name = 'Ana', updated_at = $1 WHERE ext_id = 'A1'`,
		`UPDATE checkins SET question_id = NULL, last_sent_at = $1, reasks = 1`,
	} {
		if _, err := r.db.Exec(stmt, now); err != nil {
			t.Fatal(err)
		}
	}
	r.receive("+15550200002", "YES")
	if n := noted(); n != before {
		t.Errorf("changes noted after updates the scheduler does not read = %d, want %d", n, before)
	}
	r.clock.Add(time.Minute)
	if s := r.schedule(); s.Scanned != 0 {
		t.Errorf("minute after: %+v, want no group read", s)
	}
	// STOP makes a patient ineligible, which starts nothing: it is not noted. START, which may
	// make them due again, is.
	r.receive("+15550200002", "STOP")
	if n := noted(); n != before {
		t.Errorf("changes noted after STOP = %d, want %d", n, before)
	}
	r.clock.Add(time.Minute)
	if s := r.schedule(); s.Scanned != 0 {
		t.Errorf("minute after STOP: %+v, want no group read", s)
	}
	r.receive("+15550200002", "START")
	if n := noted(); n != before+1 {
		t.Errorf("changes noted after START = %d, want %d", n, before+1)
	}
	r.clock.Add(time.Minute)
	if s := r.schedule(); s.Scanned != 1 || s.Created != 0 {
		t.Errorf("minute after START: %+v, want the group read again, nothing started", s)
	}
}
