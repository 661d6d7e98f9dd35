package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/history"
)

// historyCmd runs "history partitions" and "history retain [--dry-run] [--archive DIR]".
func (a *app) historyCmd(ctx context.Context, args []string) error {
	u, args, err := a.subcommand("history", args)
	if err != nil {
		return err
	}
	sub := strings.TrimPrefix(u.name, "history ")
	fs := u.flagSet()
	var dryRun bool
	var archive string
	if sub == "retain" {
		fs.BoolVar(&dryRun, "dry-run", false, "say what would be done and change nothing")
		fs.StringVar(&archive, "archive", "", "write each retired partition to `DIR` and drop it (default: detach only)")
	}
	if _, err := a.parse(u, fs, args); err != nil {
		return err
	}
	return a.withOwnerDB(ctx, func(d *sqlx.DB) error {
		if sub == "partitions" {
			return a.printPartitions(ctx, d)
		}
		rep, err := history.Retain(ctx, d, history.Options{Now: a.now(), RecordYears: a.cfg.RecordYears, Archive: archive,
			DryRun: dryRun, Practice: int64(a.cfg.practiceSettings().ID), Actor: audit.ActorCLI})
		if err != nil {
			return err
		}
		printRetained(a, rep, dryRun, archive != "")
		return nil
	})
}

// withOwnerDB runs fn on the database of DATABASE_URL as its own user, never the engine's role:
// partitions are the tables' owner's to make, detach and drop. The schema must be current.
func (a *app) withOwnerDB(ctx context.Context, fn func(d *sqlx.DB) error) error {
	d, err := a.openCurrent(ctx, audit.ActorCLI)
	if err != nil {
		return err
	}
	d.Close()
	o, err := db.OpenWith(ctx, a.cfg.DatabaseURL, db.MigrationSession)
	if err != nil {
		return err
	}
	defer o.Close()
	return fn(o)
}

func (a *app) printPartitions(ctx context.Context, d *sqlx.DB) error {
	ps, err := history.List(ctx, d)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "table\tpartition\trows (estimate)\tsize (MB)\t")
	var rows, bytes int64
	for _, p := range ps {
		r := max(p.Rows, 0)
		rows, bytes = rows+r, bytes+p.Bytes
		fmt.Fprintf(w, "%s\t%s\t%d\t%.1f\t\n", p.Table, p.Name, r, float64(p.Bytes)/(1<<20))
	}
	fmt.Fprintf(w, "all\t%d partitions\t%d\t%.1f\t\n", len(ps), rows, float64(bytes)/(1<<20))
	return w.Flush()
}

func printRetained(a *app, rep history.Report, dryRun, archiving bool) {
	verb := ""
	if dryRun {
		verb = "would be "
	}
	fmt.Fprintf(a.stdout, "horizon %s: partitions ending on or before it are retired\n", rep.Horizon.Format("2006-01-02"))
	if len(rep.Partitions) == 0 {
		fmt.Fprintln(a.stdout, "no partition is past the horizon")
	}
	for _, r := range rep.Partitions {
		what := "detached"
		if !r.Detached {
			what = "already detached"
		}
		if archiving {
			what += ", archived to " + r.File + " and dropped"
		}
		fmt.Fprintf(a.stdout, "%s (%s, %d rows): %s%s\n", r.Partition, r.Month, r.Rows, verb, what)
	}
	fmt.Fprintf(a.stdout, "message bodies %scleared: %d\n", verb, rep.Bodies)
	fmt.Fprintf(a.stdout, "provider ids of received texts %sforgotten: %d\n", verb, rep.SIDs)
}

// keepPartitions makes the partitions of the months ahead as the tables' owner; serve runs it
// daily on every replica (they take turns, and the second finds the work done).
func (a *app) keepPartitions(ctx context.Context) {
	d, err := db.OpenWith(ctx, a.cfg.DatabaseURL, db.MigrationSession)
	if err == nil {
		d.SetMaxOpenConns(1)
		err = a.ensurePartitions(ctx, d)
		d.Close()
	}
	if err != nil {
		a.log.Error("partition upkeep failed", "err", err)
	}
}

// ensurePartitions makes the partitions of the months ahead on d, which acts as the tables'
// owner, and logs each it made.
func (a *app) ensurePartitions(ctx context.Context, d *sqlx.DB) error {
	made, err := history.Ensure(ctx, d, a.now(), history.Ahead)
	for _, c := range made {
		a.log.Info("partition created", "table", c.Table, "partition", c.Partition, "month", c.Month.String(),
			"moved_from_default", c.Moved)
	}
	return err
}
