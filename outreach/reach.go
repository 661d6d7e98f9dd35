package outreach

import (
	"slices"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
)

// ReasonCode names one reason a patient is not contacted.
type ReasonCode string

// Reasons a patient is not contacted, in the order Reachability lists them.
const (
	ReasonNoPhone         ReasonCode = "no_phone"
	ReasonOptedOut        ReasonCode = "opted_out"         // At: when; Source: how (sms, voice, carrier, staff)
	ReasonInactive        ReasonCode = "inactive"          // made inactive (imported by mistake, discharged)
	ReasonNoConsent       ReasonCode = "no_consent"        // none on file, and the practice has no exemption
	ReasonConsentRevoked  ReasonCode = "consent_revoked"   // At: the latest revocation
	ReasonConsentNotYet   ReasonCode = "consent_not_yet"   // At: when the earliest consent to come starts
	ReasonNoScript        ReasonCode = "no_script"         // not in CCM and no check-in script of their own
	ReasonScriptNotLoaded ReasonCode = "script_not_loaded" // Script: the one the library lacks
)

// Reason is one reason a patient is not contacted, with its particulars.
type Reason struct {
	Code   ReasonCode
	At     time.Time // the opt-out, the revocation or the consent to come; zero otherwise
	Source string    // how the patient opted out
	Script string    // the check-in script that is not loaded
}

// Consent is one consent of a patient's history: in force from GivenAt until RevokedAt.
type Consent struct {
	GivenAt   time.Time  `db:"given_at"`
	RevokedAt *time.Time `db:"revoked_at"`
}

// ContactFacts are what decides whether a patient is contacted.
type ContactFacts struct {
	Phone        bool
	OptedOutAt   *time.Time
	OptOutSource string
	Active       bool
	Programs     []string
	Script       string    // the patient's own check-in script; "" for the CCM default
	Consents     []Consent // the whole history, in any order
}

// Reach is whether and how a patient is contacted.
type Reach struct {
	Reasons []Reason // why they are not contacted; none when they are
	Exempt  bool     // no consent is in force: the practice's exemption stands in for one
	Script  string   // the check-in script their scheduled check-ins follow, if any
}

// Contacted reports whether the patient gets scheduled check-ins.
func (r Reach) Contacted() bool { return len(r.Reasons) == 0 }

// Contactable reports whether anything may be sent to the patient unasked: true when the only
// reasons are about which script they follow (staff may still start a check-in of a script).
func (r Reach) Contactable() bool {
	return !slices.ContainsFunc(r.Reasons, func(x Reason) bool {
		return x.Code != ReasonNoScript && x.Code != ReasonScriptNotLoaded
	})
}

// Reachability is the rule of who is contacted at now. A patient is contacted with a phone, not
// opted out, active, with a consent in force (given at or before now and not revoked at or
// before now) and a check-in script (their own, or the CCM default when in CCM) that the
// library has (loaded). With no consent in force, a practice that documents an exemption
// contacts the patient all the same, unless a consent of theirs was revoked: a revocation
// always stops outreach. The engine's SQL (contactableEach, contactableAll) says the same.
func Reachability(f ContactFacts, exemption string, loaded func(script string) bool, now time.Time) Reach {
	var r Reach
	if !f.Phone {
		r.Reasons = append(r.Reasons, Reason{Code: ReasonNoPhone})
	}
	if f.OptedOutAt != nil {
		r.Reasons = append(r.Reasons, Reason{Code: ReasonOptedOut, At: *f.OptedOutAt, Source: f.OptOutSource})
	}
	if !f.Active {
		r.Reasons = append(r.Reasons, Reason{Code: ReasonInactive})
	}
	inForce, revoked, future := consentStanding(f.Consents, now)
	switch {
	case inForce:
	case !revoked.IsZero():
		r.Reasons = append(r.Reasons, Reason{Code: ReasonConsentRevoked, At: revoked})
		if !future.IsZero() {
			r.Reasons = append(r.Reasons, Reason{Code: ReasonConsentNotYet, At: future})
		}
	case exemption != "":
		r.Exempt = true
	case !future.IsZero():
		r.Reasons = append(r.Reasons, Reason{Code: ReasonConsentNotYet, At: future})
	default:
		r.Reasons = append(r.Reasons, Reason{Code: ReasonNoConsent})
	}
	switch {
	case f.Script != "":
		r.Script = f.Script
	case slices.Contains(f.Programs, string(care.CCM)):
		r.Script = DefaultScript
	default:
		r.Reasons = append(r.Reasons, Reason{Code: ReasonNoScript})
	}
	if r.Script != "" && !loaded(r.Script) {
		r.Reasons = append(r.Reasons, Reason{Code: ReasonScriptNotLoaded, Script: r.Script})
	}
	return r
}

