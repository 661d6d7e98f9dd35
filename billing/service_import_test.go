package billing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/billing"
	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/practice"
	"github.com/outreach-engine/outreach/outreach"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var importedAt = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)

func settings() practice.Settings {
	return practice.Settings{ID: practice.Default, Location: time.UTC}
}

func TestImportServices(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	_, err := outreach.ImportPatients(ctx, d, "patients.csv", strings.NewReader("id\nP1\nP2\n"), imports.Options{Practice: settings(), Actor: audit.ActorCLI, Now: importedAt})
	if err != nil {
		t.Fatal(err)
	}
	opt := imports.Options{Practice: settings(), Actor: audit.ActorCLI, Now: importedAt}
	file := "patient,code,date,npi\nP1,G0181,2026-03-04,2222222228\nP2,99426,2026-03-10,1111111112\nP2,99426,2026-03-10,1111111112\n"
	res, err := billing.ImportServices(ctx, d, "services.csv", strings.NewReader(file), opt)
	if err != nil {
		t.Fatal(err)
	}
	if res != (billing.ServiceImport{Rows: 3, Added: 2, AlreadyKnown: 1}) {
		t.Errorf("import = %+v", res)
	}
	res, err = billing.ImportServices(ctx, d, "services.csv", strings.NewReader(file), opt)
	if err != nil || res.Added != 0 {
		t.Errorf("re-import = %+v, %v; want nothing added", res, err)
	}

	tests := []struct {
		name, content string
		line          int
		column, msg   string
	}{
		{"unknown patient", "patient,code,date,npi\nP1,G0181,2026-03-04,2222222228\nP9,G0181,2026-03-04,2222222228\n", 3, "patient", `patient "P9" is not a known patient id`},
		{"bad code", "patient,code,date,npi\nP1,ABC,2026-03-04,2222222228\n", 2, "code", `code "ABC" is not a CPT or HCPCS code`},
		{"bad date", "patient,code,date,npi\nP1,G0181,03/04/2026,2222222228\n", 2, "date", `date "03/04/2026" is not a date`},
		{"missing npi", "patient,code,date,npi\nP1,G0181,2026-03-04,\n", 2, "npi", "npi is empty"},
		{"missing column", "patient,code,date\nP1,G0181,2026-03-04\n", 1, "npi", `missing required column "npi"`},
		{"npi check digit", "patient,code,date,npi\nP1,G0181,2026-03-04,2222222228\nP1,G0182,2026-03-04,1234567890\n", 3, "npi",
			`services.csv:3: npi "1234567890" is not a valid NPI: its check digit should be 3`},
		{"npi length", "patient,code,date,npi\nP1,G0181,2026-03-04,222222222\n", 2, "npi", `npi "222222222" is not a valid NPI: an NPI is 10 digits`},
		{"every unknown patient", "patient,code,date,npi\nP7,G0181,2026-03-04,2222222228\nP1,G0181,2026-03-05,2222222228\nP8,G0181,2026-03-04,2222222228\nP9,G0181,2026-03-04,2222222228\n", 2, "patient",
			"services.csv: 3 errors:\nservices.csv:2: patient \"P7\" is not a known patient id\nservices.csv:4: patient \"P8\" is not a known patient id\nservices.csv:5: patient \"P9\" is not a known patient id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before int
			d.Get(&before, `SELECT count(*) FROM billed_services`)
			_, err := billing.ImportServices(ctx, d, "services.csv", strings.NewReader(tt.content), opt)
			var ces csvfile.Errors
			if !errors.As(err, &ces) {
				t.Fatalf("error = %v, want csv errors", err)
			}
			if ces[0].Line != tt.line || ces[0].Column != tt.column || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error = %q (line %d column %q), want line %d column %q %q", err, ces[0].Line, ces[0].Column, tt.line, tt.column, tt.msg)
			}
			var after int
			d.Get(&after, `SELECT count(*) FROM billed_services`)
			if after != before {
				t.Errorf("%d services after a failed import, want %d", after, before)
			}
		})
	}
}
