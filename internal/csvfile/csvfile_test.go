package csvfile

import (
	"errors"
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

func TestCollectorStopsAtMaxErrors(t *testing.T) {
	var c Collector
	for i := range MaxErrors + 10 {
		if !c.Add(&Error{File: "x.csv", Line: MaxErrors + 10 - i, Msg: "bad"}) {
			break
		}
	}
	var es Errors
	if err := c.Err(); !errors.As(err, &es) || len(es) != MaxErrors || es[0].Line != 11 {
		t.Fatalf("Err() = %v", err)
	}
	if !strings.Contains(es.Error(), "at least 49 more errors") {
		t.Errorf("message = %q", es.Error())
	}
}
