package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/robfig/cron/v3"

	"github.com/outreach-engine/outreach/escalation"
	"github.com/outreach-engine/outreach/metrics"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/simulator"
	"github.com/outreach-engine/outreach/outreach/twilio"
	"github.com/outreach-engine/outreach/scripts"
)

// loadScripts returns the bundled scripts and those of OUTREACH_SCRIPTS_DIR (a file there
// replaces the bundled script of the same id). Any problem in any file stops the start: a
// script with an error is never loaded.
func (a *app) loadScripts() (scripts.Library, error) {
	lib, err := scripts.Bundled()
	if err != nil {
		return nil, err
	}
	if a.cfg.ScriptsDir == "" {
		return lib, nil
	}
	files, err := filepath.Glob(filepath.Join(a.cfg.ScriptsDir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("error listing OUTREACH_SCRIPTS_DIR: %w", err)
	}
	var errs []error
	own := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("error reading %s: %w", f, err))
			continue
		}
		s, err := scripts.Parse(filepath.Base(f), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, ok := own[s.ID]; ok {
			errs = append(errs, fmt.Errorf("%s: script id %q is also the id of %s", filepath.Base(f), s.ID, prev))
			continue
		}
		own[s.ID] = filepath.Base(f)
		if lib[s.ID] != nil {
			a.log.Info("a local script replaces the bundled one", "script", s.ID)
		}
		lib[s.ID] = s
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("OUTREACH_SCRIPTS_DIR: %w", errors.Join(errs...))
	}
	return lib, nil
}

// errNoChannel is why serve and checkins run refuse to start when no channel was chosen.
var errNoChannel = errors.New("no channel to reach patients: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, and " +
	"TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID to send through Twilio; " +
	"or set OUTREACH_CHANNEL=simulator to send nothing (tests and demonstrations)")

// checkChannel is called by every command that sends. It refuses the simulator unless it was
// chosen explicitly, so that real patients are never "texted" by it unnoticed, and says on
// every start in simulation that nothing reaches anyone.
func (a *app) checkChannel() error {
	if a.cfg.Channel != channelSimulator {
		return nil
	}
	if !a.cfg.ChannelSet {
		return errNoChannel
	}
	a.log.Warn("simulation: OUTREACH_CHANNEL=simulator, no text or call reaches a patient", "channel", channelSimulator)
	fmt.Fprintln(a.stderr, "outreach: SIMULATION (OUTREACH_CHANNEL=simulator): no text or call reaches any patient")
	return nil
}

// channel returns the configured way of sending: Twilio, or the simulator.
func (a *app) channel(ctx context.Context, hooks simulator.Hooks) outreach.Channel {
	if a.cfg.Channel == channelTwilio {
		t := a.cfg.Twilio
		if t.FromNumber == "" {
			a.log.Warn("TWILIO_FROM_NUMBER is not set: a messaging service sends texts but cannot place calls to patients on voice")
		}
		return twilio.New(twilio.Config{AccountSID: t.AccountSID, AuthToken: t.AuthToken, FromNumber: t.FromNumber,
			MessagingServiceSID: t.MessagingServiceSID, APIURL: t.APIURL})
	}
	return simulator.New(ctx, a.log, hooks)
}

// engine returns the check-in engine on d, sending through ch.
func (a *app) engine(d *sqlx.DB, lib scripts.Library, ch outreach.Channel) *outreach.Engine {
	e := outreach.New(d, lib, ch, a.now, a.cfg.practiceSettings(), a.log)
	e.Contact = a.cfg.Practice
	e.PublicURL = a.cfg.PublicURL
	e.Send.PerSecond = a.cfg.SendRate
	// The pace is per sender, shared by every replica sending as it.
	t := a.cfg.Twilio
	e.Send.Sender, e.Send.CallSender = cmp.Or(t.MessagingServiceSID, t.FromNumber), t.FromNumber
	if a.cfg.Channel == channelSimulator {
		e.Send.PerSecond = 0 // pacing protects a provider; the simulator needs none
	}
	return e
}

