package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/audit"
)

func (a *app) billingStore(d *sqlx.DB) *billing.Store {
	return &billing.Store{DB: d, Practice: a.cfg.practiceSettings().ID, Location: a.cfg.Location,
		Rates: a.cfg.Rates, FeeSchedule: a.cfg.FeeSchedule, Now: a.now}
}

// billingCmd runs "billing report --month YYYY-MM [--format json|csv|text]" and
// "billing close --month YYYY-MM".
func (a *app) billingCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "report" && args[0] != "close" && args[0] != "worklist") {
		return usageError{"usage: outreach billing report|close|worklist --month YYYY-MM"}
	}
	sub := args[0]
	fs := flag.NewFlagSet("billing "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	month := fs.String("month", "", "the month, YYYY-MM")
	format := "text"
	within := fs.Int64("within", 10, "minutes")
	if sub == "report" {
		fs.StringVar(&format, "format", "json", "json, csv or text")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{fmt.Sprintf("billing %s: %v", sub, err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("billing %s: unexpected %q", sub, fs.Arg(0))}
	}
	if sub == "worklist" && *month == "" {
		*month = billing.MonthOf(a.now(), a.cfg.Location).String()
	}
	m, err := billing.ParseMonth(*month)
	if err != nil {
		return usageError{fmt.Sprintf("billing %s --month: %v", sub, err)}
	}
	if format != "json" && format != "csv" && format != "text" {
		return usageError{fmt.Sprintf("billing report --format %q is not json, csv or text", format)}
	}
	d, err := a.openMigrated(ctx, audit.ActorCLI)
	if err != nil {
		return err
	}
	defer d.Close()
	store := a.billingStore(d)
	if sub == "worklist" {
		rep, err := store.Report(ctx, m)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(billing.Worklist(rep.Report, a.now(), a.cfg.Location, *within))
	}
	var rep billing.MonthReport
	if sub == "close" {
		rep, err = store.Close(ctx, audit.ActorCLI, m)
	} else {
		rep, err = store.Report(ctx, m)
	}
	if err != nil {
		return err
	}
	switch format {
	case "json":
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "csv":
		return billing.WriteCSV(a.stdout, rep)
	default:
		return billing.WriteText(a.stdout, rep)
	}
}
