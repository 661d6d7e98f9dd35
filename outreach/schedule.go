package outreach

import (
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/outreach-engine/outreach/internal/practice"
)

// cronParser reads the five-field specs of check-in scripts.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// CatchUp is how long after its slot a check-in may still start: a patient imported, or a
// quiet-hours window, a few days after the slot still gets this period's check-in.
const CatchUp = 7 * 24 * time.Hour

// DueSlot returns the latest slot of a schedule at or before now on the wall clock of loc, if it
// is within CatchUp. Slots are wall-clock times in the patient's zone, computed without DST
// jumps: a 02:30 slot that does not exist on a spring-forward day falls due at 03:00, not a
// month or a year later, and a 01:30 slot that comes twice on a fall-back night is one slot (the
// slot, not the tick, keys the check-in). The returned time is the wall time, in UTC.
func DueSlot(spec string, loc *time.Location, now time.Time) (time.Time, bool, error) {
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("error reading schedule %q: %w", spec, err)
	}
	last := lastSlot(sched, wallClock(now.In(loc)), CatchUp)
	return last, !last.IsZero(), nil
}

// LatestSlot returns the latest slot of a schedule at or before now on the wall clock of loc,
// as DueSlot does, however long ago: it looks back as far as about five years.
func LatestSlot(spec string, loc *time.Location, now time.Time) (time.Time, bool, error) {
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("error reading schedule %q: %w", spec, err)
	}
	wall := wallClock(now.In(loc))
	// Windows growing fourfold from CatchUp: a monthly schedule is found in the second.
	for window := CatchUp; window < 8*365*24*time.Hour; window *= 4 {
		if last := lastSlot(sched, wall, window); !last.IsZero() {
			return last, true, nil
		}
	}
	return time.Time{}, false, nil
}

// lastSlot returns the latest slot of a schedule within window before wall, or zero.
func lastSlot(sched cron.Schedule, wall time.Time, window time.Duration) time.Time {
	var last time.Time
	// Next is strictly after its argument: start just before the window. It returns zero when
	// the schedule has no slot in the five years after its argument.
	for t := sched.Next(wall.Add(-window - time.Second)); !t.IsZero() && !t.After(wall); t = sched.Next(t) {
		last = t
	}
	return last
}

// wallClock is t's wall-clock reading as a UTC time: a zone without DST.
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// Period is a slot as the key of a check-in: its local wall time, without the offset, so that
// the two 01:30 slots of a fall-back night are one period.
func Period(slot time.Time) string { return slot.Format("2006-01-02T15:04") }

// Allowed reports whether outreach may start at now for a patient in loc: outside quiet hours.
func Allowed(q practice.QuietHours, loc *time.Location, now time.Time) bool {
	return !q.Contains(now.In(loc))
}

// WindowOpens returns the first instant at or after now outside quiet hours in loc.
func WindowOpens(q practice.QuietHours, loc *time.Location, now time.Time) time.Time {
	t := now.In(loc)
	for i := 0; i < 24*60 && q.Contains(t); i++ {
		t = t.Add(time.Minute).Truncate(time.Minute)
	}
	return t
}
