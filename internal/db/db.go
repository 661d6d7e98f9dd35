// Package db opens the PostgreSQL database, creates it when asked to, applies the embedded
// migrations and runs use cases in transactions.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Querier is what store functions take: satisfied by both *sqlx.DB and *sqlx.Tx.
type Querier interface {
	sqlx.ExtContext
	sqlx.PreparerContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// maxConns bounds each process's connections, well under a default server's 100.
const maxConns = 20

// ErrNoDatabase is returned by Open when the server has no database of the name given.
var ErrNoDatabase = errors.New("database does not exist")

// Session bounds the database sessions of a pool.
type Session struct {
	// StatementTimeout is the server's statement_timeout: a statement running longer
	// (waiting for locks included) is cancelled by the server.
	StatementTimeout time.Duration
	// IdleInTransaction is the server's idle_in_transaction_session_timeout: a session idle
	// that long inside a transaction is ended, its locks released.
	IdleInTransaction time.Duration
	// Wait bounds each wait for the server on an open connection (a read or a write); zero:
	// StatementTimeout + 30 s, so that only a server that stopped answering reaches it.
	Wait time.Duration
}

// Defaults of the engine's sessions and of the sessions that apply migrations or create and
// drop databases, whose statements may rewrite whole tables.
var (
	DefaultSession   = Session{StatementTimeout: time.Minute, IdleInTransaction: 30 * time.Second}
	MigrationSession = Session{StatementTimeout: 30 * time.Minute, IdleInTransaction: 30 * time.Second}
)

// DefaultConnectTimeout is the connect_timeout (in seconds) given to lib/pq when the connection
// string sets none: how long connecting, handshake included, may take.
const DefaultConnectTimeout = 10

func (s Session) wait() time.Duration {
	if s.Wait > 0 {
		return s.Wait
	}
	return s.StatementTimeout + 30*time.Second
}

// settings is the statement that sets the session's timeouts.
func (s Session) settings() string {
	return fmt.Sprintf("SET statement_timeout = %d; SET idle_in_transaction_session_timeout = %d",
		s.StatementTimeout.Milliseconds(), s.IdleInTransaction.Milliseconds())
}

// Open is OpenWith and the DefaultSession.
func Open(ctx context.Context, dsn string) (*sqlx.DB, error) {
	return OpenWith(ctx, dsn, DefaultSession)
}

// OpenWith connects to the database named in dsn, which must exist (see CreateIfMissing); a
// missing one is ErrNoDatabase. dsn is a lib/pq URL or key=value string; an explicit sslmode is
// always passed (see WithSSLMode), and connect_timeout is DefaultConnectTimeout unless dsn sets
// it. Every session of the pool has the timeouts of session; a wait for the server on an open
// connection ends at session's Wait, or as soon as the operation's context ends.
func OpenWith(ctx context.Context, dsn string, session Session) (*sqlx.DB, error) {
	connector, err := connectorFor(dsn, session)
	if err != nil {
		return nil, err
	}
	d := sqlx.NewDb(sql.OpenDB(connector), "postgres")
	// Connections are kept: opening one starts a server process, which under load costs more
	// than the statements it serves.
	d.SetMaxOpenConns(maxConns)
	d.SetMaxIdleConns(maxConns)
	// A connection's prepared statements keep plans made from the statistics of their day;
	// renewing connections now and then re-plans them as tables grow.
	d.SetConnMaxLifetime(30 * time.Minute)
	d.SetConnMaxIdleTime(5 * time.Minute)
	if err := d.PingContext(ctx); err != nil {
		d.Close()
		if missingDatabase(err) {
			name, _ := DatabaseName(dsn)
			return nil, fmt.Errorf("error connecting to database %q: %w", name, ErrNoDatabase)
		}
		return nil, connectError(ctx, err)
	}
	return d, nil
}

// connectorFor returns the connector of dsn and session.
func connectorFor(dsn string, session Session) (cachingConnector, error) {
	conn, err := WithSSLMode(dsn)
	if err != nil {
		return cachingConnector{}, err
	}
	if conn, err = withDefaults(conn); err != nil {
		return cachingConnector{}, err
	}
	return newCachingConnector(conn, session)
}

// noAnswer reports whether err, from an operation under ctx, is a connection's deadline (the
// handshake's connect_timeout, a read or write deadline), not the end of ctx. A dial that runs
// out of connect_timeout reports a context deadline of its own, so a deadline counts as no
// answer while ctx itself is still live.
func noAnswer(ctx context.Context, err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return ctx.Err() == nil
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// connectError says what a failed first connection, under ctx, means.
func connectError(ctx context.Context, err error) error {
	if noAnswer(ctx, err) {
		return fmt.Errorf("error connecting to database: the server did not answer in time (connect_timeout in DATABASE_URL, %d s unless set): %w",
			DefaultConnectTimeout, err)
	}
	return fmt.Errorf("error connecting to database: %w", err)
}

// missingDatabase reports whether err is the server's "database does not exist".
func missingDatabase(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "3D000" // invalid_catalog_name
}

// WithSSLMode converts a lib/pq URL or key=value string to a normalised key=value form and
// makes sslmode explicit: kept when given, "disable" for a server on this machine (loopback or
// Unix socket), otherwise "require" (lib/pq's own default, which would otherwise apply silently).
func WithSSLMode(dsn string) (string, error) {
	params, err := connParams(dsn)
	if err != nil {
		return "", err
	}
	return formatKeyValues(params), nil
}

// connParams reads a lib/pq URL or key=value string into its parameters, sslmode made explicit
// (see WithSSLMode).
func connParams(dsn string) (map[string]string, error) {
	var params map[string]string
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		p, err := urlParams(dsn)
		if err != nil {
			return nil, fmt.Errorf("error parsing database URL: %w", redactURLError(err))
		}
		params = p
	} else {
		p, err := parseKeyValues(dsn)
		if err != nil {
			return nil, err
		}
		params = p
	}
	if _, ok := params["sslmode"]; !ok {
		params["sslmode"] = "require"
		if isLocalHost(params["host"]) {
			params["sslmode"] = "disable"
		}
	}
	return params, nil
}

// withDefaults asks lib/pq, unless the connection string says otherwise, to send a statement
// with its parameters in one round trip (parse, bind and execute together) rather than two
// (parse and describe, then bind and execute), and to give up connecting after
// DefaultConnectTimeout seconds. Byte slices then go to the server in binary form: text and
// JSON are passed as strings.
func withDefaults(conn string) (string, error) {
	params, err := parseKeyValues(conn)
	if err != nil {
		return "", err
	}
	if _, ok := params["binary_parameters"]; !ok {
		params["binary_parameters"] = "yes"
	}
	if _, ok := params["connect_timeout"]; !ok {
		params["connect_timeout"] = strconv.Itoa(DefaultConnectTimeout)
	}
	return formatKeyValues(params), nil
}

// DatabaseName returns the database a connection string names ("postgres" when none).
func DatabaseName(conn string) (string, error) {
	params, err := connParams(conn)
	if err != nil {
		return "", err
	}
	if name := params["dbname"]; name != "" {
		return name, nil
	}
	if user := params["user"]; user != "" {
		return user, nil
	}
	return "postgres", nil
}

// ReplaceDatabase returns conn with its database replaced by name.
func ReplaceDatabase(conn, name string) (string, error) {
	params, err := connParams(conn)
	if err != nil {
		return "", err
	}
	params["dbname"] = name
	return formatKeyValues(params), nil
}

// Address returns the network and address of the server a connection string names: "tcp" and
// host:port, or "unix" and the socket's path.
func Address(conn string) (network, address string, err error) {
	params, err := connParams(conn)
	if err != nil {
		return "", "", err
	}
	host, port := params["host"], params["port"]
	if port == "" {
		port = "5432"
	}
	if strings.HasPrefix(host, "/") {
		return "unix", host + "/.s.PGSQL." + port, nil
	}
	if host == "" {
		host = "localhost"
	}
	return "tcp", net.JoinHostPort(host, port), nil
}

// ReplaceAddress returns conn with its server's host and port replaced.
func ReplaceAddress(conn, host, port string) (string, error) {
	params, err := connParams(conn)
	if err != nil {
		return "", err
	}
	params["host"], params["port"] = host, port
	return formatKeyValues(params), nil
}

func isLocalHost(host string) bool {
	if host == "" || strings.HasPrefix(host, "/") || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CreateIfMissing creates the database named in dsn when it does not exist. A server that
// refuses (no CREATEDB right, no maintenance database) is not an error here: the connection
// that follows reports what is wrong.
func CreateIfMissing(ctx context.Context, dsn string) error {
	name, err := DatabaseName(dsn)
	if err != nil {
		return err
	}
	probe, err := migrationPool(dsn)
	if err != nil {
		return err
	}
	err = probe.PingContext(ctx)
	probe.Close()
	switch {
	case err == nil:
		return nil
	case noAnswer(ctx, err):
		return connectError(ctx, err) // a server that does not answer: no second try
	case !missingDatabase(err):
		return nil
	}
	err = maintenance(ctx, dsn, "CREATE DATABASE "+pq.QuoteIdentifier(name))
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && (pqErr.Code == "42P04" || pqErr.Code == "23505") { // created meanwhile
		return nil
	}
	if err != nil {
		return fmt.Errorf("error creating database %q: %w", name, err)
	}
	return nil
}

// WithTx runs fn in a transaction, committing when fn returns nil and rolling back otherwise.
func WithTx(ctx context.Context, d *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	return WithTxOptions(ctx, d, nil, fn)
}

// Snapshot is for transactions whose several reads must see one consistent state.
var Snapshot = &sql.TxOptions{Isolation: sql.LevelRepeatableRead}

// Beginner starts transactions: a pool (*sqlx.DB) or one connection taken from it (*sqlx.Conn).
type Beginner interface {
	BeginTxx(ctx context.Context, opts *sql.TxOptions) (*sqlx.Tx, error)
}

// WithTxOptions is WithTx with an isolation level or read-only mode, on a pool or on one
// connection.
func WithTxOptions(ctx context.Context, d Beginner, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) error {
	tx, err := d.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("error beginning transaction: %w", err)
	}
	// Deferred, so that a panic in fn ends the transaction too instead of leaving it open on a
	// pooled connection; after a commit it does nothing.
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("error committing transaction: %w", err)
	}
	return nil
}

// redactURLError drops the URL (which may carry a password) from url parse errors.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Drop removes the database named in conn, if it exists, closing other sessions on it. Only the
// demo, which owns its database, calls it.
func Drop(ctx context.Context, conn string) error {
	name, err := DatabaseName(conn)
	if err != nil {
		return err
	}
	if err := maintenance(ctx, conn, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("error dropping database %q: %w", name, redactURLError(err))
	}
	return nil
}

// maintenance runs a statement on the server's maintenance database "postgres".
func maintenance(ctx context.Context, conn, stmt string) error {
	maint, err := ReplaceDatabase(conn, "postgres")
	if err != nil {
		return err
	}
	admin, err := migrationPool(maint)
	if err != nil {
		return err
	}
	defer admin.Close()
	_, err = admin.ExecContext(ctx, stmt)
	return err
}

// migrationPool opens a pool on dsn with the migration session's settings.
func migrationPool(dsn string) (*sql.DB, error) {
	connector, err := connectorFor(dsn, MigrationSession)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}
