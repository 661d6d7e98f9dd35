package billing

import (
	"context"
	"time"

	"github.com/outreach-engine/outreach/internal/db"
)

// RPM device codes (billing-rules §8): the device supply codes count the days of a period that
// hold at least one reading the device recorded and sent (manual, patient-typed readings never
// count); the set-up code is billed once per episode. They are independent of the management
// minutes (99457, 99458, 99470 need no day count, and the device codes need no minutes), and
// they need the same RPM eligibility (consent).
//
// The period is the calendar month in the practice's zone. The CPT descriptors of 99454 and
// 99445 say "each 30 days"; CMS has not required rolling 30-day periods for Medicare, and the
// common billing practice (and this engine) is one device supply code per calendar month, which
// also keeps the device codes in the same month as the management codes and the closed month.
// A period is never stretched to reach 16 days (fairpath.ai/resources/block-stretching-rpm-99454).
// Rolling 30-day periods from the episode start are not built.

// Device is what a patient's device readings say for the period, as the monitoring package
// counts them: the facts billing's device codes are computed from.
type Device struct {
	// Days is how many days of the period (in the practice's zone) hold a reading that is not
	// manual.
	Days int
	// Earlier says the patient has a reading that is not manual before the period: their RPM
	// episode began in an earlier period, whose set-up (99453) is not billed again.
	Earlier bool
}

// DeviceFacts loads each patient's Device for the period [from, to), by the practice's patient
// id; a patient without device readings may be left out.
type DeviceFacts func(ctx context.Context, q db.Querier, from, to time.Time) (map[string]Device, error)

// deviceRule is one entry of the rule table of RPM's device codes.
type deviceRule struct {
	code    Code
	minDays int // the days with device data the period needs
	rule    string
	source  string
}

// deviceSupply is the rule table of the device supply codes, most days first: a period bills
// the first whose minimum its days reach, and only that one (never 99454 and 99445 for the same
// period).
var deviceSupply = []deviceRule{
	{Code99454, 16, "device supply, 16 to 30 days of data in the period",
		"CPT 99454; CY 2026 PFS final rule CMS-1832-F, 90 FR 49266 (billing-rules §8)"},
	{Code99445, 2, "device supply, 2 to 15 days of data in the period (new in 2026); never with 99454",
		"CY 2026 PFS final rule CMS-1832-F, 90 FR 49266; rimidi.com/news/2026-rpm-code-expansion; connectedcare.ai/2026-rpm-cpt-coding-changes-99445-99470-guide (billing-rules §8)"},
}

// deviceSetup is the rule of the set-up code. An episode begins in the first period with device
// data (no reading that is not manual before it); 99453 is billed in that period only, when its
// days reach the device supply minimum, so that it is billed with a device supply code. Which
// days open 99453 under the 2026 split (2 or 16) is not settled in the sources: this engine
// takes 2, the minimum of any device supply code. A set-up whose first period holds a single
// day of data is not billed later (once per episode, in its first period). Readings before a
// gap begin no new episode: 99453 is billed once per patient.
var deviceSetup = deviceRule{Code99453, 2, "set-up and patient education, once per episode of care, in its first period",
	"CPT 99453; CY 2026 PFS final rule CMS-1832-F; cptcodecalculator.com 99453 and 99445 (billing-rules §8: the 2-or-16-day question is unsettled; 2 chosen)"}

// DeviceCodes lists RPM's device codes: the set-up code, then the device supply codes.
func DeviceCodes() []Code {
	codes := []Code{deviceSetup.code}
	for _, r := range deviceSupply {
		codes = append(codes, r.code)
	}
	return codes
}

// DeviceNext is the next device supply code within reach and the days of data still needed.
type DeviceNext struct {
	Code       Code  `json:"code"`
	DaysNeeded int   `json:"days_needed"`
	ValueCents int64 `json:"-"` // what reaching it adds
}

// deviceLines returns the device codes a period's data reach (99453 first, when it is the
// episode's first period), and the next device supply code with the days it still needs (nil
// at 16 days or more, and with no data yet: nothing has been started).
func deviceLines(d Device) (lines []line, nx *DeviceNext) {
	supply := -1
	for i, r := range deviceSupply {
		if d.Days >= r.minDays {
			supply = i
			break
		}
	}
	if !d.Earlier && d.Days >= deviceSetup.minDays {
		lines = append(lines, line{deviceSetup.code, 1})
	}
	if supply >= 0 {
		lines = append(lines, line{deviceSupply[supply].code, 1})
	}
	if supply != 0 && d.Days > 0 {
		target := deviceSupply[len(deviceSupply)-1]
		if supply > 0 {
			target = deviceSupply[supply-1]
		}
		nx = &DeviceNext{Code: target.code, DaysNeeded: target.minDays - d.Days}
	}
	return lines, nx
}

// deviceNextValue is what reaching nx adds to the period's device codes: the next supply code
// replaces the one reached, and the first period's set-up comes with the first supply code.
func deviceNextValue(in Input, d Device, nx *DeviceNext) (int64, error) {
	value, err := in.Rates.Amount(in.Month.Year, nx.Code, in.FeeSchedule)
	if err != nil {
		return 0, err
	}
	for _, r := range deviceSupply {
		if d.Days >= r.minDays {
			reached, err := in.Rates.Amount(in.Month.Year, r.code, in.FeeSchedule)
			if err != nil {
				return 0, err
			}
			return value - reached, nil
		}
	}
	if !d.Earlier && d.Days+nx.DaysNeeded >= deviceSetup.minDays {
		setup, err := in.Rates.Amount(in.Month.Year, deviceSetup.code, in.FeeSchedule)
		if err != nil {
			return 0, err
		}
		value += setup
	}
	return value, nil
}
