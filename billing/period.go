// Package billing turns a month's counted care-management time and each patient's eligibility
// facts into CPT/HCPCS codes, units, amounts, reasons and the gap to the next threshold.
//
// The rules engine (Report and what it calls) is pure: plain values in, plain values out, no
// database and no clock. The store functions around it load those values and keep closed months.
package billing

import (
	"fmt"
	"time"
)

// Month is a calendar month, interpreted in the practice's time zone.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth parses "YYYY-MM".
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || len(s) != 7 {
		return Month{}, fmt.Errorf("%q is not a month (YYYY-MM)", s)
	}
	return Month{Year: t.Year(), Month: t.Month()}, nil
}

// MonthOf returns the month an instant falls in, in loc.
func MonthOf(t time.Time, loc *time.Location) Month {
	t = t.In(loc)
	return Month{Year: t.Year(), Month: t.Month()}
}

// String formats the month as ParseMonth reads it.
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// Bounds returns the month's first instant and the next month's first instant in loc.
func (m Month) Bounds(loc *time.Location) (start, end time.Time) {
	start = time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, loc)
	return start, start.AddDate(0, 1, 0)
}

// FirstDay and LastDay are the month's first and last calendar dates (at UTC midnight, the
// form dates take in this package).
func (m Month) FirstDay() time.Time { return time.Date(m.Year, m.Month, 1, 0, 0, 0, 0, time.UTC) }

// LastDay is the month's last calendar date.
func (m Month) LastDay() time.Time { return m.FirstDay().AddDate(0, 1, -1) }

// Next returns the following month.
func (m Month) Next() Month {
	n := m.FirstDay().AddDate(0, 1, 0)
	return Month{Year: n.Year(), Month: n.Month()}
}

// Contains reports whether a calendar date falls in the month.
func (m Month) Contains(date time.Time) bool {
	return date.Year() == m.Year && date.Month() == m.Month
}
