package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync/atomic"

	"github.com/lib/pq"
)

// stmtCacheSize bounds the statements each connection keeps prepared. The engine runs a few
// hundred distinct statements; a query text built anew on each call (which none should be)
// would stop being cached once the cache is full, never evict the hot ones.
const stmtCacheSize = 512

// cachingConnector opens lib/pq connections that prepare each statement with parameters once
// per connection and run it by name afterwards: the server parses it once, and plans it once
// where a generic plan serves, instead of on every execution. Its connections bound every
// wait for the server (see dialer) and carry the session's timeouts.
type cachingConnector struct {
	pq      *pq.Connector
	session Session
	// servers counts the times a connection found its server gone or read-only (see
	// PrimaryGone): a connection opened before the last such time is not used again, since
	// the pool's other connections most likely went to the same server.
	servers *atomic.Uint64
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	s := &slot{}
	stop := context.AfterFunc(ctx, s.abort)
	conn, err := c.pq.Connect(context.WithValue(ctx, slotKey{}, s))
	abandoned := !stop()
	if err != nil {
		if abandoned {
			return nil, &abandonedError{fmt.Errorf("connecting abandoned: %w (%w)", context.Cause(ctx), err)}
		}
		return nil, err
	}
	cc := &cachingConn{pqConn: conn.(pqConn), net: s.get(), stmts: map[string]driver.Stmt{}, servers: c.servers, server: c.servers.Load()}
	if abandoned {
		cc.Close()
		return nil, &abandonedError{fmt.Errorf("connecting abandoned: %w", context.Cause(ctx))}
	}
	if _, err := cc.ExecContext(ctx, c.session.settings(), nil); err != nil {
		cc.Close()
		return nil, fmt.Errorf("error setting the session's timeouts: %w", err)
	}
	return cc, nil
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
// While an operation runs (a transaction, until it ends; a query, until its rows are closed),
// the end of its context closes the socket: the operation fails at once instead of waiting
// for a server that may never answer, and the connection is dropped.
type cachingConn struct {
	pqConn
	net   *deadlineConn // nil only for a socket dialled by another dialer
	stmts map[string]driver.Stmt

	servers *atomic.Uint64 // the connector's count of servers gone
	server  uint64         // servers when this connection was opened
	gone    atomic.Bool    // an operation found the server gone or read-only
}

// noted returns err, after noting a server gone or read-only: this connection and every
// connection opened before are dropped instead of being used again.
func (c *cachingConn) noted(err error) error {
	if err != nil && PrimaryGone(err) {
		c.gone.Store(true)
		c.servers.CompareAndSwap(c.server, c.server+1)
	}
	return err
}

// stale reports whether the connection is not to be used again: its socket was closed under
// an operation, or its server was found gone or read-only.
func (c *cachingConn) stale() bool {
	return c.net != nil && c.net.aborted.Load() || c.gone.Load() || c.servers.Load() != c.server
}

// watch closes the socket when ctx ends before the returned stop is called; stop reports
// whether the operation ran out its course (false: the socket was closed under it).
func (c *cachingConn) watch(ctx context.Context) func() bool {
	if c.net == nil || ctx.Done() == nil {
		return func() bool { return true }
	}
	return context.AfterFunc(ctx, c.net.abort)
}

// abandonedError is the error of an operation whose context ended under it: the connection
// was closed for that, not because the server went away.
type abandonedError struct{ err error }

func (e *abandonedError) Error() string { return e.err.Error() }

func (e *abandonedError) Unwrap() error { return e.err }

// abandoned returns the error of an operation whose context ended under it.
func abandoned(ctx context.Context, err error) error {
	return &abandonedError{fmt.Errorf("database operation abandoned: %w (%w)", context.Cause(ctx), err)}
}

// IsValid reports whether database/sql may use the connection again.
func (c *cachingConn) IsValid() bool {
	return !c.stale() && c.pqConn.IsValid()
}

// ResetSession refuses a connection whose socket was closed under an operation, or whose
// server was found gone or read-only.
func (c *cachingConn) ResetSession(ctx context.Context) error {
	if c.stale() {
		return driver.ErrBadConn
	}
	return c.pqConn.ResetSession(ctx)
}

func (c *cachingConn) Ping(ctx context.Context) error {
	stop := c.watch(ctx)
	err := c.pqConn.Ping(ctx)
	if !stop() && err != nil {
		return abandoned(ctx, err)
	}
	return c.noted(err)
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	stop := c.watch(ctx)
	st, err := c.pqConn.PrepareContext(ctx, query)
	if !stop() && err != nil {
		return nil, abandoned(ctx, err)
	}
	return st, c.noted(err)
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	stop := c.watch(ctx)
	tx, err := c.pqConn.BeginTx(ctx, opts)
	if err != nil {
		if !stop() {
			return nil, abandoned(ctx, err)
		}
		return nil, c.noted(err)
	}
	return &watchedTx{Tx: tx, stop: stop, conn: c}, nil
}

// watchedTx stops watching its context when it ends.
type watchedTx struct {
	driver.Tx
	stop func() bool
	conn *cachingConn
}

func (t *watchedTx) Commit() error { return t.conn.noted(stopWith(t.stop, t.Tx.Commit())) }

func (t *watchedTx) Rollback() error { return stopWith(t.stop, t.Tx.Rollback()) }

// stopWith stops a context's watch once what it watched has ended with err.
func stopWith(stop func() bool, err error) error {
	stop()
	return err
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
	st, err := c.pqConn.PrepareContext(ctx, query)
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
	stop := c.watch(ctx)
	rows, err := c.query(ctx, query, args)
	if err != nil {
		if !stop() {
			return nil, abandoned(ctx, err)
		}
		return nil, c.noted(err)
	}
	return &watchedRows{Rows: rows, stop: stop}, nil
}

func (c *cachingConn) query(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
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
	stop := c.watch(ctx)
	res, err := c.exec(ctx, query, args)
	if !stop() && err != nil {
		return nil, abandoned(ctx, err)
	}
	return res, c.noted(err)
}

func (c *cachingConn) exec(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
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

// watchedRows stops watching its query's context when closed. It passes on the column type
// information of lib/pq's rows.
type watchedRows struct {
	driver.Rows
	stop func() bool
}

func (r *watchedRows) Close() error { return stopWith(r.stop, r.Rows.Close()) }

func (r *watchedRows) HasNextResultSet() bool {
	n, ok := r.Rows.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r *watchedRows) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return io.EOF
}

func (r *watchedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *watchedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *watchedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *watchedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

// newCachingConnector returns a connector for conn, a lib/pq connection string, whose sessions
// have the timeouts of session.
func newCachingConnector(conn string, session Session) (cachingConnector, error) {
	c, err := pq.NewConnector(conn)
	if err != nil {
		return cachingConnector{}, fmt.Errorf("error opening database: %w", err)
	}
	c.Dialer(&dialer{wait: session.wait()})
	return cachingConnector{pq: c, session: session, servers: &atomic.Uint64{}}, nil
}
