package billing

import (
	"fmt"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
)

// Code is a CPT or HCPCS code.
type Code string

// The codes the engine bills.
const (
	Code99490 Code = "99490" // non-complex CCM, first 20 min
	Code99439 Code = "99439" // non-complex CCM, each further 20 min
	Code99487 Code = "99487" // complex CCM, first 60 min
	Code99489 Code = "99489" // complex CCM, each further 30 min
	Code99491 Code = "99491" // practitioner CCM, first 30 min
	Code99437 Code = "99437" // practitioner CCM, each further 30 min
	CodeG0506 Code = "G0506" // care planning at CCM initiation
	Code99457 Code = "99457" // RPM management, first 20 min
	Code99458 Code = "99458" // RPM management, each further 20 min
	Code99470 Code = "99470" // RPM management, 10 to 19 min
	Code99453 Code = "99453" // RPM device set-up and education, once per episode
	Code99454 Code = "99454" // RPM device supply, 16 to 30 days of data in the period
	Code99445 Code = "99445" // RPM device supply, 2 to 15 days of data in the period
	Code99484 Code = "99484" // BHI, clinical staff 20 min
	Code99424 Code = "99424" // PCM by the practitioner personally, first 30 min
	Code99425 Code = "99425" // PCM by the practitioner personally, each further 30 min
	Code99426 Code = "99426" // PCM clinical staff, first 30 min
	Code99427 Code = "99427" // PCM clinical staff, each further 30 min
)

// Role is a staff member's role for billing.
type Role string

// Roles. Only clinical staff time and the billing practitioner's own time count.
const (
	Clinical     Role = "clinical"
	Practitioner Role = "practitioner"
	NonClinical  Role = "non_clinical"
)

// MDM is the level of medical decision-making documented in an entry.
type MDM string

// MDM levels; moderate or high by the billing practitioner makes CCM complex.
const (
	MDMNone     MDM = "none"
	MDMLow      MDM = "low"
	MDMModerate MDM = "moderate"
	MDMHigh     MDM = "high"
)

// Consent is a patient's consent to care management for a practitioner.
type Consent struct {
	GivenAt    time.Time
	RevokedAt  time.Time // zero when in force
	NPI        string    // the practitioner it was given for
	Documented bool
}

// Patient holds the eligibility facts of one patient.
type Patient struct {
	ID                string // the practice's own id, as reported
	BillingNPI        string
	ChronicConditions int // conditions expected to last 12 months or more
	// ShortTermConditions counts the conditions expected to last 3 to 12 months: they qualify
	// for PCM, never toward CCM's two conditions.
	ShortTermConditions int
	Programs            []care.Program
	PractitionerTrack   bool // CCM billed on the practitioner's own time (99491)
	// PCMPractitionerTrack says PCM is furnished by the practitioner personally (99424)
	// rather than by clinical staff (99426).
	PCMPractitionerTrack bool
	Consents             []Consent // every consent, in force or not
	InitiatingVisit      time.Time // date; zero when none
	CarePlan             time.Time // date; zero when none
	// Device is what the patient's device readings say for the month, for RPM's device codes.
	Device Device
}

// Entry is a current (not superseded, not voided) time entry.
type Entry struct {
	ID          int64
	Staff       string
	Role        Role
	NPI         string // the staff member's NPI, for practitioners
	Program     care.Program
	Start, End  time.Time
	Patients    []string // a shared activity has several; remainder seconds go to the first
	MDM         MDM
	Interactive bool // a real-time two-way conversation with the patient
}

// BilledService is another service billed for a patient, by this or another practitioner.
type BilledService struct {
	Patient string
	Code    Code
	Date    time.Time // date
	NPI     string
}

// StaffEntries hands a month's entries to the engine one staff member at a time: it calls add
// once per staff member, with every current entry of theirs that overlaps the month. The engine
// may still be counting a call's entries after add returns: they must stay unchanged until the
// report is computed.
type StaffEntries func(add func(entries []Entry)) error

// Input is everything a month's report is computed from.
type Input struct {
	Month       Month
	Location    *time.Location // the practice's zone: where months begin and end
	Rates       Rates
	FeeSchedule FeeSchedule
	Patients    []Patient
	Entries     []Entry // every current entry that overlaps the month (for Compute)
	Services    []BilledService
	// SamePractitioner decides which of PCM and CCM is billed when both are billable for a
	// patient by the same practitioner in the month; the zero value is ChooseHigher.
	SamePractitioner Choice
}

// Choice is a practice's rule for a patient whose PCM and CCM are both billable by the same
// practitioner in one month, when only one of them may be billed.
type Choice string

// Choices.
const (
	ChooseHigher Choice = "higher" // the one that pays more that month; CCM when they pay the same
	ChooseCCM    Choice = "ccm"
	ChoosePCM    Choice = "pcm"
)

// ParseChoice reads a Choice; empty means ChooseHigher.
func ParseChoice(s string) (Choice, error) {
	switch c := Choice(s); c {
	case "":
		return ChooseHigher, nil
	case ChooseHigher, ChooseCCM, ChoosePCM:
		return c, nil
	}
	return "", fmt.Errorf("%q is not higher, ccm or pcm", s)
}
