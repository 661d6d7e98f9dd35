package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/timelog"
)

// timeCmd runs "time history ENTRY_ID", "time export --month YYYY-MM" and
// "time conflicts --month YYYY-MM", and "time amend" and "time void" (see timeChange).
func (a *app) timeCmd(ctx context.Context, args []string) error {
	u, args, err := a.subcommand("time", args)
	if err != nil {
		return err
	}
	if u.name == "time amend" || u.name == "time void" {
		return a.timeChange(ctx, u, args)
	}
	sub := strings.TrimPrefix(u.name, "time ")
	fs := u.flagSet()
	var m *string
	if sub != "history" {
		m = fs.String("month", "", "the `YYYY-MM` month, in the practice's time zone")
	}
	rest, err := a.parse(u, fs, args)
	if err != nil {
		return err
	}
	var entry int64
	var month billing.Month
	if sub == "history" {
		if entry, err = strconv.ParseInt(rest[0], 10, 64); err != nil || entry <= 0 {
			return u.fail("%q is not an entry id", rest[0])
		}
	} else if month, err = billing.ParseMonth(*m); err != nil {
		return u.fail("--month: %v", err)
	}
	return a.withDB(ctx, func(d *sqlx.DB) error {
		svc := a.timelog(d)
		from, to := month.Bounds(a.cfg.Location)
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		switch sub {
		case "history":
			h, err := svc.History(ctx, timelog.EntryID(entry))
			if err == nil {
				err = svc.AuditRead(ctx, audit.ActorCLI, "time_entry.history", "", timelog.EntryID(entry), "", nil)
			}
			if err != nil {
				return err
			}
			return enc.Encode(struct {
				Timezone string          `json:"timezone"`
				Versions []timelog.Entry `json:"versions"`
			}{a.cfg.Location.String(), h})
		case "conflicts":
			cs, err := svc.Conflicts(ctx, from, to)
			if err == nil {
				err = svc.AuditRead(ctx, audit.ActorCLI, "time_entry.conflicts", month.String(), 0, "", nil)
			}
			if err != nil {
				return err
			}
			return enc.Encode(struct {
				Month     string             `json:"month"`
				Timezone  string             `json:"timezone"`
				Conflicts []timelog.Conflict `json:"conflicts"`
			}{month.String(), a.cfg.Location.String(), cs})
		default:
			if err := svc.AuditRead(ctx, audit.ActorCLI, "time_entry.export", month.String(), 0, "", nil); err != nil {
				return err
			}
			return svc.Export(ctx, a.stdout, from, to, a.cfg.Location)
		}
	})
}
