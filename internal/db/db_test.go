package db_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestWithSSLMode(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"postgres://postgres@localhost:5432/outreach?sslmode=disable", "dbname='outreach' host='localhost' port='5432' sslmode='disable' user='postgres'"},
		{"postgres://u@127.0.0.1/x", "sslmode='disable'"},
		{"postgres://u@db.example.org/x", "sslmode='require'"},
		{"host=/var/run/postgresql dbname=x", "sslmode='disable'"},
		{"host=db.internal dbname=x sslmode=verify-full", "sslmode='verify-full'"},
		{"postgres://app:s%27cret@db1,db2/outreach?port=5501,5502&target_session_attrs=read-write",
			`dbname='outreach' host='db1,db2' password='s\'cret' port='5501,5502' sslmode='require' target_session_attrs='read-write' user='app'`},
		{"postgresql://[::1]:5433/x", "host='::1' port='5433' sslmode='disable'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := db.WithSSLMode(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, tt.want) && got != tt.want {
				t.Errorf("WithSSLMode(%q) = %q, want it to contain %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWithSSLModeHidesPassword(t *testing.T) {
	_, err := db.WithSSLMode("postgres://u:s3cret@host:notaport/x")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error = %v, want an error without the password", err)
	}
}

// Open refuses a database that does not exist; CreateIfMissing makes it, and leaves an
// existing one alone.
func TestOpenRefusesMissingDatabaseCreateIfMissingMakesIt(t *testing.T) {
	ctx := context.Background()
	conn := dbtest.Empty(t)
	name, err := db.DatabaseName(conn)
	if err != nil {
		t.Fatal(err)
	}
	missing, err := db.ReplaceDatabase(conn, name+"_new")
	if err != nil {
		t.Fatal(err)
	}
	if d, err := db.Open(ctx, missing); !errors.Is(err, db.ErrNoDatabase) || !strings.Contains(err.Error(), name+"_new") {
		if d != nil {
			d.Close()
		}
		t.Fatalf("Open on a missing database = %v, want ErrNoDatabase naming it", err)
	}
	for range 2 {
		if err := db.CreateIfMissing(ctx, missing); err != nil {
			t.Fatalf("CreateIfMissing: %v", err)
		}
	}
	d, err := db.Open(ctx, missing)
	if err != nil {
		t.Fatalf("Open after CreateIfMissing: %v", err)
	}
	defer func() {
		d.Close()
		admin, _ := db.Open(ctx, conn)
		admin.ExecContext(ctx, `DROP DATABASE `+name+`_new WITH (FORCE)`)
		admin.Close()
	}()
	var got string
	if err := d.GetContext(ctx, &got, `SELECT current_database()`); err != nil || got != name+"_new" {
		t.Fatalf("current_database() = %q, %v", got, err)
	}
}

// Replicas starting at once must apply each migration exactly once.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	conn := dbtest.Empty(t)
	ms, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	const replicas = 3
	applied := make([][]int, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			d, err := db.Open(ctx, conn)
			if err != nil {
				errs[i] = err
				return
			}
			defer d.Close()
			applied[i], errs[i] = db.Migrate(ctx, d, time.Now)
		})
	}
	wg.Wait()
	total := 0
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	if total != len(ms) {
		t.Errorf("migrations applied %d times in all, want %d (once each): %v", total, len(ms), applied)
	}
	d, err := db.Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var rows int
	if err := d.GetContext(ctx, &rows, `SELECT count(*) FROM schema_migrations`); err != nil || rows != len(ms) {
		t.Errorf("schema_migrations has %d rows (%v), want %d", rows, err, len(ms))
	}
	st, err := db.CheckSchema(ctx, d)
	if err != nil || !st.Current() {
		t.Errorf("CheckSchema = %+v, %v; want current", st, err)
	}
	again, err := db.Migrate(ctx, d, time.Now)
	if err != nil || len(again) != 0 {
		t.Errorf("second Migrate applied %v, %v; want nothing", again, err)
	}
}

