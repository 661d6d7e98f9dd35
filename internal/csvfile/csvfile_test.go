package csvfile

import (
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var schema = Schema{Columns: []string{"id", "name", "when"}, Required: []string{"id"}}

func TestReadHeaderInAnyOrderWithBOM(t *testing.T) {
	f, err := Read("x.csv", strings.NewReader("\xef\xbb\xbfName , ID\r\n\"Smith, Ann\",7\r\n\r\n\"multi\nline\",8\r\n"), schema)
	if err != nil {
		t.Fatal(err)
	}
	rows := f.Rows()
	if len(rows) != 2 || rows[0].Get("id") != "7" || rows[0].Get("name") != "Smith, Ann" || rows[0].Get("when") != "" {
		t.Fatalf("rows = %+v", rows)
	}
	if rows[1].Line != 4 || rows[1].Get("id") != "8" {
		t.Errorf("second row at line %d id %q, want line 4 id 8 (blank line skipped)", rows[1].Line, rows[1].Get("id"))
	}
	if f.Has("when") || !f.Has("name") {
		t.Error("Has reports the wrong columns")
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"empty", "", "x.csv:1: the file is empty"},
		{"unknown column", "id,colour\n", `x.csv:1: unknown column "colour" (allowed: id, name, when)`},
		{"repeated column", "id,name,NAME\n", `x.csv:1: column "name" appears twice`},
		{"missing required", "name\n", `x.csv:1: missing required column "id"`},
		{"empty column name", "id,,name\n", "x.csv:1: column 2 has an empty name"},
		{"bad quote", "id,name\n1,\"unterminated\n", "x.csv:2: malformed CSV"},
		{"field count", "id,name\n1,a\n2,b,c\n", "x.csv:3: malformed CSV"},
		{"invalid utf-8", "id,name\n1,a\n2,\xc3\x28\n", "x.csv:3: the file is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read("x.csv", strings.NewReader(tt.content), schema)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestFields(t *testing.T) {
	f, err := Read("x.csv", strings.NewReader("id,name,when\nyes,a; b ;;c,2026-03-01T09:30:00-05:00\nmaybe,,2026-03-01\n"), schema)
	if err != nil {
		t.Fatal(err)
	}
	r1, r2 := f.Rows()[0], f.Rows()[1]
	if b, err := r1.Bool("id", false); err != nil || !b {
		t.Errorf("Bool(yes) = %v, %v", b, err)
	}
	if _, err := r2.Bool("id", false); err == nil || err.Error() != `x.csv:3: id "maybe" is not true or false` || err.Column != "id" {
		t.Errorf("Bool(maybe) error = %v", err)
	}
	if got := r1.List("name"); strings.Join(got, "|") != "a|b|c" {
		t.Errorf("List = %q", got)
	}
	if at, ok, err := r1.Instant("when"); err != nil || !ok || !at.Equal(time.Date(2026, 3, 1, 14, 30, 0, 0, time.UTC)) {
		t.Errorf("Instant = %v %v %v", at, ok, err)
	}
	if _, _, err := r2.Instant("when"); err == nil {
		t.Error("Instant accepted a date")
	}
	if at, day, err := r2.InstantOrDate("when"); err != nil || at != nil || day == nil || day.Format(time.DateOnly) != "2026-03-01" {
		t.Errorf("InstantOrDate = %v %v %v", at, day, err)
	}
	if _, err := r1.OneOf("id", "", "no"); err == nil {
		t.Error("OneOf accepted a value outside the set")
	}
	if _, err := r1.Location("name", time.UTC); err == nil {
		t.Error("Location accepted a non-zone")
	}
}

func TestErrorsListEveryErrorUpToMaxErrors(t *testing.T) {
	errs := func(lines ...int) Errors {
		var es Errors
		for _, l := range lines {
			es = append(es, &Error{File: "x.csv", Line: l, Msg: "bad"})
		}
		return es
	}
	many := make([]int, MaxErrors+20)
	for i := range many {
		many[i] = i + 2
	}
	tests := []struct {
		name string
		es   Errors
		want []string // the lines of the text; nil: check the long form
	}{
		{"one", errs(7), []string{"x.csv:7: bad"}},
		{"three", errs(2, 2, 9), []string{"x.csv: 3 errors:", "x.csv:2: bad", "x.csv:2: bad", "x.csv:9: bad"}},
		{"just the limit", errs(many[:MaxErrors]...), nil},
		{"past the limit", errs(many...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := strings.Split(tt.es.Error(), "\n")
			if tt.want != nil {
				if !slices.Equal(lines, tt.want) {
					t.Errorf("text = %q, want %q", lines, tt.want)
				}
				return
			}
			listed := min(len(tt.es), MaxErrors)
			if lines[0] != fmt.Sprintf("x.csv: %d errors:", len(tt.es)) {
				t.Errorf("first line %q", lines[0])
			}
			for i := range listed {
				if want := fmt.Sprintf("x.csv:%d: bad", i+2); lines[1+i] != want {
					t.Fatalf("line %d of the text = %q, want %q", 1+i, lines[1+i], want)
				}
			}
			switch more := len(tt.es) - MaxErrors; {
			case more <= 0 && len(lines) != 1+listed:
				t.Errorf("%d lines, want %d", len(lines), 1+listed)
			case more > 0 && (len(lines) != 2+listed || lines[1+listed] != fmt.Sprintf("x.csv: and %d more errors, from line %d on", more, MaxErrors+2)):
				t.Errorf("%d lines ending %q, want %d ending with the count of the rest", len(lines), lines[len(lines)-1], 2+listed)
			}
		})
	}
}

func TestParseRowsCollectsEveryRowsErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,when\n")
	for i := range MaxErrors + 20 {
		fmt.Fprintf(&b, "r%d,never\n", i)
	}
	b.WriteString("r1,2026-03-01T00:00:00Z\n") // a repeated id, after the limit
	f, err := Read("x.csv", strings.NewReader(b.String()), schema)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseRows(f, "id", func(r Row) (struct{}, []*Error) {
		if _, _, e := r.Instant("when"); e != nil {
			return struct{}{}, []*Error{e}
		}
		return struct{}{}, nil
	})
	var es Errors
	if !errors.As(err, &es) || len(es) != MaxErrors+21 {
		t.Fatalf("error holds %d errors, want %d: %v", len(es), MaxErrors+21, err)
	}
	if last := es[len(es)-1]; last.Line != MaxErrors+22 || last.Column != "id" {
		t.Errorf("last error %v, want the repeated id on line %d", last, MaxErrors+22)
	}
	if want := "x.csv: and 21 more errors, from line 102 on"; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("text does not end with %q", want)
	}
}

