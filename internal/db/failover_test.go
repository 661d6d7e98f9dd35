package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// serverPort returns the port of the test server, which must listen on TCP.
func serverPort(t *testing.T, conn string) string {
	t.Helper()
	network, addr, err := db.Address(conn)
	if err != nil {
		t.Fatal(err)
	}
	if network != "tcp" {
		t.Skipf("the test server is on %s %s; these tests need TCP", network, addr)
	}
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// backendPID returns the server process of the connection a query runs on.
func backendPID(t *testing.T, q sqlx.QueryerContext) int {
	t.Helper()
	var pid int
	if err := sqlx.GetContext(context.Background(), q, &pid, `SELECT pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	return pid
}

// The errors a real server and lib/pq give when the primary goes away or turns read-only are
// the ones PrimaryGone takes, and an ordinary error is not.
func TestPrimaryGoneFromAServer(t *testing.T) {
	ctx := context.Background()
	conn := dbtest.Empty(t)
	port := serverPort(t, conn)
	d, err := db.Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	// A write in a read-only session (a standby, a demoted primary): 25006. The pool drops
	// that connection: the next statement runs on another server process.
	var readOnlyPID int
	err = db.WithTxOptions(ctx, d, &sql.TxOptions{ReadOnly: true}, func(tx *sqlx.Tx) error {
		readOnlyPID = backendPID(t, tx)
		_, err := tx.ExecContext(ctx, `CREATE TABLE written (x int)`)
		return err
	})
	if !db.PrimaryGone(err) {
		t.Errorf("a write in a read-only transaction: PrimaryGone(%v) = false, want true", err)
	}
	if pid := backendPID(t, d); pid == readOnlyPID {
		t.Errorf("the pool used again the connection that found its server read-only (pid %d)", pid)
	}

	// An ordinary error is not, and keeps its connection.
	c, err := d.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pid := backendPID(t, c)
	_, err = c.ExecContext(ctx, `SELECT 1/0`)
	if err == nil || db.PrimaryGone(err) {
		t.Errorf("division by zero: err %v, PrimaryGone true; want an error it does not take", err)
	}
	if again := backendPID(t, c); again != pid {
		t.Errorf("after an ordinary error the connection changed (%d, then %d)", pid, again)
	}

	// The session ended by the server (a shutdown terminates every session: 57P01).
	if _, err := d.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	_, err = c.ExecContext(ctx, `SELECT 1`)
	if !db.PrimaryGone(err) {
		t.Errorf("a terminated session: PrimaryGone(%v) = false, want true", err)
	}
	c.Close()
	if got := backendPID(t, d); got == pid {
		t.Errorf("the pool used again the terminated connection")
	}

	// Nothing listening: connection refused.
	down, err := db.ReplaceAddress(conn, "127.0.0.1", closedPort(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Open(ctx, down)
	if !db.PrimaryGone(err) {
		t.Errorf("connecting to a port nothing listens on: PrimaryGone(%v) = false, want true", err)
	}

	// Several hosts, none read-write: one down, one read-only.
	readOnly := func(hosts, ports string) string {
		c, err := db.ReplaceAddress(conn, hosts, ports)
		if err != nil {
			t.Fatal(err)
		}
		return c + " target_session_attrs=read-write options='-c default_transaction_read_only=on'"
	}
	_, err = db.Open(ctx, readOnly("127.0.0.1,127.0.0.1", closedPort(t)+","+port))
	if !db.PrimaryGone(err) {
		t.Errorf("no read-write host: PrimaryGone(%v) = false, want true", err)
	}
}

// A multi-host URL as the engine takes it (hosts apart from their ports) reaches the host that
// takes writes, past one that is down.
func TestMultiHostURL(t *testing.T) {
	ctx := context.Background()
	conn := dbtest.Empty(t)
	port := serverPort(t, conn)
	name, err := db.DatabaseName(conn)
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1,127.0.0.1/%s?port=%s,%s&target_session_attrs=read-write&sslmode=disable",
		name, closedPort(t), port)
	d, err := db.Open(ctx, url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	defer d.Close()
	var got string
	if err := d.GetContext(ctx, &got, `SELECT inet_server_port()::text`); err != nil {
		t.Fatal(err)
	}
	if got != port {
		t.Errorf("connected to port %s, want %s", got, port)
	}
	if _, err := strconv.Atoi(got); err != nil {
		t.Errorf("server port %q", got)
	}
}

// OnPrimary waits out a primary that is gone and gives up on another error at once.
func TestOnPrimaryRunsAgain(t *testing.T) {
	ctx := context.Background()
	d := dbtest.DB(t)
	tries := 0
	err := db.OnPrimary(ctx, nil, "test", func(ctx context.Context) error {
		tries++
		return db.WithTxOptions(ctx, d, &sql.TxOptions{ReadOnly: tries < 3}, func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TEMP TABLE IF NOT EXISTS t (x int)`)
			return err
		})
	})
	if err != nil || tries != 3 {
		t.Errorf("err %v after %d tries, want nil after 3 (two read-only)", err, tries)
	}
	tries = 0
	boom := errors.New("boom")
	if err := db.OnPrimary(ctx, nil, "test", func(context.Context) error { tries++; return boom }); !errors.Is(err, boom) || tries != 1 {
		t.Errorf("err %v after %d tries, want boom after 1", err, tries)
	}
}
