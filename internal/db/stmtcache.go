package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/lib/pq"
)

// stmtCacheSize bounds the statements each connection keeps prepared. The engine runs a few
// hundred distinct statements; a query text built anew on each call (which none should be)
// would stop being cached once the cache is full, never evict the hot ones.
const stmtCacheSize = 512

// cachingConnector opens lib/pq connections that prepare each statement with parameters once
// per connection and run it by name afterwards: the server parses it once, and plans it once
// where a generic plan serves, instead of on every execution.
type cachingConnector struct{ pq *pq.Connector }

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.pq.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &cachingConn{pqConn: conn.(pqConn), stmts: map[string]driver.Stmt{}}, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.pq.Driver() }

// pqConn is what a lib/pq connection implements, and what cachingConn passes on.
type pqConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// cachingConn is a lib/pq connection with a cache of prepared statements by query text.
// database/sql uses a connection from one goroutine at a time, so the cache needs no lock.
type cachingConn struct {
	pqConn
	stmts map[string]driver.Stmt
}

// stmt returns the statement prepared for query on this connection, preparing it on first
// use; nil when the cache is full.
func (c *cachingConn) stmt(ctx context.Context, query string) (driver.Stmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	if len(c.stmts) >= stmtCacheSize {
		return nil, nil
	}
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

// forget drops a statement after an error that may come from the statement itself (a plan
// the schema changed under), so that its next use prepares it anew; the server's copy goes
// with the connection.
func (c *cachingConn) forget(query string, err error) {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "0A000" { // feature_not_supported: "cached plan must not change result type"
		delete(c.stmts, query)
	}
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		return c.pqConn.QueryContext(ctx, query, args) // the simple protocol: one round trip already
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return c.pqConn.QueryContext(ctx, query, args)
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.forget(query, err)
	}
	return rows, err
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) == 0 {
		return c.pqConn.ExecContext(ctx, query, args)
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return c.pqConn.ExecContext(ctx, query, args)
	}
	res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		c.forget(query, err)
	}
	return res, err
}

// newCachingConnector returns a connector for conn, a lib/pq connection string.
func newCachingConnector(conn string) (cachingConnector, error) {
	c, err := pq.NewConnector(conn)
	if err != nil {
		return cachingConnector{}, fmt.Errorf("error opening database: %w", err)
	}
	return cachingConnector{pq: c}, nil
}
