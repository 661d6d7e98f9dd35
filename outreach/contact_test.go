package outreach_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
)

// TestPatientImportedWithoutConsentIsNotContacted: a patient imported with no consent gets no
// monthly check-in, neither scheduled nor started by hand, unless the practice documents an
// exemption; a revoked consent stops outreach even then.
func TestPatientImportedWithoutConsentIsNotContacted(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "")
	if _, err := importString(t, r.db, "patients.csv", "id,phone,timezone,programs\nN1,+15550720001,America/New_York,ccm\n", r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if res := r.schedule(); res.Created != 0 {
		t.Errorf("a patient with no consent got a check-in: %+v", res)
	}
	if ok, err := r.eng.StartNow(context.Background(), outreach.PatientID(r.id("N1")), outreach.DefaultScript); err != nil || ok {
		t.Errorf("StartNow for a patient with no consent = %v, %v", ok, err)
	}
	r.dispatch()
	if n := len(r.ch.sends()); n != 0 {
		t.Errorf("%d texts sent", n)
	}
	r.eng.Practice.ConsentExemption = exemption
	if res := r.schedule(); res.Created != 1 {
		t.Errorf("under the practice's exemption: %+v, want the check-in", res)
	}
	if _, err := r.db.Exec("UPDATE checkins SET status = 'completed', ended_at = $1", r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r.clock.Add(31 * 24 * time.Hour) // January's slot
	if _, err := importString(t, r.db, "revoked.csv", "id,billing_npi,consent_at,consent_revoked_at\nN1,1111111112,2026-11-01,2026-12-20\n", r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if res := r.schedule(); res.Created != 0 {
		t.Errorf("a revoked consent under the exemption: %+v, want no check-in", res)
	}
}

// TestOutreachStopsWhenThePatientIsNoLongerContactable: a check-in's queued text whose patient
// was made inactive, or revoked their consent, is cancelled with its check-in when its turn
// comes; replies to what the patient then writes still go.
func TestOutreachStopsWhenThePatientIsNoLongerContactable(t *testing.T) {
	tests := []struct {
		name, change, text, reply string
	}{
		{"made inactive", "UPDATE patients SET active = false, updated_at = $1", "HELP", "Maple Clinic"},
		{"consent revoked", "UPDATE consents SET revoked_at = $1", "I have chest pain", "911"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := started(t)
			if _, err := r.db.Exec(tt.change, r.clock.Now().Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
			res := r.dispatch()
			if res.Cancelled != 1 || res.Sent != 0 || len(r.ch.sends()) != 0 {
				t.Fatalf("dispatch = %+v, want the question cancelled", res)
			}
			if s := r.status(); s != "cancelled" {
				t.Errorf("question %s", s)
			}
			if s := r.str("SELECT status FROM checkins"); s != "cancelled" {
				t.Errorf("check-in %s, want cancelled", s)
			}
			r.receive("+15550600001", tt.text)
			if b := r.last("+15550600001"); !strings.Contains(b, tt.reply) {
				t.Errorf("reply to %q = %q, want it to say %q", tt.text, b, tt.reply)
			}
			if res := r.schedule(); res.Created != 0 {
				t.Errorf("scheduled again: %+v", res)
			}
		})
	}
}

// TestCallsStopWhenThePatientIsMadeInactive: a queued call is cancelled with its check-in.
func TestCallsStopWhenThePatientIsMadeInactive(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC), practice.QuietHours{}, "0 9 * * *")
	r.voicePatient("V1", "+15550720002", "en", "daily")
	if _, err := r.db.Exec("UPDATE patients SET active = false"); err != nil {
		t.Fatal(err)
	}
	res := r.dispatch()
	if res.Calls.Cancelled != 1 || res.Calls.Placed != 0 || len(r.ch.placed()) != 0 {
		t.Fatalf("dispatch = %+v, want the call cancelled", res.Calls)
	}
	if s := r.str("SELECT status FROM checkins"); s != "cancelled" {
		t.Errorf("check-in %s, want cancelled", s)
	}
}

