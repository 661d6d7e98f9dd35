// Package practice keeps the practice's settings row, the anchor of every patient-owned table.
package practice

import (
	"context"
	"fmt"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
)

// ID is a practice's internal id.
type ID int64

// Default is the practice a single-practice deployment runs as.
const Default ID = 1

// QuietHours is a daily window in the patient's local time when no outreach is made. The zero
// value means no quiet hours. Start after End wraps past midnight (21:00-08:00).
type QuietHours struct {
	Start, End time.Duration // since local midnight
}

// Off reports whether there are no quiet hours.
func (q QuietHours) Off() bool { return q.Start == q.End }

// ParseQuietHours parses "HH:MM-HH:MM" or "off".
func ParseQuietHours(s string) (QuietHours, error) {
	if s == "off" {
		return QuietHours{}, nil
	}
	var h1, m1, h2, m2 int
	n, err := fmt.Sscanf(s, "%2d:%2d-%2d:%2d", &h1, &m1, &h2, &m2)
	if err != nil || n != 4 || len(s) != len("00:00-00:00") || h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59 || h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0 {
		return QuietHours{}, fmt.Errorf("%q is not HH:MM-HH:MM (like 21:00-08:00) or off", s)
	}
	q := QuietHours{Start: time.Duration(h1)*time.Hour + time.Duration(m1)*time.Minute, End: time.Duration(h2)*time.Hour + time.Duration(m2)*time.Minute}
	if q.Off() {
		return QuietHours{}, fmt.Errorf("%q starts and ends at the same time; use off to disable quiet hours", s)
	}
	return q, nil
}

// String formats the window as ParseQuietHours reads it.
func (q QuietHours) String() string {
	if q.Off() {
		return "off"
	}
	f := func(d time.Duration) string { return fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60) }
	return f(q.Start) + "-" + f(q.End)
}

// Contains reports whether the local wall-clock time of t falls in the window.
func (q QuietHours) Contains(t time.Time) bool {
	if q.Off() {
		return false
	}
	// Wall-clock time, not time elapsed since midnight: on a DST day the two differ.
	wall := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	if q.Start < q.End {
		return wall >= q.Start && wall < q.End
	}
	return wall >= q.Start || wall < q.End
}

// Settings are the practice-wide settings that come from the configuration.
type Settings struct {
	ID       ID
	Location *time.Location
	Quiet    QuietHours
	Name     string // said in HELP replies
	Phone    string // E.164; said in HELP replies
	// Country is the ISO 3166 code whose national phone numbers imports read (US by default).
	Country string
	// ConsentExemption, when set, documents why the practice contacts patients who have no
	// consent on file (a revoked consent still stops outreach); empty: consent is required.
	ConsentExemption string
	// MessageRetentionMonths is how long the words of texts are kept; older texts keep their
	// rows with an empty body. Zero means DefaultMessageRetentionMonths.
	MessageRetentionMonths int
}

// DefaultMessageRetentionMonths keeps the words of texts as long as the record: ten years.
const DefaultMessageRetentionMonths = 120

const upsertSettings = `
INSERT INTO practices (id, timezone, quiet_start, quiet_end, name, phone, consent_exemption, message_retention_months,
    created_at, updated_at)
VALUES ($1, $2, $3, $4, $6, $7, $8, $9, $5, $5)
ON CONFLICT (id) DO UPDATE
SET timezone = EXCLUDED.timezone, quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end,
    name = EXCLUDED.name, phone = EXCLUDED.phone, consent_exemption = EXCLUDED.consent_exemption,
    message_retention_months = EXCLUDED.message_retention_months, updated_at = EXCLUDED.updated_at
WHERE (practices.timezone, practices.quiet_start, practices.quiet_end, practices.name, practices.phone,
       practices.consent_exemption, practices.message_retention_months)
      IS DISTINCT FROM (EXCLUDED.timezone, EXCLUDED.quiet_start, EXCLUDED.quiet_end, EXCLUDED.name, EXCLUDED.phone,
       EXCLUDED.consent_exemption, EXCLUDED.message_retention_months)
RETURNING (xmax = 0) AS inserted`

// Ensure stores the configured settings for the practice, creating its row when missing, and
// records a change in the audit log.
func Ensure(ctx context.Context, q db.Querier, s Settings, actor audit.Actor, now time.Time) error {
	var start, end any
	if !s.Quiet.Off() {
		start, end = clock(s.Quiet.Start), clock(s.Quiet.End)
	}
	var inserted bool
	var phone, exemption any
	if s.Phone != "" {
		phone = s.Phone
	}
	if s.ConsentExemption != "" {
		exemption = s.ConsentExemption
	}
	months := s.MessageRetentionMonths
	if months == 0 {
		months = DefaultMessageRetentionMonths
	}
	err := q.GetContext(ctx, &inserted, upsertSettings, int64(s.ID), s.Location.String(), start, end, now, s.Name, phone, exemption, months)
	if db.IsNoRows(err) {
		return nil // unchanged
	}
	if err != nil {
		return fmt.Errorf("error storing practice settings: %w", err)
	}
	action := "practice.update"
	if inserted {
		action = "practice.create"
	}
	return audit.Record(ctx, q, audit.Event{
		PracticeID: int64(s.ID), At: now, Actor: actor, Action: action, Entity: "practice",
		EntityID: fmt.Sprint(s.ID),
		Detail: map[string]any{"timezone": s.Location.String(), "quiet_hours": s.Quiet.String(), "name": s.Name, "phone": s.Phone,
			"consent_exemption": s.ConsentExemption, "message_retention_months": months},
	})
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d:00", int(d.Hours()), int(d.Minutes())%60)
}
