package main

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/fhir"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/imports"
)

// importFHIR runs "import fhir FILE.ndjson": a Bulk Data export's Patients and Conditions.
func (a *app) importFHIR(ctx context.Context, d *sqlx.DB, path string, r io.Reader) error {
	items, err := fhir.ReadNDJSON(bufio.NewReader(r))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	parsed, perr := fhir.ParseResources(items)
	if perr != nil {
		perr.Source = path
		return perr
	}
	res, err := fhir.Import(ctx, d, path, parsed, imports.Options{Practice: a.cfg.practiceSettings(), Actor: audit.ActorCLI, Now: a.now()})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(a.stdout, w)
	}
	fmt.Fprintf(a.stdout, "%s: %d patients: %d created, %d updated, %d unchanged; %d conditions read, %d left out",
		path, res.Rows, res.Created, res.Updated, res.Unchanged, res.Conditions, res.Skipped)
	if res.Deactivated+res.Activated > 0 {
		fmt.Fprintf(a.stdout, "; %d made inactive, %d made active", res.Deactivated, res.Activated)
	}
	fmt.Fprintln(a.stdout)
	return nil
}
