package monitoring

import "time"

// Period is a span of days the device-supply codes are billed for, from From (included) to To
// (excluded): instants at local midnight in the practice's zone.
type Period struct {
	From, To time.Time
}

// CalendarMonth is the month of year in loc: its first midnight to the next month's.
func CalendarMonth(year int, month time.Month, loc *time.Location) Period {
	from := time.Date(year, month, 1, 0, 0, 0, 0, loc)
	return Period{From: from, To: from.AddDate(0, 1, 0)}
}

// Days is how many calendar days the period has in loc.
func (p Period) Days(loc *time.Location) int {
	a, b := p.From.In(loc), p.To.In(loc)
	// Dates at UTC midnight count days exactly, whatever the zone's DST changes.
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da).Hours() / 24)
}

// Stamp is when a reading was taken and whether it was typed in by the patient.
type Stamp struct {
	At     time.Time
	Manual bool
}

// DataDays counts the days of a period that hold at least one reading that is not manual (a
// device recorded and sent it), the days taken in the practice's zone loc. Manual readings
// never count (CMS: the device must record and transmit automatically); several readings of
// one day count once; readings outside the period do not count.
func DataDays(readings []Stamp, loc *time.Location, p Period) int {
	type date struct {
		y int
		m time.Month
		d int
	}
	seen := map[date]bool{}
	for _, r := range readings {
		if r.Manual || r.At.Before(p.From) || !r.At.Before(p.To) {
			continue
		}
		t := r.At.In(loc)
		seen[date{t.Year(), t.Month(), t.Day()}] = true
	}
	return len(seen)
}
