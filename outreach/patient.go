// Package outreach holds patients and their contact settings, and (as the engine grows) the
// check-in lifecycle, the outbox and the Twilio webhooks.
package outreach

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
