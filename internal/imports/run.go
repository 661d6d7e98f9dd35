package imports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/csvfile"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/errkind"
	"github.com/outreach-engine/outreach/internal/practice"
)

// Job is one kind of CSV import, for Run: how its file is read, checked and stored.
type Job[T any] struct {
	Kind   Kind
	Schema csvfile.Schema
	// Once refuses a file whose content was already imported as this kind (an
	// errkind.ErrConflict).
	Once bool
	// FirstFile says the file may be the practice's first: the practice's settings are stored
	// in the import's transaction before its rows.
	FirstFile bool
	// Parse checks the file's rows and returns them, or every error it finds (csvfile.Errors).
	Parse func(f *csvfile.File) ([]T, error)
	// Store writes the rows in the import's transaction and returns what it did, for the audit
	// log ("created": 3, …). An error of csvfile.Errors reaches the caller unwrapped.
	Store func(ctx context.Context, tx *sqlx.Tx, f *csvfile.File, rows []T) (map[string]int, error)
}

// Run imports one CSV file: it reads it whole, parses it with job.Parse, then stores it with
// job.Store and records the import and its audit event, all in one transaction, so that a file
// with any error stores nothing. It returns how many rows the file had.
func Run[T any](ctx context.Context, d *sqlx.DB, name string, r io.Reader, opt Options, job Job[T]) (int, error) {
	content, err := io.ReadAll(r)
	if err != nil {
		return 0, fmt.Errorf("error reading %s: %w", name, err)
	}
	pid := int64(opt.Practice.ID)
	if job.Once {
		prev, seen, err := Previous(ctx, d, pid, job.Kind, content)
		if err != nil {
			return 0, err
		}
		if seen {
			return 0, errkind.Errorf(errkind.ErrConflict, "%s: the same file was already imported on %s; nothing was stored",
				name, prev.Format(time.RFC3339))
		}
	}
	f, err := csvfile.Read(name, bytes.NewReader(content), job.Schema)
	if err != nil {
		return 0, err
	}
	rows, err := job.Parse(f)
	if err != nil {
		return 0, err
	}
	err = db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
		if job.FirstFile {
			if err := practice.Ensure(ctx, tx, opt.Practice, opt.Actor, opt.Now); err != nil {
				return err
			}
		}
		counts, err := job.Store(ctx, tx, f, rows)
		if err != nil {
			return err
		}
		_, err = Record(ctx, tx, File{PracticeID: pid, Kind: job.Kind, Name: name, Content: content,
			Rows: len(rows), Actor: opt.Actor, At: opt.Now, Counts: counts})
		return err
	})
	if errors.As(err, new(csvfile.Errors)) {
		return 0, err
	}
	if err != nil {
		return 0, fmt.Errorf("error importing %s: %w", name, err)
	}
	return len(rows), nil
}
