package aftercommit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/aftercommit"
	"github.com/outreach-engine/outreach/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestWorkRunsOnlyAfterCommit: work given to Do inside a transaction runs once it committed,
// never when it rolled back (an error, or a commit that failed); outside one, at once.
func TestWorkRunsOnlyAfterCommit(t *testing.T) {
	d := dbtest.DB(t)
	ctx := context.Background()
	ran := 0
	count := func() { ran++ }

	err := aftercommit.WithTx(ctx, d, func(ctx context.Context, tx *sqlx.Tx) error {
		aftercommit.Do(ctx, count)
		aftercommit.Do(ctx, count)
		if ran != 0 {
			t.Errorf("work ran before the commit")
		}
		return nil
	})
	if err != nil || ran != 2 {
		t.Fatalf("committed: ran %d times, err %v; want 2, nil", ran, err)
	}

	ran = 0
	failed := errors.New("failed")
	if err := aftercommit.WithTx(ctx, d, func(ctx context.Context, tx *sqlx.Tx) error {
		aftercommit.Do(ctx, count)
		return failed
	}); !errors.Is(err, failed) || ran != 0 {
		t.Errorf("rolled back: ran %d times, err %v; want 0, the error", ran, err)
	}

	// A statement error aborts the transaction: its commit fails, and the work is dropped.
	if err := aftercommit.WithTx(ctx, d, func(ctx context.Context, tx *sqlx.Tx) error {
		aftercommit.Do(ctx, count)
		_, _ = tx.ExecContext(ctx, "SELECT 1/0")
		return nil
	}); err == nil || ran != 0 {
		t.Errorf("aborted: ran %d times, err %v; want 0, an error", ran, err)
	}

	aftercommit.Do(ctx, count)
	if ran != 1 {
		t.Errorf("outside a transaction: ran %d times, want 1", ran)
	}
}
