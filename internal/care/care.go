// Package care names the care-management programs: those a patient is enrolled in (CCM, RPM,
// PCM, BHI) and those staff time is also logged for (TCM, and G0506, care planning at CCM
// initiation). The billing, time log and outreach packages share these names.
package care

// Program is a care-management program.
type Program string

// The programs.
const (
	CCM   Program = "ccm"   // chronic care management
	RPM   Program = "rpm"   // remote physiologic monitoring
	PCM   Program = "pcm"   // principal care management
	BHI   Program = "bhi"   // behavioral health integration
	TCM   Program = "tcm"   // transitional care management
	G0506 Program = "g0506" // care planning at CCM initiation
)

// Programs lists every program in a stable order.
var Programs = []Program{CCM, RPM, PCM, BHI, TCM, G0506}

// NeedsEnrolment reports whether time for the program needs the patient's enrolment in it: TCM
// and G0506 do not, and never count toward CCM.
func (p Program) NeedsEnrolment() bool { return p != TCM && p != G0506 }
