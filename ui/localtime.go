package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/errkind"
)

// Layouts of the pages' date and time inputs (the browser's own pickers send these).
const (
	dateLayout  = "2006-01-02"
	clockLayout = "15:04"
)

// localInstant reads a date and a wall-clock time that a form gives in the practice's zone.
// A time the clocks skip (the hour lost when daylight saving starts) is an error; a time that
// comes twice (the hour repeated when it ends) is its first occurrence.
func localInstant(date, clock string, loc *time.Location) (time.Time, error) {
	date, clock = strings.TrimSpace(date), strings.TrimSpace(clock)
	d, err := time.Parse(dateLayout, date)
	if err != nil {
		return time.Time{}, errkind.Errorf(errkind.ErrInvalid, "date %q is not a date like 2026-12-01", date)
	}
	c, err := time.Parse(clockLayout, clock)
	if err != nil {
		if c, err = time.Parse("15:04:05", clock); err != nil {
			return time.Time{}, errkind.Errorf(errkind.ErrInvalid, "time %q is not a time of day like 14:30", clock)
		}
	}
	t := time.Date(d.Year(), d.Month(), d.Day(), c.Hour(), c.Minute(), c.Second(), 0, loc)
	if t.Hour() != c.Hour() || t.Minute() != c.Minute() {
		return time.Time{}, errkind.Errorf(errkind.ErrInvalid, "%s %s does not exist in %s: the clocks skip that hour", date, clock, loc)
	}
	// Of the two instants a repeated wall time names, take the earlier.
	if earlier := t.Add(-time.Hour); earlier.Hour() == t.Hour() && earlier.Minute() == t.Minute() && earlier.Day() == t.Day() {
		t = earlier
	}
	return t, nil
}

// localTime formats an instant for people: the practice's wall clock and its zone's
// abbreviation, which tells EST from EDT.
func localTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Jan 2 15:04 MST")
}

// formDate is an instant's date as a date input shows it, in the practice's zone.
func formDate(t time.Time, loc *time.Location) string { return t.In(loc).Format(dateLayout) }

// formClock is an instant's time of day as a time input shows it, in the practice's zone: with
// its seconds when it has any, so that a proposed entry keeps its exact length.
func formClock(t time.Time, loc *time.Location) string {
	if t.Second() != 0 {
		return t.In(loc).Format(clockLayout + ":05")
	}
	return t.In(loc).Format(clockLayout)
}

// zoneNote names the zone form times are read in, for a form's hint.
func zoneNote(t time.Time, loc *time.Location) string {
	return fmt.Sprintf("%s (%s)", loc, t.In(loc).Format("MST"))
}
