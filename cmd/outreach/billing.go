package main

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/monitoring"
)

func (a *app) billingStore(d *sqlx.DB) *billing.Store {
	return &billing.Store{DB: d, Practice: a.cfg.practiceSettings().ID, Location: a.cfg.Location,
		Rates: a.cfg.Rates, FeeSchedule: a.cfg.FeeSchedule, SamePractitioner: a.cfg.SamePractitioner,
		Devices: monitoring.BillingFacts(a.cfg.practiceSettings().ID, a.cfg.Location), Clock: a.now}
}

// billingCmd runs "billing report --month YYYY-MM [--format json|csv|text] [--all]",
// "billing close --month YYYY-MM" and "billing worklist [--month YYYY-MM] [--within MINUTES]".
func (a *app) billingCmd(ctx context.Context, args []string) error {
	u, args, err := a.subcommand("billing", args)
	if err != nil {
		return err
	}
	sub := strings.TrimPrefix(u.name, "billing ")
	fs := u.flagSet()
	monthHelp := "the `YYYY-MM` month, in the practice's time zone"
	if sub == "worklist" {
		monthHelp += " (default this month)"
	}
	month := fs.String("month", "", monthHelp)
	format, within, all := "text", int64(0), false
	switch sub {
	case "report":
		fs.StringVar(&format, "format", "json", "the report's `format`: json, csv or text")
		fs.BoolVar(&all, "all", false, "also the rows of enrolled patients with no time and nothing else to report")
	case "worklist":
		fs.Int64Var(&within, "within", 10, "how close to the next code a patient must be, in `MINUTES`")
	}
	if _, err := a.parse(u, fs, args); err != nil {
		return err
	}
	if sub == "worklist" && *month == "" {
		*month = billing.MonthOf(a.now(), a.cfg.Location).String()
	}
	m, err := billing.ParseMonth(*month)
	if err != nil {
		return u.fail("--month: %v", err)
	}
	if format != "json" && format != "csv" && format != "text" {
		return u.fail("--format %q is not json, csv or text", format)
	}
	return a.withDB(ctx, func(d *sqlx.DB) error {
		store := a.billingStore(d)
		if sub == "worklist" {
			rep, err := store.Report(ctx, m)
			if err == nil {
				err = store.AuditRead(ctx, audit.ActorCLI, m, map[string]any{"view": "worklist", "within": within})
			}
			if err != nil {
				return err
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(billing.Worklist(rep.Report, a.now(), a.cfg.Location, within))
		}
		var rep billing.MonthReport
		if sub == "close" {
			rep, err = store.Close(ctx, audit.ActorCLI, m)
		} else if rep, err = store.Report(ctx, m); err == nil {
			err = store.AuditRead(ctx, audit.ActorCLI, m, map[string]any{"view": "report", "format": format, "all": all})
		}
		if err != nil {
			return err
		}
		if sub == "report" && !all {
			rep = rep.WithoutIdle()
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
	})
}
