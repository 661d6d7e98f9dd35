package monitoring

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/patients"
	"github.com/outreach-engine/outreach/internal/practice"
)

var readingSchema = csvfile.Schema{
	Columns:  []string{"patient", "device", "type", "taken_at", "systolic", "diastolic", "value", "unit", "manual"},
	Required: []string{"patient", "type", "taken_at"},
}

// lineReading is a file's reading with its line.
type lineReading struct {
	line int
	Reading
}

// ImportFile reads a CSV file of readings (patient, device, type, taken_at, systolic,
// diastolic, value, unit, manual) and stores it in one transaction: a file with any error
// stores nothing, and every error names its line and column. A reading stored before (same
// patient, type, instant and device) is not stored again, so the same file imported twice
// changes nothing the second time. Readings out of the patients' limits raise items.
func (s *Service) ImportFile(ctx context.Context, name string, r io.Reader, who audit.Actor) (Result, error) {
	now := s.now()
	var res Result
	_, err := imports.Run(ctx, s.DB, name, r, imports.Options{Practice: practice.Settings{ID: s.Practice, Location: s.Location}, Actor: who, Now: now}, imports.Job[lineReading]{
		Kind: imports.Readings, Schema: readingSchema,
		Parse: func(f *csvfile.File) ([]lineReading, error) {
			return csvfile.ParseRows(f, "", func(row csvfile.Row) (lineReading, []*csvfile.Error) { return parseReading(row, now) })
		},
		Store: func(ctx context.Context, tx *sqlx.Tx, f *csvfile.File, rows []lineReading) (map[string]int, error) {
			ext := make([]string, len(rows))
			rs := make([]Reading, len(rows))
			for i, r := range rows {
				ext[i], rs[i] = r.Patient, r.Reading
			}
			ids, err := patients.IDs(ctx, tx, s.pid(), ext)
			if err != nil {
				return nil, err
			}
			var errs csvfile.Collector
			for _, r := range rows {
				if _, ok := ids[r.Patient]; !ok {
					errs.Add(&csvfile.Error{File: f.Name, Line: r.line, Column: "patient",
						Msg: fmt.Sprintf("patient %q is not a known patient id", r.Patient)})
				}
			}
			if err := errs.Err(); err != nil {
				return nil, err
			}
			if res, err = s.store(ctx, tx, rs, ids, now); err != nil {
				return nil, err
			}
			return map[string]int{"new": res.New, "out_of_range": res.OutOfRange}, nil
		},
	})
	if err != nil {
		return Result{}, err
	}
	s.counted(res)
	return res, nil
}

// parseReading reads one row into a checked reading, with an error per column that is wrong.
func parseReading(row csvfile.Row, now time.Time) (lineReading, []*csvfile.Error) {
	var errs []*csvfile.Error
	failed := map[string]bool{} // columns already refused: Check would only say they are missing
	in := Input{Patient: row.Get("patient"), Device: row.Get("device"), Type: row.Get("type"), TakenAt: row.Get("taken_at"),
		Unit: row.Get("unit")}
	for _, f := range []struct {
		col string
		to  **float64
	}{{"systolic", &in.Systolic}, {"diastolic", &in.Diastolic}, {"value", &in.Value}} {
		v := row.Get(f.col)
		if v == "" {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			errs = append(errs, row.Errorf(f.col, "%s %q is not a number", f.col, v))
			failed[f.col] = true
			continue
		}
		*f.to = &n
	}
	manual, berr := row.Bool("manual", false)
	if berr != nil {
		errs = append(errs, berr)
		failed["manual"] = true
	}
	in.Manual = manual
	r, ferrs := Check(in, now)
	for _, e := range ferrs {
		if !failed[e.Field] {
			errs = append(errs, row.Errorf(e.Field, "%s", e.Msg))
		}
	}
	return lineReading{line: row.Line, Reading: r}, errs
}
