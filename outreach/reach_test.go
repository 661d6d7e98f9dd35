package outreach_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
)

// reachNow is when the rule is applied in the tests below: 10:00 in New York on the 1st, the
// slot of the monthly and the daily check-ins.
var reachNow = time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time {
	t := reachNow.Add(d)
	return &t
}

func consent(given time.Duration, revoked *time.Duration) outreach.Consent {
	c := outreach.Consent{GivenAt: reachNow.Add(given)}
	if revoked != nil {
		c.RevokedAt = at(*revoked)
	}
	return c
}

func dur(d time.Duration) *time.Duration { return &d }

const day = 24 * time.Hour

// reachCase is a patient's facts and what the rule says of them, without and with the
// practice's consent exemption.
type reachCase struct {
	name   string
	facts  outreach.ContactFacts
	want   []outreach.Reason // without the exemption
	exempt []outreach.Reason // with it; same as want when nil and exemptOK is false
	// exemptOK: with the exemption, the exemption stands in for a consent.
	exemptOK bool
}

// ok is a patient who is contacted: a phone, active, in CCM, a consent in force.
func ok() outreach.ContactFacts {
	return outreach.ContactFacts{Phone: true, Active: true, Programs: []string{"ccm"},
		Consents: []outreach.Consent{consent(-300*day, nil)}}
}

func with(f func(*outreach.ContactFacts)) outreach.ContactFacts {
	c := ok()
	f(&c)
	return c
}

var reachCases = []reachCase{
	{name: "contacted", facts: ok()},
	{name: "no phone", facts: with(func(f *outreach.ContactFacts) { f.Phone = false }),
		want: []outreach.Reason{{Code: outreach.ReasonNoPhone}}},
	{name: "opted out by text", facts: with(func(f *outreach.ContactFacts) { f.OptedOutAt, f.OptOutSource = at(-2*day), "sms" }),
		want: []outreach.Reason{{Code: outreach.ReasonOptedOut, At: *at(-2 * day), Source: "sms"}}},
	{name: "inactive", facts: with(func(f *outreach.ContactFacts) { f.Active = false }),
		want: []outreach.Reason{{Code: outreach.ReasonInactive}}},
	{name: "no consent on file", facts: with(func(f *outreach.ContactFacts) { f.Consents = nil }),
		want: []outreach.Reason{{Code: outreach.ReasonNoConsent}}, exemptOK: true},
	{name: "consent revoked", facts: with(func(f *outreach.ContactFacts) {
		f.Consents = []outreach.Consent{consent(-300*day, dur(-3*day))}
	}), want: []outreach.Reason{{Code: outreach.ReasonConsentRevoked, At: *at(-3 * day)}},
		exempt: []outreach.Reason{{Code: outreach.ReasonConsentRevoked, At: *at(-3 * day)}}},
	{name: "consent revoked this very instant", facts: with(func(f *outreach.ContactFacts) {
		f.Consents = []outreach.Consent{consent(-300*day, dur(0))}
	}), want: []outreach.Reason{{Code: outreach.ReasonConsentRevoked, At: reachNow}},
		exempt: []outreach.Reason{{Code: outreach.ReasonConsentRevoked, At: reachNow}}},
	{name: "consent to be revoked later is in force", facts: with(func(f *outreach.ContactFacts) {
		f.Consents = []outreach.Consent{consent(-300*day, dur(time.Second))}
	})},
	{name: "consent given this very instant is in force", facts: with(func(f *outreach.ContactFacts) {
		f.Consents = []outreach.Consent{consent(0, nil)}
	})},
	{name: "consent not yet in force", facts: with(func(f *outreach.ContactFacts) {
		f.Consents = []outreach.Consent{consent(time.Second, nil)}
	}), want: []outreach.Reason{{Code: outreach.ReasonConsentNotYet, At: *at(time.Second)}}, exemptOK: true},
	{name: "a new consent after a revoked one", facts: with(func(f *outreach.ContactFacts) {
		f.Consents = []outreach.Consent{consent(-300*day, dur(-100*day)), consent(-20*day, nil)}
	})},
	{name: "revoked, a new consent to come", facts: with(func(f *outreach.ContactFacts) {
		f.Consents = []outreach.Consent{consent(-300*day, dur(-10*day)), consent(-20*day, dur(-5*day)), consent(3*day, nil)}
	}), want: []outreach.Reason{{Code: outreach.ReasonConsentRevoked, At: *at(-5 * day)}, {Code: outreach.ReasonConsentNotYet, At: *at(3 * day)}},
		exempt: []outreach.Reason{{Code: outreach.ReasonConsentRevoked, At: *at(-5 * day)}, {Code: outreach.ReasonConsentNotYet, At: *at(3 * day)}}},
	{name: "not in CCM, no script of their own", facts: with(func(f *outreach.ContactFacts) { f.Programs = []string{"rpm"} }),
		want: []outreach.Reason{{Code: outreach.ReasonNoScript}}},
	{name: "not in CCM, a script of their own", facts: with(func(f *outreach.ContactFacts) { f.Programs, f.Script = []string{"rpm"}, "daily" })},
	{name: "in no program, a script of their own", facts: with(func(f *outreach.ContactFacts) { f.Programs, f.Script = nil, "daily" })},
	{name: "script not loaded", facts: with(func(f *outreach.ContactFacts) { f.Script = "gone" }),
		want: []outreach.Reason{{Code: outreach.ReasonScriptNotLoaded, Script: "gone"}}},
	{name: "every reason at once", facts: outreach.ContactFacts{OptedOutAt: at(-day), OptOutSource: "staff", Programs: []string{"pcm"}},
		want: []outreach.Reason{{Code: outreach.ReasonNoPhone}, {Code: outreach.ReasonOptedOut, At: *at(-day), Source: "staff"},
			{Code: outreach.ReasonInactive}, {Code: outreach.ReasonNoConsent}, {Code: outreach.ReasonNoScript}},
		exempt: []outreach.Reason{{Code: outreach.ReasonNoPhone}, {Code: outreach.ReasonOptedOut, At: *at(-day), Source: "staff"},
			{Code: outreach.ReasonInactive}, {Code: outreach.ReasonNoScript}}, exemptOK: true},
}

