// Package aftercommit holds work back, such as counting an event in a metric, until the
// transaction that records the event commits: a transaction that rolls back counts nothing.
package aftercommit

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"

	"github.com/outreach-engine/outreach/internal/db"
)

type key struct{}

// pending is the work held back by one transaction.
type pending struct {
	mu  sync.Mutex
	fns []func()
}

// WithTx runs fn in a transaction (db.WithTx) with a context that holds back the work given to
// Do; that work runs once the transaction commits, and is dropped when it rolls back.
func WithTx(ctx context.Context, d *sqlx.DB, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	p := &pending{}
	inner := context.WithValue(ctx, key{}, p)
	if err := db.WithTx(ctx, d, func(tx *sqlx.Tx) error { return fn(inner, tx) }); err != nil {
		return err
	}
	p.mu.Lock()
	fns := p.fns
	p.fns = nil
	p.mu.Unlock()
	for _, f := range fns {
		f()
	}
	return nil
}

// Do runs f once the transaction of ctx (see WithTx) commits; with no such transaction (a
// statement that committed by itself), at once.
func Do(ctx context.Context, f func()) {
	p, ok := ctx.Value(key{}).(*pending)
	if !ok {
		f()
		return
	}
	p.mu.Lock()
	p.fns = append(p.fns, f)
	p.mu.Unlock()
}
