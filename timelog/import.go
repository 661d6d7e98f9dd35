package timelog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/care"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/db"
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
	now := s.Clock()
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

// importChunk is how many entries of a file one statement stores: a file of thousands of
// entries takes a few statements rather than several per entry, and each statement's arrays
// stay of a modest size.
const importChunk = 2000

// storeImport checks the parsed rows of a time file against what is stored (who may import
// them, repeats) and stores them with their warnings, in the import's transaction. It works a
// chunk of rows at a time, never an entry at a time: a file holds thousands of entries.
func (s *Service) storeImport(ctx context.Context, tx *sqlx.Tx, name string, rows []importRow, c Caller, now time.Time, res *Import) error {
	// A file's statements each read or write a few rows per line: the planner's cost for
	// thousands of lines crosses the thresholds of JIT compilation, which then takes seconds
	// per statement for work that takes milliseconds.
	if _, err := tx.ExecContext(ctx, "SET LOCAL jit = off"); err != nil {
		return fmt.Errorf("error preparing the import: %w", err)
	}
	drafts := make([]Draft, len(rows))
	for i, row := range rows {
		drafts[i] = row.draft
	}
	rv, err := newResolver(ctx, tx, int64(s.Practice), drafts)
	if err != nil {
		return err
	}
	var errs csvfile.Collector
	candidates := make([]lineEntry, 0, len(rows))
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
		candidates = append(candidates, lineEntry{line: row.line, e: e})
	}
	// The stored entries that each line overlaps: those it repeats are among them, and the rest
	// are the file's overlap warnings.
	candidateSpans := make([]span, len(candidates))
	for i, le := range candidates {
		candidateSpans[i] = le.span()
	}
	overlaps, err := s.overlapping(ctx, tx, candidateSpans, 0)
	if err != nil {
		return err
	}
	repeats, err := s.repeats(ctx, tx, candidates, overlaps)
	if err != nil {
		return err
	}
	resolvedRows := make([]resolved, 0, len(candidates))
	spans := make([]span, 0, len(candidates))
	for _, le := range candidates {
		if dupID, dup := repeats[le.line]; dup {
			errs.Add(&csvfile.Error{File: name, Line: le.line, Column: "started_at", Msg: fmt.Sprintf("the same entry is already stored as entry %d", dupID)})
			continue
		}
		resolvedRows = append(resolvedRows, le.e)
		spans = append(spans, le.span())
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if res.Warnings, err = s.fileWarnings(ctx, tx, name, spans, overlaps); err != nil {
		return err
	}
	for chunk := range slices.Chunk(resolvedRows, importChunk) {
		if err := s.insertImported(ctx, tx, chunk, c.Actor, now); err != nil {
			return err
		}
	}
	for _, e := range resolvedRows {
		res.Seconds += int64(e.EndedAt.Sub(e.StartedAt) / time.Second)
	}
	return nil
}

// lineEntry is a resolved entry with the line of the file it is on.
type lineEntry struct {
	line int
	e    resolved
}

// span is the entry's time, for the overlap look-ups.
func (le lineEntry) span() span {
	return span{line: le.line, staffID: le.e.staffID, staff: le.e.Staff, from: le.e.StartedAt, to: le.e.EndedAt}
}

// selectRepeats is selectDuplicate for the stored entries that overlap a file's lines (pairs of
// line and entry, with the line's instants, program and patients as an array literal): those
// with the same instants, program and patients, the lowest id for each line. The overlap
// look-up has already matched the staff member and kept current entries only; the entries are
// probed by id. The patients arrive as text because the lines' lists differ in length, which
// a bigint[][] cannot hold.
const selectRepeats = `
SELECT c.line, min(e.id) AS id
FROM unnest($2::int[], $3::bigint[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::text[])
	AS c(line, entry_id, started_at, ended_at, program, patients)
JOIN time_entries e ON e.practice_id = $1 AND e.id = c.entry_id
WHERE e.started_at = c.started_at AND e.ended_at = c.ended_at AND e.program = c.program
	AND ARRAY(SELECT patient_id FROM time_entry_patients p
	          WHERE p.practice_id = e.practice_id AND p.entry_id = e.id ORDER BY patient_id) = c.patients::bigint[]
GROUP BY c.line`

