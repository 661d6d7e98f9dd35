// Package csvfile reads the engine's CSV files: UTF-8, a header row, columns in any order, and
// errors that name the file, the line and the column.
package csvfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/outreach-engine/outreach/internal/tz"
)

// MaxErrors is how many of a file's errors its error text lists; the rest are counted.
const MaxErrors = 100

// Error is one problem in a file, at a line (1 is the header) and, where it applies, a column.
type Error struct {
	File   string
	Line   int
	Column string
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Errors is every problem found in one file, in line order. Its text is one line per error
// (after a line that counts them when there are several), so that a whole file can be fixed
// in one pass; past MaxErrors it says how many more there are and from which line.
type Errors []*Error

func (es Errors) Error() string {
	switch len(es) {
	case 0:
		return "no errors"
	case 1:
		return es[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d errors:", es[0].File, len(es))
	for _, e := range es[:min(len(es), MaxErrors)] {
		b.WriteString("\n" + e.Error())
	}
	if more := len(es) - MaxErrors; more > 0 {
		fmt.Fprintf(&b, "\n%s: and %d more errors, from line %d on", es[0].File, more, es[MaxErrors].Line)
	}
	return b.String()
}

// Schema names the columns a kind of file may have and those it must have.
type Schema struct {
	Columns  []string
	Required []string
}

// File is a CSV file read whole, with its header checked against a schema.
type File struct {
	Name  string
	cols  map[string]int
	rows  []Row
	zones *tz.Zones // the time zones its rows name, each loaded once
}

// Row is one data row.
type Row struct {
	file   string
	Line   int
	fields []string
	cols   map[string]int
	zones  *tz.Zones
}

// Read reads a whole CSV file named name (used in error messages) and checks its header: an
// unknown, repeated or missing required column is an error. A leading UTF-8 byte order mark is
// ignored; invalid UTF-8 is an error naming the line.
func Read(name string, r io.Reader, s Schema) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("error reading %s: %w", name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:firstInvalid(data)], []byte("\n"))
		return nil, &Error{File: name, Line: line, Msg: "the file is not valid UTF-8"}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &Error{File: name, Line: 1, Msg: "the file is empty: a header row is required"}
	}
	if err != nil {
		return nil, parseError(name, err)
	}
	f := &File{Name: name, cols: map[string]int{}, zones: &tz.Zones{}}
	var errs Errors
	for i, h := range header {
		col := strings.ToLower(strings.TrimSpace(h))
		switch {
		case col == "":
			errs = append(errs, &Error{File: name, Line: 1, Msg: fmt.Sprintf("column %d has an empty name", i+1)})
		case !slices.Contains(s.Columns, col):
			errs = append(errs, &Error{File: name, Line: 1, Column: col, Msg: fmt.Sprintf("unknown column %q (allowed: %s)", h, strings.Join(s.Columns, ", "))})
		case f.Has(col):
			errs = append(errs, &Error{File: name, Line: 1, Column: col, Msg: fmt.Sprintf("column %q appears twice", col)})
		default:
			f.cols[col] = i
		}
	}
	for _, req := range s.Required {
		if !f.Has(req) {
			errs = append(errs, &Error{File: name, Line: 1, Column: req, Msg: fmt.Sprintf("missing required column %q", req)})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, parseError(name, err)
		}
		line, _ := cr.FieldPos(0)
		f.rows = append(f.rows, Row{file: name, Line: line, fields: rec, cols: f.cols, zones: f.zones})
	}
	return f, nil
}

// Has reports whether the file has the column.
func (f *File) Has(col string) bool {
	_, ok := f.cols[col]
	return ok
}

// Rows returns the data rows in file order.
func (f *File) Rows() []Row { return f.rows }

// Has reports whether the row's file has the column.
func (r Row) Has(col string) bool {
	_, ok := r.cols[col]
	return ok
}

// Get returns the trimmed value of a column ("" when the file has no such column).
func (r Row) Get(col string) string {
	i, ok := r.cols[col]
	if !ok || i >= len(r.fields) {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// Errorf returns an error at this row's line about a column.
func (r Row) Errorf(col, format string, args ...any) *Error {
	return &Error{File: r.file, Line: r.Line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// Collector gathers a file's errors, all of them: reading goes on after an error, so that the
// file's every problem is found at once.
type Collector struct{ errs Errors }

// Add records err when it is not nil.
func (c *Collector) Add(err *Error) {
	if err != nil {
		c.errs = append(c.errs, err)
	}
}

// AddAll records a row's errors.
func (c *Collector) AddAll(errs []*Error) {
	for _, e := range errs {
		c.Add(e)
	}
}

// Err returns the collected errors in line order, or nil.
func (c *Collector) Err() error {
	if len(c.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(c.errs, func(a, b *Error) int { return a.Line - b.Line })
	return c.errs
}

func parseError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: name, Line: pe.Line, Msg: fmt.Sprintf("malformed CSV at column %d: %v", pe.Column, pe.Err)}
	}
	return fmt.Errorf("error reading %s: %w", name, err)
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// ParseRows parses every row with parse, collecting the errors of all rows.
// When idCol is not empty, a value of that column (compared without case) that repeats an
// earlier row's is an error naming the first line.
func ParseRows[T any](f *File, idCol string, parse func(Row) (T, []*Error)) ([]T, error) {
	var errs Collector
	seen := map[string]int{}
	out := make([]T, 0, len(f.rows))
	for _, r := range f.rows {
		v, rowErrs := parse(r)
		if id := r.Get(idCol); idCol != "" && id != "" {
			if first, dup := seen[strings.ToLower(id)]; dup {
				rowErrs = append(rowErrs, r.Errorf(idCol, "%s %q appears again (first on line %d)", idCol, id, first))
			} else {
				seen[strings.ToLower(id)] = r.Line
			}
		}
		errs.AddAll(rowErrs)
		out = append(out, v)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
