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

// DueSlot returns the latest slot of a schedule at or before now, read in loc, if it is within
// CatchUp. Slots are computed in the patient's zone, so a 02:30 slot does not exist on a
// spring-forward day and a 01:30 slot comes once on a fall-back day (the slot, not the tick,
// keys the check-in).
func DueSlot(spec string, loc *time.Location, now time.Time) (time.Time, bool, error) {
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("error reading schedule %q: %w", spec, err)
	}
	local := now.In(loc)
	var last time.Time
	// Next is strictly after its argument: start just before the window.
	for t := sched.Next(local.Add(-CatchUp - time.Second)); !t.After(local); t = sched.Next(t) {
		last = t
	}
	return last, !last.IsZero(), nil
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
