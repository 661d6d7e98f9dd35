// Package imports runs the CSV imports (Run: read, parse, store in one transaction) and records
// each imported file (kind, name, digest, rows), so that the same file can be recognised when
// it comes again, and audits the import.
package imports

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"github.com/outreach-engine/outreach/internal/audit"
	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/practice"
)

// Kind is what a file holds.
type Kind string

// The kinds of files the engine imports.
const (
	Patients Kind = "patients"
	Staff    Kind = "staff"
	Services Kind = "services"
	Time     Kind = "time"
	Readings Kind = "readings"
)

// File is one imported file.
type File struct {
	PracticeID int64
	Kind       Kind
	Name       string // as given; only its base name is stored
	Content    []byte
	Rows       int
	Actor      audit.Actor
	At         time.Time
	Counts     map[string]int // what the import did, for the audit log ("created": 3, ...)
}

// Digest returns the hex SHA-256 of a file's content.
func Digest(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

const insertImport = `
INSERT INTO imports (practice_id, kind, file_name, sha256, rows, actor, imported_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id`

// Record stores the import and its audit event, returning the import's id.
func Record(ctx context.Context, q db.Querier, f File) (int64, error) {
	var id int64
	digest := Digest(f.Content)
	if err := q.GetContext(ctx, &id, insertImport, f.PracticeID, string(f.Kind), filepath.Base(f.Name), digest, f.Rows, string(f.Actor), f.At); err != nil {
		return 0, fmt.Errorf("error recording %s import: %w", f.Kind, err)
	}
	detail := map[string]any{"file": filepath.Base(f.Name), "sha256": digest, "rows": f.Rows}
	for k, v := range f.Counts {
		detail[k] = v
	}
	err := audit.Record(ctx, q, audit.Event{
		PracticeID: f.PracticeID, At: f.At, Actor: f.Actor, Action: "import." + string(f.Kind),
		Entity: "import", EntityID: fmt.Sprint(id), Detail: detail,
	})
	return id, err
}

const selectPrevious = `
SELECT imported_at FROM imports
WHERE practice_id = $1 AND kind = $2 AND sha256 = $3
ORDER BY imported_at LIMIT 1`

// Previous returns when the same content was first imported as the same kind, if ever.
func Previous(ctx context.Context, q db.Querier, practiceID int64, kind Kind, content []byte) (time.Time, bool, error) {
	var at time.Time
	err := q.GetContext(ctx, &at, selectPrevious, practiceID, string(kind), Digest(content))
	if db.IsNoRows(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("error looking up earlier imports: %w", err)
	}
	return at, true, nil
}

// Options is the context of an import: the practice it is for, who runs it and when.
type Options struct {
	Practice practice.Settings
	Actor    audit.Actor
	Now      time.Time
}
