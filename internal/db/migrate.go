package db

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the key of the transaction-level advisory lock that serialises migrations
// across replicas starting at once.
const migrationLock = 0x6f7574726561636b // "outreack"

// Migration is one numbered, forward-only schema change.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string
}

// ErrSchemaTooNew is returned when the database has migrations this binary does not know.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("error reading migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("error reading migrations: %q is not named NNNN_name.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("error reading migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(body)
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(body), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("error reading migrations: expected version %d, found %d", i+1, m.Version)
		}
	}
	return ms, nil
}

const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	checksum   text NOT NULL,
	applied_at timestamptz NOT NULL
)`

const selectAppliedMigration = `SELECT checksum FROM schema_migrations WHERE version = $1`

const insertMigration = `
INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)`

// Migrate applies the pending migrations, each in its own transaction under an advisory lock,
// so that several processes migrating at once apply each exactly once. It returns the versions
// it applied. A database that already has a migration this binary does not know, or whose
// applied migration differs from the embedded one, is refused.
func Migrate(ctx context.Context, d *sqlx.DB, now func() time.Time) ([]int, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range ms {
		did, err := applyMigration(ctx, d, m, now())
		if err != nil {
			return applied, err
		}
		if did {
			applied = append(applied, m.Version)
		}
	}
	if _, err := CheckSchema(ctx, d); err != nil {
		return applied, err
	}
	return applied, nil
}

func applyMigration(ctx context.Context, d *sqlx.DB, m Migration, now time.Time) (bool, error) {
	did := false
	err := WithTx(ctx, d, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("error taking migration lock: %w", err)
		}
		if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
			return fmt.Errorf("error creating schema_migrations: %w", err)
		}
		var sum string
		err := tx.GetContext(ctx, &sum, selectAppliedMigration, m.Version)
		if err == nil {
			if sum != m.Checksum {
				return fmt.Errorf("error checking migration %04d_%s: the applied migration differs from this binary's (migrations must never be edited once shipped)", m.Version, m.Name)
			}
			return nil
		}
		if !IsNoRows(err) {
			return fmt.Errorf("error reading schema_migrations: %w", err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("error applying migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, insertMigration, m.Version, m.Name, m.Checksum, now); err != nil {
			return fmt.Errorf("error recording migration %04d_%s: %w", m.Version, m.Name, err)
		}
		did = true
		return nil
	})
	return did, err
}

const selectSchemaVersion = `
SELECT coalesce(max(version), 0) FROM schema_migrations`

// SchemaStatus says how the database's schema compares with this binary's migrations.
type SchemaStatus struct {
	Applied int // highest version applied to the database
	Known   int // highest version embedded in this binary
}

// Current reports whether the database is exactly at this binary's schema.
func (s SchemaStatus) Current() bool { return s.Applied == s.Known }

// CheckSchema reads the database's schema version. It returns ErrSchemaTooNew when the
// database is ahead of this binary, which must then refuse to run.
func CheckSchema(ctx context.Context, q Querier) (SchemaStatus, error) {
	ms, err := Migrations()
	if err != nil {
		return SchemaStatus{}, err
	}
	st := SchemaStatus{Known: len(ms)}
	var exists bool
	if err := q.GetContext(ctx, &exists, `SELECT to_regclass('schema_migrations') IS NOT NULL`); err != nil {
		return st, fmt.Errorf("error reading schema version: %w", err)
	}
	if !exists {
		return st, nil
	}
	if err := q.GetContext(ctx, &st.Applied, selectSchemaVersion); err != nil {
		return st, fmt.Errorf("error reading schema version: %w", err)
	}
	if st.Applied > st.Known {
		return st, fmt.Errorf("%w: the database is at version %d, this binary knows up to %d; run a newer release", ErrSchemaTooNew, st.Applied, st.Known)
	}
	return st, nil
}