// loaded is the test's script library: the bundled CCM check-in and "daily".
func loaded(id string) bool { return id == outreach.DefaultScript || id == "daily" }

const exemption = "Existing patients were told of the check-ins at their last visit (policy 12, 2026)"

func TestReachability(t *testing.T) {
	for _, tt := range reachCases {
		t.Run(tt.name, func(t *testing.T) {
			got := outreach.Reachability(tt.facts, "", loaded, reachNow)
			if !reflect.DeepEqual(got.Reasons, tt.want) || got.Exempt {
				t.Errorf("without an exemption: %+v, want reasons %+v", got, tt.want)
			}
			wantExempt := tt.exempt
			if wantExempt == nil && !tt.exemptOK {
				wantExempt = tt.want
			}
			got = outreach.Reachability(tt.facts, exemption, loaded, reachNow)
			if !reflect.DeepEqual(got.Reasons, wantExempt) || got.Exempt != tt.exemptOK {
				t.Errorf("with an exemption: %+v, want reasons %+v, exempt %v", got, wantExempt, tt.exemptOK)
			}
			if got.Contacted() != (len(wantExempt) == 0) {
				t.Errorf("Contacted = %v with reasons %+v", got.Contacted(), got.Reasons)
			}
		})
	}
	// The script a patient follows, and whether they may be sent anything at all.
	if r := outreach.Reachability(ok(), "", loaded, reachNow); r.Script != outreach.DefaultScript || !r.Contactable() {
		t.Errorf("a CCM patient: %+v", r)
	}
	rpm := with(func(f *outreach.ContactFacts) { f.Programs = []string{"rpm"} })
	if r := outreach.Reachability(rpm, "", loaded, reachNow); r.Script != "" || r.Contacted() || !r.Contactable() {
		t.Errorf("an RPM patient with no script gets no check-in but may be sent one: %+v", r)
	}
	inactive := with(func(f *outreach.ContactFacts) { f.Active = false })
	if r := outreach.Reachability(inactive, "", loaded, reachNow); r.Contactable() {
		t.Errorf("an inactive patient may be contacted: %+v", r)
	}
}