// TestSetActive: staff make a patient inactive, which cancels what is queued for them in the
// same transaction and is audited with the reason, and active again.
func TestSetActive(t *testing.T) {
	r := started(t)
	ctx := context.Background()
	staff := audit.Staff(7)
	if _, err := r.eng.SetActive(ctx, "S1", false, "  ", staff); !errors.Is(err, errkind.ErrInvalid) {
		t.Errorf("no reason: %v, want invalid", err)
	}
	if _, err := r.eng.SetActive(ctx, "S1", false, strings.Repeat("x", outreach.MaxReasonLength+1), staff); !errors.Is(err, errkind.ErrInvalid) {
		t.Errorf("a reason too long: %v, want invalid", err)
	}
	if _, err := r.eng.SetActive(ctx, "NOPE", false, "Discharged", staff); !errors.Is(err, errkind.ErrNotFound) {
		t.Errorf("unknown patient: %v, want not found", err)
	}
	if n := r.count("SELECT count(*) FROM audit_log WHERE action LIKE 'patient.%activate'"); n != 0 {
		t.Fatalf("%d changes audited after refusals", n)
	}
	changed, err := r.eng.SetActive(ctx, "S1", false, "Discharged to hospice", staff)
	if err != nil || !changed {
		t.Fatalf("deactivate = %v, %v", changed, err)
	}
	if s := r.str("SELECT status FROM checkins"); s != "cancelled" {
		t.Errorf("check-in %s, want cancelled", s)
	}
	if s := r.status(); s != "cancelled" {
		t.Errorf("queued question %s, want cancelled", s)
	}
	if changed, err := r.eng.SetActive(ctx, "S1", false, "again", staff); err != nil || changed {
		t.Errorf("deactivating an inactive patient = %v, %v", changed, err)
	}
	var ev struct {
		Actor    string `db:"actor"`
		EntityID string `db:"entity_id"`
		Reason   string `db:"reason"`
	}
	if err := r.db.Get(&ev, `SELECT actor, entity_id, detail->>'reason' AS reason FROM audit_log WHERE action = 'patient.deactivate' AND entity = 'patient'`); err != nil {
		t.Fatal(err)
	}
	if ev.Actor != "staff:7" || ev.EntityID != r.str("SELECT id::text FROM patients") || ev.Reason != "Discharged to hospice" {
		t.Errorf("audit = %+v", ev)
	}
	prof, err := outreach.LoadProfile(ctx, r.db, 1, "S1")
	if err != nil {
		t.Fatal(err)
	}
	if prof.Active || prof.Change == nil || prof.Change.Reason != "Discharged to hospice" || prof.Change.Active {
		t.Errorf("profile = active %v, change %+v", prof.Active, prof.Change)
	}
	r.clock.Add(24 * time.Hour)
	if res := r.schedule(); res.Created != 0 {
		t.Errorf("an inactive patient was scheduled: %+v", res)
	}
	if changed, err := r.eng.SetActive(ctx, "S1", true, "Back from hospital", staff); err != nil || !changed {
		t.Fatalf("activate = %v, %v", changed, err)
	}
	if n := r.count("SELECT count(*) FROM audit_log WHERE action = 'patient.activate'"); n != 1 {
		t.Errorf("%d activations audited", n)
	}
	// The page shows the latest change: the one a day later, read in its own month.
	if prof, err := outreach.LoadProfile(ctx, r.db, 1, "S1"); err != nil || prof.Change == nil ||
		prof.Change.Reason != "Back from hospital" || !prof.Change.Active {
		t.Errorf("profile after the activation = %+v, %v", prof.Change, err)
	}
	if res := r.schedule(); res.Created != 1 {
		t.Errorf("active again: %+v, want the day's check-in", res)
	}
}

// TestStartNowKeysTheCheckinByItsPeriod: a check-in started at once is this period's: the
// scheduler's slot within the catch-up window starts no second one, nor does a second start.
func TestStartNowKeysTheCheckinByItsPeriod(t *testing.T) {
	// The 3rd of December, 16:10 in New York: the monthly slot (the 1st, 10:00) was two days ago.
	r := newRig(t, time.Date(2026, 12, 3, 21, 10, 10, 0, time.UTC), practice.QuietHours{}, "")
	r.patients("D1 +15550720003 America/New_York en -")
	id := outreach.PatientID(r.id("D1"))
	ok, err := r.eng.StartNow(context.Background(), id, outreach.DefaultScript)
	if err != nil || !ok {
		t.Fatalf("StartNow = %v, %v", ok, err)
	}
	if p := r.str("SELECT period FROM checkins"); p != "2026-12-01T10:00" {
		t.Errorf("period = %q, want the month's slot", p)
	}
	r.dispatch()
	// The patient finishes the check-in before the next tick.
	if _, err := r.db.Exec("UPDATE checkins SET status = 'completed', ended_at = $1", r.clock.Now()); err != nil {
		t.Fatal(err)
	}
	r.clock.Add(50 * time.Second)
	if res := r.schedule(); res.Created != 0 {
		t.Errorf("the scheduler started a second check-in for the period: %+v", res)
	}
	if ok, err := r.eng.StartNow(context.Background(), id, outreach.DefaultScript); err != nil || ok {
		t.Errorf("a second StartNow in the period = %v, %v", ok, err)
	}
	r.dispatch()
	if n := r.count("SELECT count(*) FROM checkins"); n != 1 {
		t.Errorf("%d check-ins, want 1", n)
	}
	if n := len(r.ch.sends()); n != 1 {
		t.Errorf("%d texts sent, want the one intro", n)
	}
	// Past the catch-up window, a start is still this period's; January's slot starts January's.
	r.clock.Set(time.Date(2026, 12, 20, 15, 0, 0, 0, time.UTC))
	if ok, _ := r.eng.StartNow(context.Background(), id, outreach.DefaultScript); ok {
		t.Error("StartNow on the 20th started a second check-in for December")
	}
	r.clock.Set(time.Date(2027, 1, 1, 15, 0, 0, 0, time.UTC))
	if res := r.schedule(); res.Created != 1 {
		t.Errorf("January's slot: %+v", res)
	}
}

// TestStartNowWithoutSlots: a script whose schedule never comes round is started by hand only,
// each start its own period.
func TestStartNowWithoutSlots(t *testing.T) {
	r := newRig(t, time.Date(2026, 12, 3, 21, 10, 10, 0, time.UTC), practice.QuietHours{}, "0 10 31 2 *")
	r.patients("D2 +15550720004 America/New_York en daily")
	if ok, err := r.eng.StartNow(context.Background(), outreach.PatientID(r.id("D2")), "daily"); err != nil || !ok {
		t.Fatalf("StartNow = %v, %v", ok, err)
	}
	if p := r.str("SELECT period FROM checkins"); p != "now 2026-12-03T21:10:10Z" {
		t.Errorf("period = %q", p)
	}
	if _, err := r.eng.StartNow(context.Background(), outreach.PatientID(123456), "daily"); err == nil {
		t.Error("an unknown patient was started")
	}
}
