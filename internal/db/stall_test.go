package db_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/outreach-engine/outreach/internal/db"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

// within runs f and fails the test when it has not returned after limit (leaving it behind):
// without deadlines, lib/pq would wait for a stalled server forever.
func within(t *testing.T, limit time.Duration, f func() error) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(limit):
		t.Fatalf("still waiting after %s", limit)
		return 0, nil
	}
}

// A query on a connection whose server stopped answering ends with an error when its context
// ends (the socket is closed under it) or, without a deadline of its own, after the session's
// Wait; connecting to such a server ends at the context's end or at connect_timeout.
func TestStalledServer(t *testing.T) {
	ctx := context.Background()
	proxy, conn := dbtest.NewStallProxy(t, dbtest.Empty(t))
	short := db.Session{StatementTimeout: time.Second, IdleInTransaction: time.Second, Wait: 2 * time.Second}
	long := db.Session{StatementTimeout: 20 * time.Second, IdleInTransaction: time.Second}
	byWait, err := db.OpenWith(ctx, conn, short)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { byWait.Close() })
	byContext, err := db.OpenWith(ctx, conn, long)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { byContext.Close() })
	inTx, err := db.OpenWith(ctx, conn, long)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inTx.Close() })
	txCtx, cancelTx := context.WithTimeout(ctx, 2*time.Second)
	t.Cleanup(cancelTx)
	tx, err := inTx.BeginTxx(txCtx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(txCtx, `SELECT 1`); err != nil {
		t.Fatal(err)
	}
	proxy.Stall()

	t.Run("no deadline: the session's wait", func(t *testing.T) {
		t.Parallel()
		took, err := within(t, 10*time.Second, func() error {
			var one int
			return byWait.GetContext(ctx, &one, `SELECT 1`)
		})
		t.Logf("query without a deadline failed after %s (wait %s): %v", took.Round(time.Millisecond), short.Wait, err)
		if err == nil || !strings.Contains(err.Error(), "timeout") {
			t.Errorf("error = %v, want a timeout", err)
		}
		if took > short.Wait+2*time.Second {
			t.Errorf("took %s, want about %s", took, short.Wait)
		}
	})
	t.Run("the context's deadline", func(t *testing.T) {
		t.Parallel()
		qctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		took, err := within(t, 10*time.Second, func() error {
			_, err := byContext.ExecContext(qctx, `SELECT $1::int`, 1)
			return err
		})
		t.Logf("query with a 500 ms deadline failed after %s: %v", took.Round(time.Millisecond), err)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want the deadline", err)
		}
		if took > 2*time.Second {
			t.Errorf("took %s, want about 500 ms", took)
		}
	})
	t.Run("a transaction's context", func(t *testing.T) {
		t.Parallel()
		took, err := within(t, 10*time.Second, func() error {
			_, err := tx.ExecContext(context.Background(), `SELECT 2`)
			return err
		})
		t.Logf("statement in a transaction whose context ends after 2 s failed after %s: %v", took.Round(time.Millisecond), err)
		if err == nil || took > 4*time.Second {
			t.Errorf("error %v after %s, want a failure when the transaction's context ends", err, took)
		}
		if _, err := within(t, 5*time.Second, tx.Rollback); err == nil {
			t.Error("rollback on the stalled connection succeeded")
		}
	})
	t.Run("connecting: the context", func(t *testing.T) {
		t.Parallel()
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		took, err := within(t, 15*time.Second, func() error {
			d, err := db.OpenWith(cctx, conn, long)
			if err == nil {
				d.Close()
			}
			return err
		})
		t.Logf("connecting with a 500 ms deadline failed after %s: %v", took.Round(time.Millisecond), err)
		if err == nil || took > 2*time.Second {
			t.Errorf("error %v after %s, want a failure after 500 ms", err, took)
		}
	})
	t.Run("connecting: connect_timeout", func(t *testing.T) {
		t.Parallel()
		took, err := within(t, 20*time.Second, func() error {
			d, err := db.Open(ctx, conn)
			if err == nil {
				d.Close()
			}
			return err
		})
		t.Logf("connecting without a deadline failed after %s: %v", took.Round(time.Millisecond), err)
		if err == nil || !strings.Contains(err.Error(), "did not answer in time") {
			t.Errorf("error = %v, want a connect timeout", err)
		}
		if took > time.Duration(db.DefaultConnectTimeout+3)*time.Second {
			t.Errorf("took %s, want about %d s", took, db.DefaultConnectTimeout)
		}
	})
	t.Run("connecting: connect_timeout given", func(t *testing.T) {
		t.Parallel()
		took, err := within(t, 10*time.Second, func() error {
			return db.CreateIfMissing(ctx, conn+" connect_timeout=1")
		})
		t.Logf("CreateIfMissing with connect_timeout=1 failed after %s: %v", took.Round(time.Millisecond), err)
		if err == nil || took > 3*time.Second {
			t.Errorf("error %v after %s, want a failure after 1 s", err, took)
		}
	})
}

// The engine's sessions have a statement timeout and an idle-in-transaction timeout; the
// server enforces them.
func TestSessionTimeouts(t *testing.T) {
	ctx := context.Background()
	conn := dbtest.Empty(t)
	d, err := db.Open(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var statement, idle string
	if err := d.GetContext(ctx, &statement, `SHOW statement_timeout`); err != nil {
		t.Fatal(err)
	}
	if err := d.GetContext(ctx, &idle, `SHOW idle_in_transaction_session_timeout`); err != nil {
		t.Fatal(err)
	}
	if statement != "1min" || idle != "30s" {
		t.Errorf("statement_timeout %q, idle_in_transaction_session_timeout %q; want 1min and 30s", statement, idle)
	}

	short, err := db.OpenWith(ctx, conn, db.Session{StatementTimeout: 200 * time.Millisecond, IdleInTransaction: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	_, err = short.ExecContext(ctx, `SELECT pg_sleep(2)`)
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "57014" {
		t.Errorf("a statement longer than statement_timeout: %v, want query_canceled", err)
	}
	tx, err := short.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if _, err := tx.ExecContext(ctx, `SELECT 1`); err == nil {
		t.Error("a transaction idle longer than idle_in_transaction_session_timeout went on")
	}
	tx.Rollback()
	var one int
	if err := short.GetContext(ctx, &one, `SELECT 1`); err != nil {
		t.Errorf("the pool after a session was ended: %v", err)
	}
}
