// Package outreach holds patients and their contact settings, the check-in lifecycle (scheduling,
// conversation, the outbox of texts and calls) and the Twilio webhooks.
package outreach

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
)

// PatientID is a patient's internal id (never the practice's own id, which may identify them).
type PatientID int64

// Language is the language a patient is contacted in.
type Language string

// Languages the bundled check-ins speak.
const (
	English Language = "en"
	Spanish Language = "es"
)

// Medium is how a patient is reached: text messages or phone calls.
type Medium string

// Media.
const (
	MediumSMS   Medium = "sms"
	MediumVoice Medium = "voice"
)

// Track says whose time CCM (ccm_track) or PCM (pcm_track) is billed on: clinical staff under
// supervision, or the billing practitioner personally.
type Track string

// Tracks.
const (
	TrackStaff        Track = "staff"
	TrackPractitioner Track = "practitioner"
)

// Profile is what the care team sees of a patient at the top of their page.
type Profile struct {
	ID           int64          `db:"id"`
	Ext          string         `db:"ext_id"`
	FirstName    string         `db:"first_name"`
	LastName     string         `db:"last_name"`
	Phone        *string        `db:"phone"`
	Zone         string         `db:"timezone"`
	Language     string         `db:"language"`
	Channel      string         `db:"channel"`
	Programs     pq.StringArray `db:"programs"`
	Conditions   pq.StringArray `db:"chronic_conditions"`
	ShortTerm    pq.StringArray `db:"short_term_conditions"` // expected to last 3 to 12 months
	Script       *string        `db:"script_id"`
	OptedOutAt   *time.Time     `db:"opted_out_at"`
	OptOutSource *string        `db:"opt_out_source"`
	Active       bool           `db:"active"`
	ChangedAt    *time.Time     `db:"active_changed_at"` // when Active last changed; nil: never
	Consents     []Consent      `db:"-"`                 // newest first
	// Change is the latest time staff made the patient active or inactive, when it is what
	// made them what they are now.
	Change *ActiveChange `db:"-"`
}

// ActiveChange is staff making a patient inactive or active again.
type ActiveChange struct {
	At     time.Time `db:"at"`
	Active bool      `db:"active"`
	Staff  string    `db:"staff"` // the practice's staff id
	Reason string    `db:"reason"`
}

// ContactFacts are the facts of the profile that Reachability reads.
func (p Profile) ContactFacts() ContactFacts {
	f := ContactFacts{Phone: p.Phone != nil, OptedOutAt: p.OptedOutAt, Active: p.Active, Programs: p.Programs,
		Consents: p.Consents}
	if p.OptOutSource != nil {
		f.OptOutSource = *p.OptOutSource
	}
	if p.Script != nil {
		f.Script = *p.Script
	}
	return f
}

const selectProfile = `
SELECT id, ext_id, first_name, last_name, phone, timezone, language, channel, programs, chronic_conditions,
	short_term_conditions, script_id, opted_out_at, opt_out_source, active, active_changed_at
FROM patients
WHERE practice_id = $1 AND ext_id = $2`

const selectConsentHistory = `
SELECT given_at, revoked_at FROM consents WHERE practice_id = $1 AND patient_id = $2 ORDER BY given_at DESC, npi`

const selectActiveChange = `
SELECT a.at, a.action = 'patient.activate' AS active, COALESCE(s.ext_id, a.actor) AS staff,
	COALESCE(a.detail->>'reason', '') AS reason
FROM audit_log a LEFT JOIN staff s ON s.practice_id = a.practice_id AND a.actor = 'staff:' || s.id
WHERE a.practice_id = $1 AND a.entity = 'patient' AND a.entity_id = $2
	AND a.action IN ('patient.activate', 'patient.deactivate') AND a.at BETWEEN $3 AND $4
ORDER BY a.at DESC, a.id DESC LIMIT 1`

