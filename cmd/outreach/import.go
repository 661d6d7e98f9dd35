package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/outreach"
	"github.com/outreach-engine/outreach/staff"
	"github.com/outreach-engine/outreach/timelog"
)

func (a *app) importFile(ctx context.Context, args []string) error {
	u, args, err := a.subcommand("import", args)
	if err != nil {
		return err
	}
	if args, err = a.parse(u, nil, args); err != nil {
		return err
	}
	kind, path := strings.TrimPrefix(u.name, "import "), args[0]
	var r io.Reader = a.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("error opening %s: %w", path, err)
		}
		defer f.Close()
		r = f
	} else {
		path = "stdin"
	}
	return a.withDB(ctx, func(d *sqlx.DB) error {
		switch kind {
		case "patients":
			res, err := outreach.ImportPatients(ctx, d, path, r, imports.Options{Practice: a.cfg.practiceSettings(), Actor: audit.ActorCLI, Now: a.now()})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %d rows: %d created, %d updated, %d unchanged; consents: %d added, %d changed",
				path, res.Rows, res.Created, res.Updated, res.Unchanged, res.ConsentsAdded, res.ConsentsChanged)
			if res.Deactivated+res.Activated > 0 {
				fmt.Fprintf(a.stdout, "; %d made inactive, %d made active", res.Deactivated, res.Activated)
			}
			fmt.Fprintln(a.stdout)
		case "staff":
			res, err := staff.ImportFile(ctx, d, path, r, imports.Options{Practice: a.cfg.practiceSettings(), Actor: audit.ActorCLI, Now: a.now()})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %d rows: %d created, %d updated, %d unchanged\n", path, res.Rows, res.Created, res.Updated, res.Unchanged)
		case "services":
			res, err := billing.ImportServices(ctx, d, path, r, imports.Options{Practice: a.cfg.practiceSettings(), Actor: audit.ActorCLI, Now: a.now()})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %d rows: %d added, %d already known\n", path, res.Rows, res.Added, res.AlreadyKnown)
		case "fhir":
			return a.importFHIR(ctx, d, path, r)
		case "readings":
			res, err := a.monitoring(d).ImportFile(ctx, path, r, audit.ActorCLI)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %d readings: %d new, %d already stored; %d out of range\n", path, res.Received, res.New,
				res.Received-res.New, res.OutOfRange)
		case "time":
			res, err := a.timelog(d).ImportFile(ctx, path, r, timelog.CLI)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %d entries, %d:%02d hours\n", path, res.Rows, res.Seconds/3600, res.Seconds%3600/60)
			if len(res.Warnings) > 0 {
				for _, w := range res.Warnings {
					fmt.Fprintln(a.stdout, w)
				}
				noun := "warnings"
				if len(res.Warnings) == 1 {
					noun = "warning"
				}
				fmt.Fprintf(a.stdout, "%s: %d %s; the entries are stored all the same\n", path, len(res.Warnings), noun)
			}
		}
		return nil
	})
}

// errorText is an error's text on one line, except a file's errors, listed one per line so
// that the whole file can be fixed in one pass.
func errorText(err error) string {
	if errors.As(err, new(csvfile.Errors)) {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