func TestSchemaTooNewIsRefused(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	if _, err := d.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (9999, 'future', 'x', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckSchema(ctx, d); !errors.Is(err, db.ErrSchemaTooNew) {
		t.Errorf("CheckSchema error = %v, want ErrSchemaTooNew", err)
	}
	if _, err := db.Migrate(ctx, d, time.Now); !errors.Is(err, db.ErrSchemaTooNew) {
		t.Errorf("Migrate error = %v, want ErrSchemaTooNew", err)
	}
}

func TestEditedMigrationIsRefused(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	if _, err := d.ExecContext(ctx, `UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	_, err := db.Migrate(ctx, d, time.Now)
	if err == nil || !strings.Contains(err.Error(), "never be edited") {
		t.Errorf("Migrate error = %v, want a refusal of the edited migration", err)
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	ctx := context.Background()
	tx := dbtest.Tx(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := tx.ExecContext(ctx, `INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'America/New_York', $1, $1)`, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (practice_id, at, actor, action, entity) VALUES (1, $1, 'cli', 'patient.create', 'patient')`, now); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT s`); err != nil {
		t.Fatal(err)
	}
	_, err := tx.ExecContext(ctx, `UPDATE audit_log SET actor = 'someone else'`)
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("UPDATE audit_log error = %v, want append-only refusal", err)
	}
}

func TestWithTxRollsBack(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	boom := errors.New("boom")
	now := time.Now()
	err := db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (7, 'UTC', $1, $1)`, now); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithTx error = %v, want boom", err)
	}
	var n int
	if err := d.GetContext(ctx, &n, `SELECT count(*) FROM practices WHERE id = 7`); err != nil || n != 0 {
		t.Errorf("practices after rollback: %d rows, %v; want 0", n, err)
	}
}

// TestWithTxRollsBackOnPanic: a panic in the transaction's function ends the transaction, so
// that its connection goes back to the pool with no transaction open and nothing kept.
func TestWithTxRollsBackOnPanic(t *testing.T) {
	ctx := context.Background()
	d, _ := dbtest.Fresh(t)
	d.SetMaxOpenConns(1) // the panicking transaction's connection is the next one used
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach the caller")
			}
		}()
		_ = db.WithTx(ctx, d, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (8, 'UTC', now(), now())`); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	done := make(chan error, 1)
	var n int
	go func() { done <- d.GetContext(ctx, &n, `SELECT count(*) FROM practices WHERE id = 8`) }()
	select {
	case err := <-done:
		if err != nil || n != 0 {
			t.Errorf("practices after the panic: %d rows, %v; want 0", n, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the pool's only connection is still held by the transaction that panicked")
	}
}

func TestDatabaseRejectsBadValues(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	tests := []struct {
		name, stmt string
	}{
		{"bad time zone", `INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (2, 'Mars/Olympus', $1, $1)`},
		{"offset as time zone", `INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (2, '+05', $1, $1)`},
		{"phone not E.164", `INSERT INTO patients (practice_id, ext_id, phone, timezone, created_at, updated_at) VALUES (1, 'X1', '555-1234', 'UTC', $1, $1)`},
		{"unknown program", `INSERT INTO patients (practice_id, ext_id, programs, timezone, created_at, updated_at) VALUES (1, 'X2', '{ccm,xyz}', 'UTC', $1, $1)`},
		{"short npi", `INSERT INTO staff (practice_id, ext_id, role, npi, created_at, updated_at) VALUES (1, 'S1', 'clinical', '123', $1, $1)`},
		{"unknown role", `INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'S2', 'janitor', $1, $1)`},
		{"unknown patient", `INSERT INTO billed_services (practice_id, patient_id, code, service_date, npi, created_at) VALUES (1, 424242, 'G0181', '2026-03-01', '1111111112', $1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := dbtest.Tx(t)
			if _, err := tx.ExecContext(ctx, `INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'UTC', $1, $1)`, now); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, tt.stmt, now); err == nil {
				t.Errorf("%s was accepted", tt.stmt)
			}
		})
	}
}
