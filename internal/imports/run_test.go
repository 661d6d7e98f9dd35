package imports_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/imports"
	"github.com/outreach-engine/outreach/internal/practice"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// job is a services import whose Store inserts each row's code into the audit log (a table every
// database has), failing on the code "boom" and refusing the code "bad" as a row error.
func job(once bool) imports.Job[csvfile.Row] {
	return imports.Job[csvfile.Row]{
		Kind: imports.Services, Schema: csvfile.Schema{Columns: []string{"code"}, Required: []string{"code"}},
		Once: once, FirstFile: true,
		Parse: func(f *csvfile.File) ([]csvfile.Row, error) {
			var errs csvfile.Collector
			for _, r := range f.Rows() {
				if r.Get("code") == "?" {
					errs.Add(r.Errorf("code", "code is a question mark"))
				}
			}
			return f.Rows(), errs.Err()
		},
		Store: func(ctx context.Context, tx *sqlx.Tx, f *csvfile.File, rows []csvfile.Row) (map[string]int, error) {
			for _, r := range rows {
				switch r.Get("code") {
				case "boom":
					return nil, errors.New("the database refused")
				case "bad":
					return nil, csvfile.Errors{r.Errorf("code", "code %q is not known", "bad")}
				}
				err := audit.Record(ctx, tx, audit.Event{PracticeID: int64(practice.Default), At: time.Now(),
					Actor: audit.ActorCLI, Action: "test.row", Entity: "code", EntityID: r.Get("code")})
				if err != nil {
					return nil, err
				}
			}
			return map[string]int{"stored": len(rows)}, nil
		},
	}
}

func TestRun(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	opt := imports.Options{Practice: practice.Settings{ID: practice.Default, Location: time.UTC}, Actor: audit.ActorCLI,
		Now: time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := d.Get(&n, q); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		name, file string
		once       bool
		wantErr    string // "" for none
		rowErrs    bool   // the error is the file's row errors, unwrapped
		stored     int    // rows in the audit log after it
	}{
		{"a parse error stores nothing", "code\nA\n?\n", false, "f.csv:3: code is a question mark", true, 0},
		{"a store error rolls everything back", "code\nA\nboom\n", false, "error importing f.csv: the database refused", false, 0},
		{"a row error from the store comes back as it is", "code\nA\nbad\n", false, "f.csv:3: code \"bad\" is not known", true, 0},
		{"a good file is stored and recorded", "code\nA\nB\n", true, "", false, 2},
		{"the same file again is refused when the job says once", "code\nA\nB\n", true, "already imported on 2026-12-01T15:00:00Z", false, 2},
		{"and stored again when it does not", "code\nA\nB\n", false, "", false, 4},
	}
	for _, tt := range tests {
		n, err := imports.Run(ctx, d, "f.csv", strings.NewReader(tt.file), opt, job(tt.once))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one with %q", tt.name, err, tt.wantErr)
		case tt.rowErrs && !errors.As(err, new(csvfile.Errors)):
			t.Errorf("%s: error %v is not the file's row errors", tt.name, err)
		case tt.once && tt.wantErr != "" && !errors.Is(err, errkind.ErrConflict):
			t.Errorf("%s: error %v is not a conflict", tt.name, err)
		case err == nil && n != 2:
			t.Errorf("%s: %d rows, want 2", tt.name, n)
		}
		if got := count("SELECT count(*) FROM audit_log WHERE action = 'test.row'"); got != tt.stored {
			t.Errorf("%s: %d rows stored, want %d", tt.name, got, tt.stored)
		}
	}
	if got := count("SELECT count(*) FROM imports WHERE kind = 'services'"); got != 2 {
		t.Errorf("%d imports recorded, want the 2 stored", got)
	}
	if got := count("SELECT count(*) FROM practices"); got != 1 {
		t.Errorf("%d practices, want the one the first file stored", got)
	}
}