// LoadProfile returns a patient by the practice's own id, with their consents and the latest
// change of their being active; db.IsNoRows reports an unknown one.
func LoadProfile(ctx context.Context, q db.Querier, practice int64, ext string) (Profile, error) {
	var p Profile
	if err := q.GetContext(ctx, &p, selectProfile, practice, ext); err != nil {
		return Profile{}, fmt.Errorf("error loading patient %q: %w", ext, err)
	}
	if err := q.SelectContext(ctx, &p.Consents, selectConsentHistory, practice, p.ID); err != nil {
		return Profile{}, fmt.Errorf("error loading consents of patient %d: %w", p.ID, err)
	}
	if p.ChangedAt == nil {
		return p, nil
	}
	// The change is audited at the instant the patient's row keeps: only its month is read.
	var changes []ActiveChange
	at := *p.ChangedAt
	if err := q.SelectContext(ctx, &changes, selectActiveChange, practice, strconv.FormatInt(p.ID, 10),
		at.Add(-time.Second), at.Add(time.Second)); err != nil {
		return Profile{}, fmt.Errorf("error loading changes of patient %d: %w", p.ID, err)
	}
	// An import may have changed it since: then the change does not explain the patient's state.
	if len(changes) == 1 && changes[0].Active == p.Active {
		p.Change = &changes[0]
	}
	return p, nil
}

// Reach applies Reachability to a patient with the engine's exemption, scripts and clock.
func (e *Engine) Reach(f ContactFacts) Reach {
	return Reachability(f, e.Practice.ConsentExemption, func(id string) bool { return e.script(id) != nil }, e.now())
}

// MaxReasonLength bounds the reason staff give for making a patient inactive or active.
const MaxReasonLength = 500

const lockPatient = `SELECT id, active FROM patients WHERE practice_id = $1 AND ext_id = $2 FOR NO KEY UPDATE`

const updateActive = `UPDATE patients SET active = $1, active_changed_at = $2, updated_at = $2 WHERE practice_id = $3 AND id = $4`

// SetActive makes a patient (by the practice's id) inactive, which stops all outreach to them
// and cancels their open check-ins, queued texts and queued calls, or active again; staff give
// the reason, which the audit log keeps (patient.deactivate, patient.activate). It reports
// false when the patient already was so; nothing is recorded then.
func (e *Engine) SetActive(ctx context.Context, ext string, active bool, reason string, actor audit.Actor) (bool, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return false, errkind.Errorf(errkind.ErrInvalid, "reason: say why the patient is made %s", activeWord(active))
	}
	if n := utf8.RuneCountInString(reason); n > MaxReasonLength {
		return false, errkind.Errorf(errkind.ErrInvalid, "reason: %d characters, at most %d", n, MaxReasonLength)
	}
	now := e.now()
	changed := false
	err := aftercommit.WithTx(ctx, e.DB, func(ctx context.Context, tx *sqlx.Tx) error {
		var p struct {
			ID     int64 `db:"id"`
			Active bool  `db:"active"`
		}
		err := tx.GetContext(ctx, &p, lockPatient, e.pid(), ext)
		if db.IsNoRows(err) {
			return errkind.Errorf(errkind.ErrNotFound, "no patient %q", ext)
		}
		if err != nil || p.Active == active {
			return err
		}
		changed = true
		if _, err := tx.ExecContext(ctx, updateActive, active, now, e.pid(), p.ID); err != nil {
			return err
		}
		action := "patient.activate"
		if !active {
			action = "patient.deactivate"
			if err := e.cancelOpen(ctx, tx, []int64{p.ID}, now); err != nil {
				return err
			}
		}
		if err := audit.Record(ctx, tx, audit.Event{PracticeID: e.pid(), At: now, Actor: actor, Action: action,
			Entity: "patient", EntityID: strconv.FormatInt(p.ID, 10), Detail: map[string]any{"reason": reason}}); err != nil {
			return err
		}
		e.Log.Info("patient made "+activeWord(active), "patient", p.ID, "actor", string(actor))
		return nil
	})
	switch {
	case errors.Is(err, errkind.ErrNotFound):
		return false, err
	case err != nil:
		return false, fmt.Errorf("error making patient %q %s: %w", ext, activeWord(active), err)
	}
	return changed, nil
}

func activeWord(active bool) string {
	if active {
		return "active"
	}
	return "inactive"
}