// repeats returns, by line, the id of a current stored entry that the line repeats (same
// staff, instants, program and patients, as duplicateOf finds), for the lines that repeat
// one. Such an entry overlaps the line, so it is among the line's overlaps (overlapping's
// answer for the entries), which are few: the look-up is of those alone.
func (s *Service) repeats(ctx context.Context, q db.Querier, entries []lineEntry, overlaps map[int][]EntryID) (map[int]EntryID, error) {
	var lines []int64
	var ids []EntryID
	var from, to, programs, patients []string
	for _, le := range entries {
		for _, id := range overlaps[le.line] {
			lines, ids, programs = append(lines, int64(le.line)), append(ids, id), append(programs, string(le.e.Program))
			from = append(from, le.e.StartedAt.Format(time.RFC3339Nano))
			to = append(to, le.e.EndedAt.Format(time.RFC3339Nano))
			patients = append(patients, arrayLiteral(le.e.patientIDs))
		}
	}
	out := map[int]EntryID{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		Line  int     `db:"line"`
		Entry EntryID `db:"id"`
	}
	err := q.SelectContext(ctx, &rows, selectRepeats, int64(s.Practice), pq.Array(lines), pq.Array(ids),
		pq.Array(from), pq.Array(to), pq.Array(programs), pq.Array(patients))
	if err != nil {
		return nil, fmt.Errorf("error looking for entries already stored: %w", err)
	}
	for _, r := range rows {
		out[r.Line] = r.Entry
	}
	return out, nil
}

// arrayLiteral writes ids as a PostgreSQL array literal, {1,2,3}.
func arrayLiteral(ids []int64) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	b.WriteByte('}')
	return b.String()
}

// insertImportedEntries is insertEntry for many new entries (no amendment, no void), in the
// order of their arrays. The ids are drawn as the sorted rows are inserted, so they ascend in
// that order: the caller pairs the sorted ids returned with its entries, as one insertEntry
// per entry would have numbered them.
const insertImportedEntries = `
INSERT INTO time_entries (practice_id, staff_id, staff_role, staff_credential, staff_npi, program,
	started_at, ended_at, activity, note, changed, mdm, interactive, source, created_by, created_at)
SELECT $1, staff_id, staff_role, staff_credential, staff_npi, program,
	started_at, ended_at, activity, note, changed, mdm, interactive, $2, $3, $4
FROM unnest($5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[],
	$11::timestamptz[], $12::text[], $13::text[], $14::text[], $15::text[], $16::boolean[])
	WITH ORDINALITY AS r(staff_id, staff_role, staff_credential, staff_npi, program, started_at,
		ended_at, activity, note, changed, mdm, interactive, ord)
ORDER BY ord
RETURNING id`

// insertImportedPatients links entries to their patients, one row per pair.
const insertImportedPatients = `
INSERT INTO time_entry_patients (practice_id, entry_id, patient_id)
SELECT $1, entry_id, patient_id FROM unnest($2::bigint[], $3::bigint[]) AS l(entry_id, patient_id)`

// insertImported stores imported entries with their patients and audit events, the same rows
// insert stores for each, in a statement per table.
func (s *Service) insertImported(ctx context.Context, tx *sqlx.Tx, es []resolved, actor audit.Actor, now time.Time) error {
	n := len(es)
	staff, interactive := make([]int64, n), make([]bool, n)
	roles, credentials, npis := make([]string, n), make([]string, n), make([]*string, n)
	programs, from, to := make([]string, n), make([]string, n), make([]string, n)
	activities, notes, changes, mdms := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, e := range es {
		staff[i], roles[i], credentials[i], npis[i] = e.staffID, e.role, e.credential, e.npi
		programs[i], from[i], to[i] = string(e.Program), e.StartedAt.Format(time.RFC3339Nano), e.EndedAt.Format(time.RFC3339Nano)
		activities[i], notes[i], changes[i], mdms[i] = string(e.Activity), e.Note, string(e.Changed), string(e.MDM)
		interactive[i] = e.Interactive
	}
	var ids []EntryID
	err := tx.SelectContext(ctx, &ids, insertImportedEntries, int64(s.Practice), string(SourceImport), string(actor), now,
		pq.Array(staff), pq.Array(roles), pq.Array(credentials), pq.Array(npis), pq.Array(programs), pq.Array(from),
		pq.Array(to), pq.Array(activities), pq.Array(notes), pq.Array(changes), pq.Array(mdms), pq.Array(interactive))
	if err != nil {
		return fmt.Errorf("error storing %d time entries: %w", n, err)
	}
	if len(ids) != n {
		return fmt.Errorf("error storing time entries: %d stored of %d", len(ids), n)
	}
	slices.Sort(ids)
	var linkEntries, linkPatients []int64
	var events []audit.Event
	for i, e := range es {
		for _, p := range e.patientIDs {
			linkEntries, linkPatients = append(linkEntries, int64(ids[i])), append(linkPatients, p)
		}
		events = append(events, s.entryEvents(e, ids[i], SourceImport, amendment{}, actor, now)...)
	}
	if _, err := tx.ExecContext(ctx, insertImportedPatients, int64(s.Practice), pq.Array(linkEntries), pq.Array(linkPatients)); err != nil {
		return fmt.Errorf("error storing time entry patients: %w", err)
	}
	return audit.RecordAll(ctx, tx, events)
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
	d.Program = care.Program(strings.ToLower(r.Get("program")))
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
