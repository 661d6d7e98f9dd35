package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/lib/pq"
)

// A failover (a primary that crashed and a standby promoted in its place) or a planned
// switchover leaves the engine without a primary for a few seconds: connections are refused or
// cut, the old primary comes back read-only. Work that must not be lost (a patient's reply the
// provider will not send again, the record of texts that went out) waits for the new primary
// within its own deadline instead of failing at once.

// PrimaryGone reports whether err means that the server an operation ran on is no longer a
// primary that takes writes: it went away (connection refused, reset or closed; the session
// ended by a shutdown, a crash or a server still starting: SQLSTATE 57P01, 57P02, 57P03, class
// 08), or it is read-only (SQLSTATE 25006; no host of a multi-host DATABASE_URL is read-write).
// The same work may then succeed on a primary a moment later. The end of a context is not such
// an error, even when the connection was closed under the operation because of it.
func PrimaryGone(err error) bool {
	var ab *abandonedError
	if err == nil || errors.As(err, &ab) {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch code := string(pqErr.Code); {
		case code == "25006", // read_only_sql_transaction: a standby, or a demoted primary
			code == "57P01", code == "57P02", code == "57P03", // admin_shutdown, crash_shutdown, cannot_connect_now
			len(code) == 5 && code[:2] == "08": // connection_exception
			return true
		}
	}
	return anyError(err, func(e error) bool {
		_, ok := readOnlyHost[e.Error()]
		return ok
	})
}

// readOnlyHost holds lib/pq's reasons for passing over a host that is up but not a primary
// (target_session_attrs=read-write or primary).
var readOnlyHost = map[string]struct{}{
	"session is read-only":          {},
	"server is in hot standby mode": {},
}

// anyError reports whether match holds for err or any error it wraps.
func anyError(err error, match func(error) bool) bool {
	if err == nil {
		return false
	}
	if match(err) {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return anyError(u.Unwrap(), match)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if anyError(e, match) {
				return true
			}
		}
	}
	return false
}

// backoff is how long OnPrimary waits between tries: First after the first failure, doubled
// after each one up to Max, each wait drawn at random between half and all of it so that
// replicas do not all knock at once.
type backoff struct {
	First, Max time.Duration
}

// failoverBackoff is the backoff of OnPrimary: a switchover takes one to a few seconds, and a
// new try costs a connection attempt on each host.
var failoverBackoff = backoff{First: 50 * time.Millisecond, Max: 500 * time.Millisecond}

// wait returns the wait before try n+1 (n ≥ 1), with r in [0, 1) drawing its share.
func (b backoff) wait(n int, r float64) time.Duration {
	d := b.First
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d/2 + time.Duration(r*float64(d/2))
}

// OnPrimary runs fn, and runs it again while it fails because the primary is gone (see
// PrimaryGone), until it succeeds, fails otherwise, or ctx has no time left for another try;
// then it returns fn's last error. Each try runs on a fresh connection: the pool drops the
// connections of a server that went away or turned read-only at their first such error.
//
// fn must be safe to run again: one transaction whose effects outside the database happen
// only once it commits (see aftercommit), and which finds what an earlier try may have
// committed (a commit whose answer was lost) and does not do it twice. log, when not nil,
// notes the wait and its end, with what, a few words saying what the work is.
func OnPrimary(ctx context.Context, log *slog.Logger, what string, fn func(ctx context.Context) error) error {
	return failoverBackoff.retry(ctx, log, what, fn, rand.Float64)
}

func (b backoff) retry(ctx context.Context, log *slog.Logger, what string, fn func(ctx context.Context) error, draw func() float64) error {
	start := time.Now()
	for n := 1; ; n++ {
		err := fn(ctx)
		if err == nil {
			if n > 1 && log != nil {
				log.Info("a primary took the work after a failover", "work", what, "tries", n, "waited", time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		if !PrimaryGone(err) || ctx.Err() != nil {
			return err
		}
		wait := b.wait(n, draw())
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return fmt.Errorf("no primary within the deadline after %d tries over %v: %w", n, time.Since(start).Round(time.Millisecond), err)
		}
		if n == 1 && log != nil {
			log.Warn("the database primary is gone: waiting for one", "work", what, "err", err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}
