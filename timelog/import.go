package timelog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/practice"
)

var importSchema = csvfile.Schema{
	Columns: []string{"patients", "staff", "program", "started_at", "ended_at", "minutes",
		"activity", "note", "changed", "mdm", "interactive"},
	Required: []string{"patients", "staff", "program", "started_at"},
}

// Import says what an import of a time file did.
type Import struct {
	Rows     int
	Seconds  int64     // the entries' total duration
	Warnings []Warning // entries stored all the same: overlapping others, or in a closed month
}

type importRow struct {
	line       int
	usesMinute bool
	draft      Draft
}

// ImportFile appends the entries of a time CSV file that c imports (CLI at the command line;
// see Permit) in one transaction: a file with any error or refusal stores nothing. The same
// file imported twice is refused, and so is a row that repeats an entry already stored (same
// staff, instants, program and patients), so that no minute is counted twice. An entry that
// overlaps another current entry of the same staff member (stored, or on another line), or
// falls in a closed billing month, is stored with a warning.
func (s *Service) ImportFile(ctx context.Context, name string, r io.Reader, c Caller) (Import, error) {
	var res Import
	now := s.Now()
	opt := imports.Options{Practice: practice.Settings{ID: s.Practice}, Actor: c.Actor, Now: now}
	rows, err := imports.Run(ctx, s.DB, name, r, opt, imports.Job[importRow]{
		Kind: imports.Time, Schema: importSchema, Once: true,
		Parse: func(f *csvfile.File) ([]importRow, error) { return parseTimeRows(f, now) },
		Store: func(ctx context.Context, tx *sqlx.Tx, _ *csvfile.File, rows []importRow) (map[string]int, error) {
			if err := s.storeImport(ctx, tx, name, rows, c, now, &res); err != nil {
				return nil, err
			}
			return map[string]int{"seconds": int(res.Seconds)}, nil
		},
	})
	if err != nil {
		return Import{}, err
	}
	res.Rows = rows
	return res, nil
}

// storeImport checks the parsed rows of a time file against what is stored (who may import
// them, repeats) and stores them with their warnings, in the import's transaction.
func (s *Service) storeImport(ctx context.Context, tx *sqlx.Tx, name string, rows []importRow, c Caller, now time.Time, res *Import) error {
	drafts := make([]Draft, len(rows))
	for i, row := range rows {
		drafts[i] = row.draft
	}
	rv, err := newResolver(ctx, tx, int64(s.Practice), drafts)
	if err != nil {
		return err
	}
	var errs csvfile.Collector
	resolvedRows := make([]resolved, 0, len(rows))
	spans := make([]span, 0, len(rows))
	firstLine := map[string]int{}
	for _, row := range rows {
		e, fes := rv.resolve(row.draft)
		err := permitted(c, VerbImport, e, nil, fes)
		var ie *InvalidError
		switch {
		case errors.As(err, &ie):
			errs.AddAll(fieldErrors(name, row, ie.Errs))
			continue
		case err != nil:
			return fmt.Errorf("%s:%d: %w", name, row.line, err)
		}
		key := fmt.Sprint(e.staffID, e.StartedAt.UnixNano(), e.EndedAt.UnixNano(), e.Program, e.patientIDs)
		if first, dup := firstLine[key]; dup {
			errs.Add(&csvfile.Error{File: name, Line: row.line, Column: "started_at", Msg: fmt.Sprintf("the same entry appears on line %d", first)})
			continue
		}
		firstLine[key] = row.line
		dupID, err := s.duplicateOf(ctx, tx, e)
		if err != nil {
			return err
		}
		if dupID != 0 {
			errs.Add(&csvfile.Error{File: name, Line: row.line, Column: "started_at", Msg: fmt.Sprintf("the same entry is already stored as entry %d", dupID)})
			continue
		}
		resolvedRows = append(resolvedRows, e)
		spans = append(spans, span{line: row.line, staffID: e.staffID, staff: e.Staff, from: e.StartedAt, to: e.EndedAt})
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if res.Warnings, err = s.fileWarnings(ctx, tx, name, spans); err != nil {
		return err
	}
	for _, e := range resolvedRows {
		if _, err := s.insert(ctx, tx, e, SourceImport, amendment{}, c.Actor, now); err != nil {
			return err
		}
		res.Seconds += int64(e.EndedAt.Sub(e.StartedAt) / time.Second)
	}
	return nil
}

// fieldErrors turns a row's field errors into file errors, naming the column the value came
// from (the end of an entry given as minutes is the minutes column).
func fieldErrors(name string, row importRow, fes []*FieldError) []*csvfile.Error {
	out := make([]*csvfile.Error, len(fes))
	for i, fe := range fes {
		col := fe.Field
		if col == "ended_at" && row.usesMinute {
			col = "minutes"
		}
		out[i] = &csvfile.Error{File: name, Line: row.line, Column: col, Msg: fe.Msg}
	}
	return out
}

func parseTimeRows(f *csvfile.File, now time.Time) ([]importRow, error) {
	if !f.Has("ended_at") && !f.Has("minutes") {
		return nil, &csvfile.Error{File: f.Name, Line: 1, Column: "ended_at", Msg: `missing column "ended_at" or "minutes"`}
	}
	return csvfile.ParseRows(f, "", func(r csvfile.Row) (importRow, []*csvfile.Error) {
		row, errs := parseTimeRow(r)
		if len(errs) == 0 {
			errs = fieldErrors(f.Name, row, row.draft.Normalize(now))
		}
		return row, errs
	})
}

func parseTimeRow(r csvfile.Row) (importRow, []*csvfile.Error) {
	var errs []*csvfile.Error
	check := func(e *csvfile.Error) {
		if e != nil {
			errs = append(errs, e)
		}
	}
	row := importRow{line: r.Line}
	d := &row.draft
	for _, col := range []string{"patients", "staff", "program", "started_at"} {
		_, e := r.Required(col)
		check(e)
	}
	d.Patients = r.List("patients")
	d.Staff = r.Get("staff")
	d.Program = Program(strings.ToLower(r.Get("program")))
	start, _, e := r.Instant("started_at")
	check(e)
	d.StartedAt = start
	end, hasEnd, e := r.Instant("ended_at")
	check(e)
	minutes, hasMinutes, e := r.Int("minutes", 1, int(MaxDuration/time.Minute))
	check(e)
	switch {
	case hasEnd && hasMinutes:
		check(r.Errorf("minutes", "give ended_at or minutes, not both"))
	case hasEnd:
		d.EndedAt = end
	case hasMinutes:
		row.usesMinute = true
		d.EndedAt = start.Add(time.Duration(minutes) * time.Minute)
	case r.Get("ended_at") == "" && r.Get("minutes") == "":
		col := "ended_at"
		if !r.Has("ended_at") {
			col = "minutes"
		}
		check(r.Errorf(col, "ended_at and minutes are both empty: give one"))
	}
	d.Activity = Activity(strings.ToLower(r.Get("activity")))
	d.Note = r.Get("note")
	d.Changed = Change(strings.ToLower(r.Get("changed")))
	d.MDM = MDM(strings.ToLower(r.Get("mdm")))
	d.Interactive, e = r.Bool("interactive", false)
	check(e)
	return row, errs
}
