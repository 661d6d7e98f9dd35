package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/timelog"
)

// timeCmd runs "time history ENTRY_ID", "time export --month YYYY-MM" and
// "time conflicts --month YYYY-MM".
func (a *app) timeCmd(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError{"usage: outreach time history ENTRY_ID | export --month YYYY-MM | conflicts --month YYYY-MM"}
	}
	sub := args[0]
	var entry int64
	var month billing.Month
	switch sub {
	case "history":
		if len(args) != 2 {
			return usageError{"usage: outreach time history ENTRY_ID"}
		}
		n, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || n <= 0 {
			return usageError{fmt.Sprintf("time history: %q is not an entry id", args[1])}
		}
		entry = n
	case "export", "conflicts":
		fs := flag.NewFlagSet("time "+sub, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		m := fs.String("month", "", "the month, YYYY-MM")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			return usageError{fmt.Sprintf("usage: outreach time %s --month YYYY-MM", sub)}
		}
		var err error
		if month, err = billing.ParseMonth(*m); err != nil {
			return usageError{fmt.Sprintf("time %s --month: %v", sub, err)}
		}
	default:
		return usageError{fmt.Sprintf("unknown time command %q (history, export, conflicts)", sub)}
	}
	d, err := a.openMigrated(ctx, audit.ActorCLI)
	if err != nil {
		return err
	}
	defer d.Close()
	svc := a.timelog(d)
	from, to := month.Bounds(a.cfg.Location)
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	switch sub {
	case "history":
		h, err := svc.History(ctx, timelog.EntryID(entry))
		if err != nil {
			return err
		}
		return enc.Encode(struct {
			Timezone string          `json:"timezone"`
			Versions []timelog.Entry `json:"versions"`
		}{a.cfg.Location.String(), h})
	case "conflicts":
		cs, err := svc.Conflicts(ctx, from, to)
		if err != nil {
			return err
		}
		return enc.Encode(struct {
			Month     string             `json:"month"`
			Timezone  string             `json:"timezone"`
			Conflicts []timelog.Conflict `json:"conflicts"`
		}{month.String(), a.cfg.Location.String(), cs})
	default:
		return svc.Export(ctx, a.stdout, from, to, a.cfg.Location)
	}
}
