package db_test

import (
	"context"
	"testing"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

// TestStatementsArePreparedOncePerConnection runs the same statement many times on one
// connection: the server holds it prepared once, and its results are right each time.
func TestStatementsArePreparedOncePerConnection(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, dbtest.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	conn, err := d.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range 20 {
		var got int
		if err := conn.GetContext(ctx, &got, `SELECT $1::int + 1`, i); err != nil {
			t.Fatal(err)
		}
		if got != i+1 {
			t.Fatalf("SELECT %d + 1 = %d", i, got)
		}
		if _, err := conn.ExecContext(ctx, `SELECT set_config('app.probe', $1, false)`, "x"); err != nil {
			t.Fatal(err)
		}
	}
	var prepared []string
	if err := conn.SelectContext(ctx, &prepared, `SELECT statement FROM pg_prepared_statements WHERE statement NOT LIKE $1 ORDER BY statement`,
		"%pg_prepared_statements%"); err != nil {
		t.Fatal(err)
	}
	want := []string{`SELECT $1::int + 1`, `SELECT set_config('app.probe', $1, false)`}
	if len(prepared) != len(want) || prepared[0] != want[0] || prepared[1] != want[1] {
		t.Errorf("prepared on the server: %q, want %q once each", prepared, want)
	}
}

// TestStatementSurvivesSchemaChange changes a table under a prepared statement: the first
// use after the change may fail (the server refuses a plan whose result type changed), the
// next prepares it anew and works.
func TestStatementSurvivesSchemaChange(t *testing.T) {
	ctx := context.Background()
	d, err := db.Open(ctx, dbtest.Empty(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.SetMaxOpenConns(1)
	if _, err := d.ExecContext(ctx, `CREATE TABLE probe (id int, label text); INSERT INTO probe VALUES (1, 'one')`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT * FROM probe WHERE id = $1`
	var label string
	if err := d.QueryRowxContext(ctx, q, 1).Scan(new(int), &label); err != nil || label != "one" {
		t.Fatalf("before the change: %q, %v", label, err)
	}
	if _, err := d.ExecContext(ctx, `ALTER TABLE probe ADD COLUMN extra int`); err != nil {
		t.Fatal(err)
	}
	var extra *int
	err = d.QueryRowxContext(ctx, q, 1).Scan(new(int), &label, &extra)
	if err != nil {
		err = d.QueryRowxContext(ctx, q, 1).Scan(new(int), &label, &extra)
	}
	if err != nil || label != "one" || extra != nil {
		t.Fatalf("after the change: %q, %v, %v", label, extra, err)
	}
}
