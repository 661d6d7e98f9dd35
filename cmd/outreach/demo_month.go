package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/staff"
	"github.com/outreach-engine/outreach/timelog"
)

// demoWork is a piece of the care team's work in the demo's month so far: minutes a staff
// member spent on a patient, recorded as the staff do it, through the time log: the time
// entry a resolved item proposes (item set), or a timer started and stopped.
type demoWork struct {
	patient, staff string
	program        care.Program
	minutes        int
	item           string // the reason of the item worked; empty: a timer
	outcome        string // the item's outcome
	activity       timelog.Activity
	changed        timelog.Change
	mdm            timelog.MDM
	interactive    bool
	note           string
}

// demoMonth is the month the demo's billing page and worklist show, latest work first. DEMO-01
// is 3 minutes short of 99490 and DEMO-07 7 minutes short of 99439 (the worklist); DEMO-02
// is complex CCM (63 minutes with the practitioner's moderate MDM: 99487); DEMO-08's remote
// monitoring reaches 99457 with an interactive call; DEMO-03 bills 99490 and DEMO-05 99490 and
// 99439; DEMO-04 and DEMO-06 have no time yet.
var demoMonth = []demoWork{
	{patient: "DEMO-01", staff: "RN-DEMO", program: care.CCM, minutes: 9, item: "Missed blood pressure readings", outcome: "left_message",
		note: "Voicemail: asked her to send this week's readings."},
	{patient: "DEMO-02", staff: "MD-DEMO", program: care.CCM, minutes: 18, activity: "care_plan", changed: "care_plan_update", mdm: "moderate",
		note: "Worsening cough with COPD and heart failure: diuretic adjusted, chest film ordered, care plan revised."},
	{patient: "DEMO-08", staff: "RN-DEMO", program: care.RPM, minutes: 11, activity: "patient_call", interactive: true, changed: "decision",
		note: "Called about three high morning readings: cuff technique reviewed, salt intake discussed."},
	{patient: "DEMO-07", staff: "RN-DEMO", program: care.CCM, minutes: 33, activity: "education", changed: "care_plan_update",
		note: "Glucose log and hypoglycaemia plan reviewed with his daughter."},
	{patient: "DEMO-02", staff: "RN-DEMO", program: care.CCM, minutes: 24, item: "Feels worse, more cough", outcome: "reached_patient",
		note: "Cough worse for 4 days, no fever; the physician to review today."},
	{patient: "DEMO-05", staff: "RN-DEMO", program: care.CCM, minutes: 22, activity: "coordination",
		note: "Coordinated the cardiology referral and lab orders."},
	{patient: "DEMO-03", staff: "RN-DEMO", program: care.CCM, minutes: 24, item: "Blood pressure above the limit", outcome: "reached_patient",
		note: "Repeat reading lower; medication timing adjusted with the physician's plan."},
	{patient: "DEMO-08", staff: "RN-DEMO", program: care.RPM, minutes: 12, activity: "data_review",
		note: "Reviewed two weeks of cuff readings."},
	{patient: "DEMO-02", staff: "RN-DEMO", program: care.CCM, minutes: 21, activity: "medication_reconciliation", changed: "medication_change",
		note: "Reconciled medications after the pulmonology visit."},
	{patient: "DEMO-05", staff: "RN-DEMO", program: care.CCM, minutes: 19, item: "Check-in not answered", outcome: "reached_patient",
		note: "Reached him at home; he had been away."},
	{patient: "DEMO-01", staff: "RN-DEMO", program: care.CCM, minutes: 8, activity: "care_plan",
		note: "Updated her blood pressure goals in the care plan."},
}

// demoBreak is the pause between two pieces of one staff member's work.
const demoBreak = 7 * time.Minute

// demoSpan is when a piece of work was done.
type demoSpan struct{ from, to time.Time }

// seedDemoMonth records the demo month's work (demoMonth) in the current month, before now,
// through the time log and the queue as the staff would, their clocks set to when each step
// happened. A month that already holds time entries (the demo's database kept from an
// earlier run) gets none, so a restart never doubles the time. It returns how many entries it
// recorded and how many pieces of work did not fit in the month so far (its first hours).
func (a *app) seedDemoMonth(ctx context.Context, d *sqlx.DB) (recorded, skipped int, err error) {
	now := a.now()
	loc := a.cfg.Location
	from, to := billing.MonthOf(now, loc).Bounds(loc)
	held, err := a.timelog(d).List(ctx, timelog.ListFilter{From: from, To: to, AllVersion: true})
	if err != nil || len(held) > 0 {
		return 0, 0, err
	}
	spans := layoutDemoWork(demoMonth, from, now, loc)
	for i, w := range demoMonth {
		if spans[i] == nil {
			skipped++
			continue
		}
		if err := a.recordDemoWork(ctx, d, w, *spans[i]); err != nil {
			return recorded, skipped, fmt.Errorf("error recording the demo's time for %s: %w", w.patient, err)
		}
		recorded++
	}
	return recorded, skipped, nil
}

