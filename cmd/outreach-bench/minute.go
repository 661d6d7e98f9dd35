package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/scripts"
)

// minuteTicks is how many scheduler minutes are timed, by one engine as a long-running serve
// keeps it: the first, which prepares its statements and reads the groups of patients, then
// the others, whose median is the figure.
const minuteTicks = 6

// minuteParts is the time of one scheduler minute, part by part.
type minuteParts struct {
	schedule, followUp, alerts time.Duration
	scanned                    int // groups of patients the scheduler read
}

func (m minuteParts) total() time.Duration { return m.schedule + m.followUp + m.alerts }

// minute times the scheduler's minute with nothing due, once the month's check-ins are sent:
// what "serve" runs every minute (start the due check-ins, remind, expire, page the on-call
// clinician), in this process against the scratch database, at the minutes after the month's
// texts went out. The engine sends nothing then, so the time is the database's and the round
// trips'.
func (b *benchRun) minute(ctx context.Context) error {
	lib, err := scripts.Bundled()
	if err != nil {
		return err
	}
	quiet, err := practice.ParseQuietHours("21:00-08:00") // the engine's default, as the bench's serve runs
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, b.conn) // a pool as the engine's own
	if err != nil {
		return err
	}
	defer d.Close()
	var now time.Time
	clock := func() time.Time { return now }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := outreach.New(d, lib, nil, clock, practice.Settings{ID: practice.ID(b.practice), Location: b.loc, Quiet: quiet}, log)
	alerts := &escalation.Notifier{DB: d, Practice: practice.ID(b.practice), Clock: clock, OnCall: []string{"S00000"}, Log: log,
		Send: func(context.Context, string, string) error { return nil }}
	var ticks []minuteParts
	for i := range minuteTicks {
		now = b.c.at.Add(time.Duration(i+1) * time.Minute)
		var m minuteParts
		t0 := time.Now()
		s, err := eng.Schedule(ctx)
		m.schedule = time.Since(t0)
		if err != nil {
			return fmt.Errorf("scheduler minute: %w", err)
		}
		m.scanned = s.Scanned
		t0 = time.Now()
		f, err := eng.FollowUp(ctx)
		m.followUp = time.Since(t0)
		if err != nil {
			return fmt.Errorf("scheduler minute: %w", err)
		}
		t0 = time.Now()
		paged, err := alerts.Notify(ctx)
		m.alerts = time.Since(t0)
		if err != nil {
			return fmt.Errorf("scheduler minute: %w", err)
		}
		if s.Created+f.Reminded+f.Expired+paged > 0 {
			return fmt.Errorf("the scheduler minute at %s had work: %d check-ins started, %d reminded, %d expired, %d alerts",
				now.Format(time.RFC3339), s.Created, f.Reminded, f.Expired, paged)
		}
		ticks = append(ticks, m)
	}
	rest := slices.Clone(ticks[1:])
	slices.SortFunc(rest, func(a, b minuteParts) int { return int(a.total() - b.total()) })
	med := rest[len(rest)/2]
	scanned := 0
	for _, m := range rest {
		scanned += m.scanned
	}
	fmt.Fprintf(b.out, "%-9s the scheduler's minute with nothing due (in-process, wall time of its statements): first %.1f ms, then median %.1f ms of %d (max %.1f ms): start due check-ins %.1f ms, reminders and expiry %.1f ms, on-call alerts %.1f ms; groups of patients read: first %d, then %d\n",
		"minute", ms(ticks[0].total()), ms(med.total()), len(rest), ms(rest[len(rest)-1].total()), ms(med.schedule), ms(med.followUp), ms(med.alerts),
		ticks[0].scanned, scanned)
	return nil
}

// ms is a duration in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / 1e6 }