// tick is the scheduler's minute: start due check-ins, remind, expire, and page the on-call
// clinicians about urgent items nobody holds.
func tick(ctx context.Context, e *outreach.Engine, n *escalation.Notifier, rt *metrics.Runtime, log *slog.Logger) {
	started := time.Now()
	s, err1 := e.Schedule(ctx)
	if err1 != nil {
		log.Error("scheduling failed", "err", err1)
	}
	f, err2 := e.FollowUp(ctx)
	if err2 != nil {
		log.Error("follow-up failed", "err", err2)
	}
	alerts, err3 := n.Notify(ctx)
	if err3 != nil {
		log.Error("on-call alerts failed", "err", err3)
	}
	rt.Tick(time.Now(), err1 != nil || err2 != nil || err3 != nil)
	log.Debug("tick", "created", s.Created, "waiting", s.Waiting, "reminded", f.Reminded, "expired", f.Expired,
		"alerts", alerts, "took", time.Since(started))
}

// notifier pages the clinicians of OUTREACH_ON_CALL through the engine's channel.
func (a *app) notifier(e *outreach.Engine) *escalation.Notifier {
	queue := ""
	if a.cfg.PublicURL != nil {
		queue = a.cfg.PublicURL.String()
	}
	return &escalation.Notifier{DB: e.DB, Practice: a.cfg.practiceSettings().ID, Clock: a.now, OnCall: a.cfg.OnCall,
		QueueURL: queue, Log: a.log, Send: func(ctx context.Context, to, body string) error {
			_, err := e.Channel.SendSMS(ctx, outreach.SMS{To: to, Body: body, Kind: "alert"})
			return err
		}}
}

// startCron runs the tick every minute, on every replica (the work is keyed so that replicas
// cannot double it). A tick still running makes the next one skip; a panic is logged and the
// next minute runs again.
func startCron(ctx context.Context, e *outreach.Engine, n *escalation.Notifier, rt *metrics.Runtime, log *slog.Logger) *cron.Cron {
	l := cronLogger{log}
	c := cron.New(cron.WithLocation(time.UTC), cron.WithLogger(l),
		cron.WithChain(cron.SkipIfStillRunning(l), cron.Recover(l)))
	if _, err := c.AddFunc("* * * * *", func() { tick(ctx, e, n, rt, log) }); err != nil {
		panic(err) // a constant spec
	}
	c.Start()
	return c
}

// cronLogger writes robfig/cron's messages through slog.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error("cron: "+msg, append(kv, "err", err)...)
}

// dispatchLoop sends the outbox until ctx ends: passes run back to back while there is work,
// and twice a second otherwise.
func dispatchLoop(ctx context.Context, e *outreach.Engine, rt *metrics.Runtime, log *slog.Logger) {
	for ctx.Err() == nil {
		start := time.Now()
		res, err := e.Dispatch(ctx)
		rt.Dispatched(time.Since(start))
		if err != nil && ctx.Err() == nil {
			log.Error("dispatch failed", "err", err)
		}
		calls := res.Calls
		if res.Busy() {
			if res.Claimed+res.Deferred+res.Cancelled+res.Expired+res.Settled > 0 {
				log.Info("dispatch", "sent", res.Sent, "retrying", res.Retrying, "failed", res.Failed, "unknown", res.Unknown,
					"deferred", res.Deferred, "cancelled", res.Cancelled, "expired", res.Expired, "settled", res.Settled)
			}
			if calls != (outreach.CallCounts{}) {
				log.Info("dispatch calls", "placed", calls.Placed, "retrying", calls.Retrying, "failed", calls.Failed,
					"unknown", calls.Unknown, "deferred", calls.Deferred, "cancelled", calls.Cancelled)
			}
			if err == nil {
				continue
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