// recordDemoWork records one piece of work done in span: an item raised before it, claimed at
// its start, resolved at its end and its proposed time entry recorded; or a timer started and
// stopped.
func (a *app) recordDemoWork(ctx context.Context, d *sqlx.DB, w demoWork, span demoSpan) error {
	at := func(t time.Time) *timelog.Service {
		s := a.timelog(d)
		s.Clock = func() time.Time { return t }
		return s
	}
	who, err := at(span.from).CallerFor(ctx, w.staff)
	if err != nil {
		return err
	}
	if w.item == "" {
		t, err := at(span.from).StartTimer(ctx, who, timelog.TimerStart{Patients: []string{w.patient}, Program: w.program, Activity: w.activity})
		if err != nil {
			return err
		}
		_, err = at(span.to).StopTimer(ctx, who, t.ID, timelog.TimerStop{Note: w.note, Changed: w.changed, MDM: w.mdm, Interactive: w.interactive})
		return err
	}
	practice := a.cfg.practiceSettings().ID
	member, err := staff.ByExtID(ctx, d, int64(practice), w.staff)
	if err != nil {
		return err
	}
	var patient int64
	if err := d.GetContext(ctx, &patient, "SELECT id FROM patients WHERE practice_id = $1 AND ext_id = $2", int64(practice), w.patient); err != nil {
		return fmt.Errorf("error finding demo patient %s: %w", w.patient, err)
	}
	raisedAt := span.from.Add(-25 * time.Minute)
	item, err := escalation.Raise(ctx, d, escalation.Item{PracticeID: int64(practice), PatientID: patient, Severity: escalation.High,
		Reason: w.item, Source: escalation.SourceRule}, escalation.DefaultDueTimes, raisedAt, a.cfg.Location)
	if err != nil {
		return err
	}
	// The claim's lease covers the work, as the item page's renewals would.
	queue := func(t time.Time) *escalation.Queue {
		return &escalation.Queue{DB: d, Practice: practice, Clock: func() time.Time { return t }, Lease: span.to.Sub(span.from) + escalation.DefaultLease}
	}
	if _, err := queue(span.from).Claim(ctx, item.ID, int64(member.ID)); err != nil {
		return err
	}
	p, err := queue(span.to).Resolve(ctx, item.ID, int64(member.ID), w.outcome, w.note)
	if err != nil {
		return err
	}
	// The nurse confirms the proposed entry, saying what the work changed.
	entry := p.Draft
	entry.Changed = w.changed
	_, err = at(span.to).Record(ctx, who, entry, timelog.SourceEscalation)
	return err
}

// layoutDemoWork says when each piece of work was done, in the month so far ([monthStart,
// now)): latest first from a few minutes before now, each staff member's pieces one after
// another with a break, so that none of one member's overlap. Pieces go in working hours (8:30
// to 17:30 on weekdays, in loc), spread over as many days as the month so far has, when those
// hold them all; else at any hour since the month began. A piece that still does not fit (the
// first hours of a month) gets nil.
func layoutDemoWork(work []demoWork, monthStart, now time.Time, loc *time.Location) []*demoSpan {
	end := now.Add(-5 * time.Minute).Truncate(time.Minute)
	days := workingHours(monthStart, end, loc)
	for perDay := 1; perDay <= len(work); perDay++ {
		if spans, ok := placeDemoWork(work, days, perDay); ok {
			return spans
		}
	}
	spans, _ := placeDemoWork(work, []demoSpan{{monthStart, end}}, len(work))
	return spans
}

// placeDemoWork places the pieces of work in windows (latest first), each staff member's
// latest first and at most perWindow of them in a window; ok is false when some piece found no
// room.
func placeDemoWork(work []demoWork, windows []demoSpan, perWindow int) (spans []*demoSpan, ok bool) {
	type cursor struct {
		window int       // the window being filled
		placed int       // the pieces placed in it
		at     time.Time // where the next piece ends
	}
	spans, ok = make([]*demoSpan, len(work)), true
	cursors := map[string]*cursor{}
	for i, w := range work {
		c := cursors[w.staff]
		if c == nil {
			c = &cursor{}
			if len(windows) > 0 {
				c.at = windows[0].to
			}
			cursors[w.staff] = c
		}
		length := time.Duration(w.minutes) * time.Minute
		for c.window < len(windows) && (c.placed == perWindow || c.at.Add(-length).Before(windows[c.window].from)) {
			if c.window, c.placed = c.window+1, 0; c.window < len(windows) {
				c.at = windows[c.window].to
			}
		}
		if c.window == len(windows) {
			ok = false
			continue
		}
		spans[i] = &demoSpan{c.at.Add(-length), c.at}
		c.at = c.at.Add(-length - demoBreak)
		c.placed++
	}
	return spans, ok
}

// workingHours returns the working hours (8:30 to 17:30 on weekdays, in loc) within [from,
// to), latest first.
func workingHours(from, to time.Time, loc *time.Location) []demoSpan {
	var out []demoSpan
	last := to.In(loc)
	for day := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, loc); day.AddDate(0, 0, 1).After(from); day = day.AddDate(0, 0, -1) {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		open := time.Date(day.Year(), day.Month(), day.Day(), 8, 30, 0, 0, loc)
		closed := time.Date(day.Year(), day.Month(), day.Day(), 17, 30, 0, 0, loc)
		if open.Before(from) {
			open = from
		}
		if closed.After(to) {
			closed = to
		}
		if open.Before(closed) {
			out = append(out, demoSpan{open, closed})
		}
	}
	return out
}
