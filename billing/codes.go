package billing

import (
	"slices"
	"time"

	"github.com/outreach-engine/outreach/internal/care"
)

// Status says whether a row is billable, and if not, why in one word.
type Status string

// Statuses.
const (
	Billable       Status = "billable"
	BelowThreshold Status = "below_threshold" // eligible, not enough counted time
	NotEligible    Status = "not_eligible"    // what the program needs is missing: conditions, consent, initiating visit or care plan
	Excluded       Status = "excluded"        // another service or practitioner rules it out this month
)

// Reason is a machine-readable explanation on a row.
type Reason string

// Reasons.
const (
	ReasonBelowThreshold          Reason = "below_threshold"
	ReasonNoConsent               Reason = "no_consent"
	ReasonConsentOther            Reason = "consent_other_practitioner"
	ReasonFewConditions           Reason = "lt_2_chronic_conditions"
	ReasonNoInitiatingVisit       Reason = "no_initiating_visit"
	ReasonNoCarePlan              Reason = "no_care_plan"
	ReasonNoBillingPractitioner   Reason = "no_billing_npi"
	ReasonExcludedG0181           Reason = "excluded_g0181"
	ReasonExcludedG0182           Reason = "excluded_g0182"
	ReasonExcludedESRD            Reason = "excluded_esrd"
	ReasonExcludedPCMSame         Reason = "excluded_pcm_same_practitioner"
	ReasonExcludedCCMSame         Reason = "excluded_ccm_same_practitioner"
	ReasonNoQualifyingCondition   Reason = "no_qualifying_condition"
	ReasonExcludedAPCMSame        Reason = "excluded_apcm_same_practitioner"
	ReasonBilledElsewhere         Reason = "billed_elsewhere"
	ReasonTimeConflict            Reason = "time_conflict"
	ReasonPCMCandidate            Reason = "pcm_candidate"
	ReasonComplexCandidate        Reason = "complex_candidate"
	ReasonNoInteractiveContact    Reason = "no_interactive_contact"
	ReasonG0506AlreadyBilled      Reason = "g0506_already_billed"
	ReasonPractitionerTimeAsStaff Reason = "practitioner_time_as_staff"
)

// Thresholds and increments, in seconds.
const (
	min20 = 20 * 60
	min30 = 30 * 60
	min60 = 60 * 60
	min10 = 10 * 60
)

// ccmCodes are the CCM codes: billed by another practitioner, they rule CCM out here.
var ccmCodes = []Code{Code99490, Code99439, Code99487, Code99489, Code99491, Code99437}