func TestCollectorSortsByLine(t *testing.T) {
	var c Collector
	if c.Err() != nil {
		t.Fatal("an empty collector gave an error")
	}
	c.Add(nil)
	c.AddAll([]*Error{{File: "x.csv", Line: 9, Msg: "b"}, nil, {File: "x.csv", Line: 3, Msg: "a"}})
	c.Add(&Error{File: "x.csv", Line: 9, Msg: "c"})
	var es Errors
	if err := c.Err(); !errors.As(err, &es) || len(es) != 3 || es[0].Msg != "a" || es[1].Msg != "b" || es[2].Msg != "c" {
		t.Fatalf("Err() = %v", err)
	}
}

func TestPhoneNPIAndZoneFields(t *testing.T) {
	f, err := Read("x.csv", strings.NewReader("id,name,when\n(555) 111-0006,1234567893,America/Chicago\n555-1234,1234567890,EST\n,,\n"), schema)
	if err != nil {
		t.Fatal(err)
	}
	good, bad, empty := f.Rows()[0], f.Rows()[1], f.Rows()[2]
	zone := func(r Row) func() (string, bool, *Error) {
		return func() (string, bool, *Error) {
			loc, err := r.Location("when", time.UTC)
			return loc.String(), err == nil, err
		}
	}
	tests := []struct {
		name string
		get  func() (string, bool, *Error)
		want string // the value, or the error's text
	}{
		{"phone", func() (string, bool, *Error) { return good.Phone("id", "US") }, "+15551110006"},
		{"bad phone", func() (string, bool, *Error) { return bad.Phone("id", "US") }, `x.csv:3: id "555-1234" is not a phone number: it has 7 digits`},
		{"empty phone", func() (string, bool, *Error) { return empty.Phone("id", "US") }, ""},
		{"npi", func() (string, bool, *Error) { return good.NPI("name") }, "1234567893"},
		{"bad npi", func() (string, bool, *Error) { return bad.NPI("name") }, `x.csv:3: name "1234567890" is not a valid NPI: its check digit should be 3`},
		{"empty npi", func() (string, bool, *Error) { return empty.NPI("name") }, ""},
		{"zone", zone(good), "America/Chicago"},
		{"fixed-offset zone", zone(bad), `x.csv:3: when "EST" is a fixed offset from UTC (-05:00 all year, no daylight saving time), not the time zone of a place: use America/New_York`},
		{"empty zone", zone(empty), "UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok, err := tt.get()
			switch {
			case strings.HasPrefix(tt.want, "x.csv:"):
				if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
					t.Errorf("= %q, %v; want the error %q…", v, err, tt.want)
				}
			case err != nil || v != tt.want || ok != (tt.want != ""):
				t.Errorf("= %q, %v, %v; want %q", v, ok, err, tt.want)
			}
		})
	}
}

// A written cell that a spreadsheet would run as a formula is written as text.
func TestWriterMakesFormulasInert(t *testing.T) {
	tests := []struct{ cell, want string }{
		{"=HYPERLINK(\"http://evil.example\",\"x\")", "'=HYPERLINK(\"http://evil.example\",\"x\")"},
		{"+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"},
		{"-2+3", "'-2+3"},
		{"-12", "-12"},
		{"+3.50", "+3.50"},
		{"-1.5e3", "'-1.5e3"},
		{"-.5", "'-.5"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"BP review = fine", "BP review = fine"},
		{"2026-03-02T10:00:00-05:00", "2026-03-02T10:00:00-05:00"},
		{"", ""},
	}
	for _, tt := range tests {
		var b strings.Builder
		w := NewWriter(&b)
		if err := w.Write([]string{tt.cell, "next"}); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		got, err := csv.NewReader(strings.NewReader(b.String())).Read()
		if err != nil {
			t.Fatal(err)
		}
		if got[0] != tt.want {
			t.Errorf("cell %q written as %q, want %q", tt.cell, got[0], tt.want)
		}
	}
}