// consentStanding reads a consent history at now: whether a consent is in force, the latest
// revocation at or before now, and the earliest consent given after now (zero when none).
func consentStanding(cs []Consent, now time.Time) (inForce bool, revoked, future time.Time) {
	for _, c := range cs {
		ended := c.RevokedAt != nil && !c.RevokedAt.After(now)
		switch {
		case c.GivenAt.After(now):
			if future.IsZero() || c.GivenAt.Before(future) {
				future = c.GivenAt
			}
		case ended:
			if c.RevokedAt.After(revoked) {
				revoked = *c.RevokedAt
			}
		default:
			inForce = true
		}
	}
	return inForce, revoked, future
}

// The rule, less the script (which Schedule checks), in SQL for a patient p at $1, in the two
// forms the planner handles well; TestReachabilityAgreesWithTheEngine holds both to
// Reachability.

// contactableEach is the test for statements over a few patients (a batch of the outbox, one
// patient): it reads c, their consents joined by consentsOf, and x.exempt, the practice's
// exemption, which the statement provides.
const contactableEach = `(p.active AND p.phone IS NOT NULL AND p.opted_out_at IS NULL
	AND (c.in_force OR (x.exempt AND NOT c.revoked)))`

// consentsOf joins each patient p to whether a consent of theirs is in force at $1 and whether
// one was revoked at or before $1: an index probe per patient.
const consentsOf = `
CROSS JOIN LATERAL (
	SELECT COALESCE(bool_or(k.given_at <= $1 AND (k.revoked_at IS NULL OR k.revoked_at > $1)), false) AS in_force,
		COALESCE(bool_or(k.revoked_at <= $1), false) AS revoked
	FROM consents k WHERE k.practice_id = p.practice_id AND k.patient_id = p.id) c`

// contactableAll is the test for statements over a practice's patients, as conditions the
// planner turns into one join of the patients with the consents: [0] without the practice's
// exemption, [1] with it. (An OR of the two, decided by a parameter, is planned as a scan of
// every consent per statement, costed so high that the statement is compiled by the JIT.)
var contactableAll = [2]string{`p.active AND p.phone IS NOT NULL AND p.opted_out_at IS NULL
	AND EXISTS (SELECT 1 FROM consents k WHERE k.practice_id = p.practice_id AND k.patient_id = p.id
		AND k.given_at <= $1 AND (k.revoked_at IS NULL OR k.revoked_at > $1))`,
	`p.active AND p.phone IS NOT NULL AND p.opted_out_at IS NULL
	AND NOT EXISTS (SELECT 1 FROM consents k WHERE k.practice_id = p.practice_id AND k.patient_id = p.id
		AND k.revoked_at <= $1
		AND NOT EXISTS (SELECT 1 FROM consents f WHERE f.practice_id = k.practice_id AND f.patient_id = k.patient_id
			AND f.given_at <= $1 AND (f.revoked_at IS NULL OR f.revoked_at > $1)))`}

// forExemption makes the two forms of a statement over a practice's patients, [0] without the
// practice's exemption and [1] with it, putting contactableAll where it says {contactable}.
func forExemption(stmt string) [2]string {
	return [2]string{strings.ReplaceAll(stmt, "{contactable}", contactableAll[0]),
		strings.ReplaceAll(stmt, "{contactable}", contactableAll[1])}
}