// exclusions returns the reasons other services billed in the month rule the program out:
// for CCM those of billing-rules §4, for PCM CCM billed by the same practitioner (§8).
func exclusions(p *Patient, prog care.Program, services []BilledService, m Month) []Reason {
	var rs []Reason
	add := func(r Reason) {
		if !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	for _, s := range services {
		if !m.Contains(s.Date) {
			continue
		}
		same := s.NPI == p.BillingNPI
		switch prog {
		case care.CCM:
			switch {
			case s.Code == "G0181":
				add(ReasonExcludedG0181)
			case s.Code == "G0182":
				add(ReasonExcludedG0182)
			case s.Code >= "90951" && s.Code <= "90970" && len(s.Code) == 5:
				add(ReasonExcludedESRD)
			case s.Code >= "99424" && s.Code <= "99427" && same:
				add(ReasonExcludedPCMSame)
			case s.Code >= "G0556" && s.Code <= "G0558" && same:
				add(ReasonExcludedAPCMSame)
			case slices.Contains(ccmCodes, s.Code) && !same:
				add(ReasonBilledElsewhere)
			}
		case care.PCM:
			if slices.Contains(ccmCodes, s.Code) && same {
				add(ReasonExcludedCCMSame)
			}
		}
	}
	return rs
}

// eligibility returns why a patient cannot be billed for a program this month, if anything
// (billing-rules §1 for CCM, §8 for the others):
//   - CCM: two or more chronic conditions (12 months or more), consent, an initiating visit
//     and a care plan;
//   - PCM: one condition or more of 3 months or more (chronic or short-term), consent and a
//     (disease-specific) care plan;
//   - BHI: consent and an initiating visit;
//   - RPM: consent, which may be given in the month RPM is furnished.
//
// Consent means a documented consent for the billing practitioner in force at some point of
// the month.
func eligibility(p *Patient, prog care.Program, m Month, loc *time.Location) []Reason {
	var rs []Reason
	switch prog {
	case care.CCM:
		if p.ChronicConditions < 2 {
			rs = append(rs, ReasonFewConditions)
			if p.ChronicConditions+p.ShortTermConditions > 0 && !slices.Contains(p.Programs, care.PCM) {
				rs = append(rs, ReasonPCMCandidate)
			}
		}
	case care.PCM:
		if p.ChronicConditions+p.ShortTermConditions == 0 {
			rs = append(rs, ReasonNoQualifyingCondition)
		}
	case care.BHI, care.RPM:
	default:
		return nil
	}
	start, end := m.Bounds(loc)
	switch {
	case p.BillingNPI == "":
		rs = append(rs, ReasonNoBillingPractitioner)
	case !hasConsent(p, start, end, true):
		if hasConsent(p, start, end, false) {
			rs = append(rs, ReasonConsentOther)
		} else {
			rs = append(rs, ReasonNoConsent)
		}
	}
	if (prog == care.CCM || prog == care.BHI) && (p.InitiatingVisit.IsZero() || p.InitiatingVisit.After(m.LastDay())) {
		rs = append(rs, ReasonNoInitiatingVisit)
	}
	if (prog == care.CCM || prog == care.PCM) && (p.CarePlan.IsZero() || p.CarePlan.After(m.LastDay())) {
		rs = append(rs, ReasonNoCarePlan)
	}
	return rs
}

// hasConsent reports whether a documented consent was in force at some point of [start, end),
// for the billing practitioner (samePractitioner) or for another one.
func hasConsent(p *Patient, start, end time.Time, samePractitioner bool) bool {
	for _, c := range p.Consents {
		if !c.Documented || (c.NPI == p.BillingNPI) != samePractitioner {
			continue
		}
		if c.GivenAt.Before(end) && (c.RevokedAt.IsZero() || c.RevokedAt.After(start)) {
			return true
		}
	}
	return false
}

// line is a code with its units, before amounts.
type line struct {
	code  Code
	units int
}

// next is the next code within reach, the seconds still needed for it, and what else it needs.
type next struct {
	code    Code
	seconds int64
	needs   Need
}

// ccmLines chooses the CCM lane and its codes, and returns the seconds the lane counts. The
// lane is never chosen by revenue: complex exactly when the billing practitioner documented
// moderate or high MDM and the time is at least 60 minutes; the practitioner lane (99491) only
// for practitioner-track patients with at least 30 minutes of the practitioner's own time
// (below that, their time counts as staff time).
func ccmLines(t tally, practitionerTrack bool) (lines []line, nx *next, reasons []Reason, counted int64) {
	var ok bool
	if lines, nx, reasons, ok = practitionerLane(t, practitionerTrack, Code99491, Code99437); ok {
		return lines, nx, nil, t.practitionerSeconds
	}
	s := t.seconds
	switch {
	case t.complexMDM && s >= min60:
		lines = []line{{Code99487, 1}}
		add := int((s - min60) / min30)
		if add > 0 {
			lines = append(lines, line{Code99489, add})
		}
		return lines, &next{code: Code99489, seconds: min60 + min30*int64(add+1) - s}, reasons, s
	case s < min20:
		return nil, &next{code: Code99490, seconds: min20 - s}, append(reasons, ReasonBelowThreshold), s
	}
	lines = []line{{Code99490, 1}}
	add := min(2, int((s-min20)/min20))
	if add > 0 {
		lines = append(lines, line{Code99439, add})
	}
	if s >= min60 {
		reasons = append(reasons, ReasonComplexCandidate)
		return lines, nil, reasons, s
	}
	if t.complexMDM && add == 1 {
		return lines, &next{code: Code99487, seconds: min60 - s}, reasons, s
	}
	return lines, &next{code: Code99439, seconds: min20*int64(add+2) - s}, reasons, s
}

// pcmLines chooses the PCM lane and its codes, and returns the seconds the lane counts: the
// practitioner lane (99424, then 99425 for each further full 30 minutes) for patients whose PCM
// the practitioner furnishes, with at least 30 minutes of the practitioner's own time; else the
// clinical staff lane (99426, then 99427 for each further full 30), where the practitioner's
// time counts as staff time, as for CCM.
func pcmLines(t tally, practitionerTrack bool) (lines []line, nx *next, reasons []Reason, counted int64) {
	var ok bool
	if lines, nx, reasons, ok = practitionerLane(t, practitionerTrack, Code99424, Code99425); ok {
		return lines, nx, nil, t.practitionerSeconds
	}
	s := t.seconds
	if s < min30 {
		return nil, &next{code: Code99426, seconds: min30 - s}, append(reasons, ReasonBelowThreshold), s
	}
	lines = []line{{Code99426, 1}}
	add := int((s - min30) / min30)
	if add > 0 {
		lines = append(lines, line{Code99427, add})
	}
	return lines, &next{code: Code99427, seconds: min30*int64(add+2) - s}, reasons, s
}

// practitionerLane bills the practitioner's own time, first for its first 30 minutes and add for
// each further full 30, when the patient is on the practitioner track and that time reaches 30
// minutes (ok). Otherwise the practitioner's time counts as staff time, which reasons says when
// there is any.
func practitionerLane(t tally, track bool, first, add Code) (lines []line, nx *next, reasons []Reason, ok bool) {
	p := t.practitionerSeconds
	switch {
	case !track:
		return nil, nil, nil, false
	case p < min30:
		if p > 0 {
			reasons = []Reason{ReasonPractitionerTimeAsStaff}
		}
		return nil, nil, reasons, false
	}
	lines = []line{{first, 1}}
	n := int((p - min30) / min30)
	if n > 0 {
		lines = append(lines, line{add, n})
	}
	return lines, &next{code: add, seconds: min30*int64(n+2) - p}, nil, true
}