// TestReachabilityAgreesWithTheEngine stores every patient of the table and checks that the
// scheduler starts check-ins for exactly those the rule says are contacted, that the
// dispatcher sends check-in texts to exactly those it says may be contacted (and replies to
// all but those who opted out), and that a check-in started at once starts for them too, with
// and without the practice's exemption.
func TestReachabilityAgreesWithTheEngine(t *testing.T) {
	for _, ex := range []string{"", exemption} {
		t.Run(fmt.Sprintf("exemption %v", ex != ""), func(t *testing.T) {
			r, contacted, contactable := reachRig(t, ex)
			r.schedule()
			var started []string
			if err := r.db.Select(&started, `SELECT p.ext_id FROM checkins c JOIN patients p ON p.id = c.patient_id ORDER BY 1`); err != nil {
				t.Fatal(err)
			}
			if want := keys(contacted); !slices.Equal(started, want) {
				t.Errorf("check-ins started for %v, the rule says %v", started, want)
			}
			// Every patient has a question (the scheduled first ones, or one queued here) and a reply queued.
			if _, err := r.db.Exec(`UPDATE messages SET body = 'q ' || (SELECT ext_id FROM patients p WHERE p.id = patient_id)`); err != nil {
				t.Fatal(err)
			}
			if _, err := r.db.Exec(`
				INSERT INTO messages (practice_id, patient_id, direction, kind, phone, body, status, immediate, next_attempt_at, created_at, updated_at)
				SELECT 1, p.id, 'out', k.kind, '+15550719999', k.prefix || p.ext_id, 'queued', k.kind = 'notice', $1, $1, $1
				FROM patients p, (VALUES ('question', 'q '), ('notice', 'n ')) AS k (kind, prefix)
				WHERE k.kind = 'notice' OR NOT EXISTS (SELECT 1 FROM checkins c WHERE c.patient_id = p.id)`, reachNow); err != nil {
				t.Fatal(err)
			}
			r.dispatch()
			var questions, replies []string
			for _, m := range r.ch.sends() {
				switch m.Body[:2] {
				case "q ":
					questions = append(questions, m.Body[2:])
				case "n ":
					replies = append(replies, m.Body[2:])
				}
			}
			slices.Sort(questions)
			slices.Sort(replies)
			if want := keys(contactable); !slices.Equal(questions, want) {
				t.Errorf("questions sent to %v, the rule says %v", questions, want)
			}
			var notOptedOut []string
			if err := r.db.Select(&notOptedOut, `SELECT ext_id FROM patients WHERE opted_out_at IS NULL ORDER BY 1`); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(replies, notOptedOut) {
				t.Errorf("replies sent to %v, want all but who opted out: %v", replies, notOptedOut)
			}
			// The scheduled check-ins of patients who may not be contacted: none, so none cancelled.
			if n := r.count(`SELECT count(*) FROM checkins WHERE status = 'cancelled'`); n != 0 {
				t.Errorf("%d check-ins cancelled", n)
			}
			// A check-in started at once, of a script staff choose, goes to whoever may be contacted.
			r, _, contactable = reachRig(t, ex)
			var startedNow []string
			for i := range reachCases {
				ext := fmt.Sprintf("A%02d", i)
				ok, err := r.eng.StartNow(context.Background(), outreach.PatientID(r.id(ext)), "daily")
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					startedNow = append(startedNow, ext)
				}
			}
			if want := keys(contactable); !slices.Equal(startedNow, want) {
				t.Errorf("started at once for %v, the rule says %v", startedNow, want)
			}
		})
	}
}

// reachRig returns a rig with every patient of the table stored, whom the rule says it
// contacts (scheduled check-ins) and whom it may contact, and checks that each patient's
// profile reads back to the same answer.
func reachRig(t *testing.T, exemption string) (r *rig, contacted, contactable map[string]bool) {
	t.Helper()
	r = newRig(t, reachNow, practice.QuietHours{}, "0 10 * * *")
	r.eng.Practice.ConsentExemption = exemption
	if _, err := r.db.Exec(`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1)`, reachNow); err != nil {
		t.Fatal(err)
	}
	contacted, contactable = map[string]bool{}, map[string]bool{}
	for i, tt := range reachCases {
		ext := fmt.Sprintf("A%02d", i)
		r.storePatient(ext, fmt.Sprintf("+155507100%02d", i), tt.facts)
		reach := outreach.Reachability(tt.facts, exemption, loaded, reachNow)
		contacted[ext], contactable[ext] = reach.Contacted(), reach.Contactable()
		prof, err := outreach.LoadProfile(context.Background(), r.db, 1, ext)
		if err != nil {
			t.Fatal(err)
		}
		if back := r.eng.Reach(prof.ContactFacts()); !reflect.DeepEqual(inUTC(back), reach) {
			t.Errorf("%s read back: %+v, want %+v", tt.name, back, reach)
		}
	}
	return r, contacted, contactable
}

// inUTC is a reach with its instants in UTC, as the tests write them.
func inUTC(r outreach.Reach) outreach.Reach {
	for i := range r.Reasons {
		if !r.Reasons[i].At.IsZero() {
			r.Reasons[i].At = r.Reasons[i].At.UTC()
		}
	}
	return r
}

// keys lists the patients a map says yes of, in order.
func keys(m map[string]bool) []string {
	var out []string
	for k, yes := range m {
		if yes {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// storePatient stores a patient with the given facts, in New York.
func (r *rig) storePatient(ext, phone string, f outreach.ContactFacts) {
	r.t.Helper()
	var ph, source, script any
	if f.Phone {
		ph = phone
	}
	if f.OptOutSource != "" {
		source = f.OptOutSource
	}
	if f.Script != "" {
		script = f.Script
	}
	var id int64
	if err := r.db.Get(&id, `
		INSERT INTO patients (practice_id, ext_id, phone, timezone, programs, script_id, opted_out_at, opt_out_source, active,
			created_at, updated_at)
		VALUES (1, $1, $2, 'America/New_York', COALESCE($3::text[], '{}'), $4, $5, $6, $7, $8, $8) RETURNING id`,
		ext, ph, pq.Array(f.Programs), script, f.OptedOutAt, source, f.Active, reachNow.Add(-400*day)); err != nil {
		r.t.Fatal(err)
	}
	for _, c := range f.Consents {
		if _, err := r.db.Exec(`INSERT INTO consents (practice_id, patient_id, given_at, npi, documented, revoked_at, created_at, updated_at)
			VALUES (1, $1, $2, '1111111112', true, $3, $4, $4)`, id, c.GivenAt, c.RevokedAt, reachNow); err != nil {
			r.t.Fatal(err)
		}
	}
}
