package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/outreach/simulator"
	"github.com/outreach-engine/outreach/scripts"
)

// maxPasses bounds the dispatch passes of one "checkins run".
const maxPasses = 10000

// checkinsCmd runs "checkins run [--at RFC3339]": one scheduling pass (with reminders and
// expiry) and dispatch passes until nothing more is due, then exits.
func (a *app) checkinsCmd(ctx context.Context, args []string) error {
	u, args, err := a.subcommand("checkins", args)
	if err != nil {
		return err
	}
	fs := u.flagSet()
	at := fs.String("at", "", "act as if it were this instant, `RFC3339` (for \"due\", quiet hours, reminders, expiry)")
	if _, err := a.parse(u, fs, args); err != nil {
		return err
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return u.fail("--at %q is not an RFC 3339 instant like 2026-12-01T15:00:00Z", *at)
		}
		a.now = func() time.Time { return t }
	}
	if err := a.checkChannel(); err != nil {
		return err
	}
	lib, err := a.loadScripts()
	if err != nil {
		return err
	}
	return a.withDB(ctx, func(d *sqlx.DB) error {
		eng := a.engine(d, lib, a.channel(ctx, simulator.Hooks{}))
		s, err := eng.Schedule(ctx)
		if err != nil {
			return err
		}
		f, err := eng.FollowUp(ctx)
		if err != nil {
			return err
		}
		var total outreach.DispatchResult
		for range maxPasses {
			r, err := eng.Dispatch(ctx)
			total.Add(r)
			if err != nil {
				return err
			}
			if !r.Busy() {
				break
			}
		}
		fmt.Fprintf(a.stdout, "check-ins: %d started, %d waiting for quiet hours to end, %d reminded, %d expired\n",
			s.Created, s.Waiting, f.Reminded, f.Expired)
		fmt.Fprintf(a.stdout, "messages: %d sent, %d to retry, %d failed, %d unknown, %d held for quiet hours, %d cancelled, %d expired\n",
			total.Sent, total.Retrying, total.Failed, total.Unknown, total.Deferred, total.Cancelled, total.Expired)
		c := total.Calls
		fmt.Fprintf(a.stdout, "calls: %d placed, %d to retry, %d failed, %d unknown, %d held for quiet hours, %d cancelled\n",
			c.Placed, c.Retrying, c.Failed, c.Unknown, c.Deferred, c.Cancelled)
		return nil
	})
}

// scriptsCmd runs "scripts validate FILE.yaml" (several files may be given).
func (a *app) scriptsCmd(args []string) error {
	u, args, err := a.subcommand("scripts", args)
	if err != nil {
		return err
	}
	files, err := a.parse(u, nil, args)
	if err != nil {
		return err
	}
	failed := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("error reading %s: %w", path, err)
		}
		s, err := scripts.Parse(filepath.Base(path), data)
		if err != nil {
			failed++
			fmt.Fprintln(a.stdout, err)
			continue
		}
		fmt.Fprintf(a.stdout, "%s: script %q is valid: %d questions, languages %v, schedule %q\n",
			filepath.Base(path), s.ID, len(s.Questions), s.Languages, s.Schedule)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d scripts have problems (listed above)", failed, len(files))
	}
	return nil
}
