// Package dbtest gives each test package its own throwaway, migrated PostgreSQL database.
//
// The server comes from TEST_DATABASE_URL, else DATABASE_URL, else the local default
// (postgres@localhost:5432). A test package calls Main from its TestMain; the databases it
// creates are dropped when the package's tests end.
package dbtest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/db"
)

const (
	prefix        = "outreach_test_"
	defaultServer = "postgres://postgres@localhost:5432/postgres?sslmode=disable"
	staleAfter    = 6 * time.Hour
)

var pkg struct {
	sync.Mutex
	server   string // connection string of the maintenance database
	template string // migrated database that Fresh copies
	shared   *sqlx.DB
	created  []string
	seq      atomic.Int64
}

// ServerURL returns the connection string of the test server's maintenance database.
func ServerURL() string {
	for _, k := range []string{"TEST_DATABASE_URL", "DATABASE_URL"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return defaultServer
}

// Main prepares the package's databases, runs the tests and drops the databases. Call it from
// TestMain: func TestMain(m *testing.M) { dbtest.Main(m) }.
func Main(m *testing.M) {
	code := func() int {
		if err := setUp(); err != nil {
			fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
			fmt.Fprintln(os.Stderr, "dbtest: set TEST_DATABASE_URL to a PostgreSQL server where tests may create databases, or run `make test`")
			return 1
		}
		defer tearDown()
		return m.Run()
	}()
	os.Exit(code)
}

func setUp() error {
	ctx := context.Background()
	server, err := db.ReplaceDatabase(ServerURL(), "postgres")
	if err != nil {
		return err
	}
	pkg.server = server
	dropStale(ctx)
	pkg.template = newName()
	if err := exec(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(pkg.template)); err != nil {
		return err
	}
	pkg.created = append(pkg.created, pkg.template)
	tplConn, err := db.ReplaceDatabase(server, pkg.template)
	if err != nil {
		return err
	}
	tpl, err := db.Open(ctx, tplConn)
	if err != nil {
		return err
	}
	_, err = db.Migrate(ctx, tpl, time.Now)
	tpl.Close()
	if err != nil {
		return fmt.Errorf("error migrating the test template: %w", err)
	}
	conn, err := freshDatabase(ctx)
	if err != nil {
		return err
	}
	pkg.shared, err = db.Open(ctx, conn)
	return err
}

func tearDown() {
	if pkg.shared != nil {
		pkg.shared.Close()
	}
	ctx := context.Background()
	for _, name := range pkg.created {
		_ = exec(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)")
	}
}

// DB returns the package's shared, migrated database. Tests that commit on it must use data
// of their own (ids no other test uses).
func DB(t testing.TB) *sqlx.DB {
	t.Helper()
	if pkg.shared == nil {
		t.Fatal("dbtest: the package's TestMain must call dbtest.Main")
	}
	return pkg.shared
}

// Tx returns a transaction on the shared database that is rolled back when the test ends.
func Tx(t testing.TB) *sqlx.Tx {
	t.Helper()
	tx, err := DB(t).BeginTxx(context.Background(), nil)
	if err != nil {
		t.Fatalf("dbtest: error beginning transaction: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	return tx
}

// Fresh returns a new migrated database of the test's own and its connection string, for tests
// that commit, run several processes, or need an empty schema state.
func Fresh(t testing.TB) (*sqlx.DB, string) {
	t.Helper()
	ctx := context.Background()
	if pkg.template == "" {
		t.Fatal("dbtest: the package's TestMain must call dbtest.Main")
	}
	conn, err := freshDatabase(ctx)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	d, err := db.Open(ctx, conn)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d, conn
}

// Empty returns the connection string of a new database with no schema at all.
func Empty(t testing.TB) string {
	t.Helper()
	if pkg.server == "" {
		t.Fatal("dbtest: the package's TestMain must call dbtest.Main")
	}
	name := newName()
	if err := exec(context.Background(), "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	register(name)
	conn, err := db.ReplaceDatabase(pkg.server, name)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return conn
}

func freshDatabase(ctx context.Context) (string, error) {
	name := newName()
	// Copies of one template are serialised: PostgreSQL refuses a copy while the template
	// has other sessions.
	pkg.Lock()
	err := exec(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)+" TEMPLATE "+pq.QuoteIdentifier(pkg.template))
	pkg.Unlock()
	if err != nil {
		return "", err
	}
	register(name)
	return db.ReplaceDatabase(pkg.server, name)
}

func register(name string) {
	pkg.Lock()
	pkg.created = append(pkg.created, name)
	pkg.Unlock()
}

// newName makes a database name that carries its creation time, so that databases left behind
// by a killed test run are recognised and dropped later.
func newName() string {
	return fmt.Sprintf("%s%d_%d_%d", prefix, time.Now().Unix(), os.Getpid(), pkg.seq.Add(1))
}

func dropStale(ctx context.Context) {
	d, err := sqlx.Open("postgres", pkg.server)
	if err != nil {
		return
	}
	defer d.Close()
	var names []string
	if err := d.SelectContext(ctx, &names, `SELECT datname FROM pg_database WHERE datname LIKE 'outreach\_test\_%'`); err != nil {
		return
	}
	for _, n := range names {
		stamp, _, _ := strings.Cut(strings.TrimPrefix(n, prefix), "_")
		sec, err := strconv.ParseInt(stamp, 10, 64)
		if err == nil && time.Since(time.Unix(sec, 0)) > staleAfter {
			_, _ = d.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(n)+" WITH (FORCE)")
		}
	}
}

func exec(ctx context.Context, stmt string) error {
	d, err := sqlx.Open("postgres", pkg.server)
	if err != nil {
		return fmt.Errorf("error opening test server: %w", err)
	}
	defer d.Close()
	if _, err := d.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("error running %q on the test server: %w", stmt, err)
	}
	return nil
}
