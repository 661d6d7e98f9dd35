package billing

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/ident"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/patients"
)

var serviceSchema = csvfile.Schema{
	Columns:  []string{"patient", "code", "date", "npi"},
	Required: []string{"patient", "code", "date", "npi"},
}

// ServiceImport says what an import of a services file did.
type ServiceImport struct {
	Rows, Added, AlreadyKnown int
}

type serviceRow struct {
	line    int
	patient string
	code    string
	date    string
	npi     string
}

// ImportServices reads a CSV file of other services billed for patients (patient, code, date,
// npi) and stores them in one transaction: a file with any error stores nothing. A service
// already stored (same patient, code, date and NPI) is not stored twice.
func ImportServices(ctx context.Context, d *sqlx.DB, name string, r io.Reader, opt imports.Options) (ServiceImport, error) {
	var res ServiceImport
	pid := int64(opt.Practice.ID)
	rows, err := imports.Run(ctx, d, name, r, opt, imports.Job[serviceRow]{
		Kind: imports.Services, Schema: serviceSchema, FirstFile: true, Parse: parseServices,
		Store: func(ctx context.Context, tx *sqlx.Tx, f *csvfile.File, rows []serviceRow) (map[string]int, error) {
			ext := make([]string, len(rows))
			for i, s := range rows {
				ext[i] = s.patient
			}
			ids, err := patients.IDs(ctx, tx, pid, ext)
			if err != nil {
				return nil, err
			}
			var errs csvfile.Collector
			for _, s := range rows {
				if _, ok := ids[s.patient]; !ok {
					errs.Add(&csvfile.Error{File: f.Name, Line: s.line, Column: "patient", Msg: fmt.Sprintf("patient %q is not a known patient id", s.patient)})
				}
			}
			if err := errs.Err(); err != nil {
				return nil, err
			}
			for _, s := range rows {
				var id int64
				err := tx.GetContext(ctx, &id, insertService, pid, ids[s.patient], s.code, s.date, s.npi, opt.Now)
				if db.IsNoRows(err) {
					res.AlreadyKnown++
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("error storing line %d: %w", s.line, err)
				}
				res.Added++
				err = audit.Record(ctx, tx, audit.Event{PracticeID: pid, At: opt.Now, Actor: opt.Actor,
					Action: "service.create", Entity: "patient", EntityID: fmt.Sprint(ids[s.patient]),
					Detail: map[string]any{"service_id": id, "code": s.code, "source": "import"}})
				if err != nil {
					return nil, err
				}
			}
			return map[string]int{"added": res.Added}, nil
		},
	})
	if err != nil {
		return ServiceImport{}, err
	}
	res.Rows = rows
	return res, nil
}

const insertService = `
INSERT INTO billed_services (practice_id, patient_id, code, service_date, npi, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (practice_id, patient_id, code, service_date, npi) DO NOTHING
RETURNING id`

func parseServices(f *csvfile.File) ([]serviceRow, error) {
	return csvfile.ParseRows(f, "", func(r csvfile.Row) (serviceRow, []*csvfile.Error) {
		s := serviceRow{line: r.Line, patient: r.Get("patient"), code: strings.ToUpper(r.Get("code"))}
		var errs []*csvfile.Error
		for _, col := range serviceSchema.Required {
			if _, e := r.Required(col); e != nil {
				errs = append(errs, e)
			}
		}
		if s.code != "" && !ident.ServiceCode(s.code) {
			errs = append(errs, r.Errorf("code", "code %q is not a CPT or HCPCS code (like 99490 or G0181)", r.Get("code")))
		}
		if npi, _, e := r.NPI("npi"); e != nil {
			errs = append(errs, e)
		} else {
			s.npi = npi
		}
		if d, ok, e := r.Date("date"); e != nil {
			errs = append(errs, e)
		} else if ok {
			s.date = d.Format(time.DateOnly)
		}
		return s, errs
	})
}
