// Package outreach holds patients and their contact settings, the check-in lifecycle (scheduling,
// conversation, the outbox of texts and calls) and the Twilio webhooks.
package outreach

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/db"
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

// Program is a care-management program a patient is enrolled in.
type Program string

// Programs a patient can be enrolled in.
const (
	ProgramCCM Program = "ccm"
	ProgramRPM Program = "rpm"
	ProgramPCM Program = "pcm"
	ProgramBHI Program = "bhi"
)

// Track says whose time CCM is billed on: clinical staff under supervision, or the billing
// practitioner personally.
type Track string

// CCM tracks.
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
	OptedOutAt   *time.Time     `db:"opted_out_at"`
	OptOutSource *string        `db:"opt_out_source"`
	ConsentAt    *time.Time     `db:"consent_at"`
	RevokedAt    *time.Time     `db:"revoked_at"`
}

const selectProfile = `
SELECT p.id, p.ext_id, p.first_name, p.last_name, p.phone, p.timezone, p.language, p.channel, p.programs,
	p.chronic_conditions, p.opted_out_at, p.opt_out_source, k.given_at AS consent_at, k.revoked_at
FROM patients p
LEFT JOIN LATERAL (SELECT given_at, revoked_at FROM consents c WHERE c.practice_id = p.practice_id AND c.patient_id = p.id
	ORDER BY given_at DESC LIMIT 1) k ON true
WHERE p.practice_id = $1 AND p.ext_id = $2`

// LoadProfile returns a patient by the practice's own id; db.IsNoRows reports an unknown one.
func LoadProfile(ctx context.Context, q db.Querier, practice int64, ext string) (Profile, error) {
	var p Profile
	if err := q.GetContext(ctx, &p, selectProfile, practice, ext); err != nil {
		return Profile{}, fmt.Errorf("error loading patient %q: %w", ext, err)
	}
	return p, nil
}
