package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"
)

// timeoutErr is a read that reached its deadline: a server that stopped answering.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestPrimaryGone(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}
	// lib/pq's error when no host of a multi-host string takes writes.
	hosts := func(errs ...error) error {
		return fmt.Errorf("pq: could not connect to any of the hosts:\n%w", errors.Join(errs...))
	}
	host := func(err error) error { return fmt.Errorf("connecting to 127.0.0.1:5501: %w", err) }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"context cancelled", context.Canceled, false},
		{"context deadline", fmt.Errorf("error beginning transaction: %w", context.DeadlineExceeded), false},
		{"bad connection (lib/pq: a fatal error, EOF)", fmt.Errorf("error committing transaction: %w", driver.ErrBadConn), true},
		{"EOF", io.EOF, true},
		{"unexpected EOF", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{"connection refused", refused, true},
		{"connection reset", reset, true},
		{"broken pipe", &net.OpError{Op: "write", Err: &os.SyscallError{Syscall: "write", Err: syscall.EPIPE}}, true},
		{"read-only transaction", &pq.Error{Code: "25006"}, true},
		{"admin shutdown", fmt.Errorf("x: %w", &pq.Error{Code: "57P01"}), true},
		{"crash shutdown", &pq.Error{Code: "57P02"}, true},
		{"cannot connect now (starting, in recovery)", &pq.Error{Code: "57P03"}, true},
		{"connection failure", &pq.Error{Code: "08006"}, true},
		{"unique violation", &pq.Error{Code: "23505"}, false},
		{"serialization failure", &pq.Error{Code: "40001"}, false},
		{"undefined table", &pq.Error{Code: "42P01"}, false},
		{"statement timeout", &pq.Error{Code: "57014"}, false},
		{"wrong password", &pq.Error{Code: "28P01"}, false},
		{"a server that stopped answering", &net.OpError{Op: "read", Err: timeoutErr{}}, false},
		{"other error", errors.New("session is read-only, they said"), false},
		{"no host read-write: one refused, one standby", hosts(host(refused), host(errors.New("server is in hot standby mode"))), true},
		{"no host read-write: one read-only", hosts(host(errors.New("session is read-only"))), true},
		{"no host: one down (connect_timeout), one standby", hosts(host(context.DeadlineExceeded), host(errors.New("server is in hot standby mode"))), true},
		{"no host: wrong password on each", hosts(host(&pq.Error{Code: "28P01"}), host(&pq.Error{Code: "28P01"})), false},
		{"abandoned: the context ended and the socket was closed", abandoned(context.Background(), driver.ErrBadConn), false},
		{"abandoned while connecting", fmt.Errorf("x: %w", &abandonedError{fmt.Errorf("connecting abandoned: %w (%w)", context.Canceled, refused)}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PrimaryGone(tt.err); got != tt.want {
				t.Errorf("PrimaryGone(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestBackoffWait(t *testing.T) {
	b := backoff{First: 40 * time.Millisecond, Max: 300 * time.Millisecond}
	tests := []struct {
		try  int
		draw float64
		want time.Duration
	}{
		{1, 0, 20 * time.Millisecond},
		{1, 0.5, 30 * time.Millisecond},
		{2, 0, 40 * time.Millisecond},
		{3, 0.5, 120 * time.Millisecond},
		{4, 0, 150 * time.Millisecond}, // 320 ms, capped at 300
		{40, 0.5, 225 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := b.wait(tt.try, tt.draw); got != tt.want {
			t.Errorf("wait after try %d (draw %.1f) = %v, want %v", tt.try, tt.draw, got, tt.want)
		}
	}
}

func TestRetryWhilePrimaryGone(t *testing.T) {
	b := backoff{First: 2 * time.Millisecond, Max: 10 * time.Millisecond}
	half := func() float64 { return 0.5 }
	gone := fmt.Errorf("error beginning transaction: %w", driver.ErrBadConn)

	t.Run("gone, then back", func(t *testing.T) {
		tries := 0
		err := b.retry(context.Background(), nil, "test", func(context.Context) error {
			tries++
			if tries < 4 {
				return gone
			}
			return nil
		}, half)
		if err != nil || tries != 4 {
			t.Errorf("err %v after %d tries, want nil after 4", err, tries)
		}
	})
	t.Run("another error: no second try", func(t *testing.T) {
		tries := 0
		dup := &pq.Error{Code: "23505"}
		err := b.retry(context.Background(), nil, "test", func(context.Context) error { tries++; return dup }, half)
		if !errors.Is(err, dup) || tries != 1 {
			t.Errorf("err %v after %d tries, want the unique violation after 1", err, tries)
		}
	})
	t.Run("gone until the deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		tries := 0
		start := time.Now()
		err := b.retry(ctx, nil, "test", func(context.Context) error { tries++; return gone }, half)
		took := time.Since(start)
		if !errors.Is(err, driver.ErrBadConn) || tries < 5 {
			t.Errorf("err %v after %d tries, want the last error after several", err, tries)
		}
		if took > 2*time.Second {
			t.Errorf("gave up after %v, want about the deadline (100 ms)", took)
		}
		if deadline, _ := ctx.Deadline(); time.Now().After(deadline.Add(time.Second)) {
			t.Errorf("returned %v after the deadline", time.Since(deadline))
		}
	})
	t.Run("context ended: no further try", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		tries := 0
		err := b.retry(ctx, nil, "test", func(context.Context) error { tries++; cancel(); return gone }, half)
		if err == nil || tries != 1 {
			t.Errorf("err %v after %d tries, want an error after 1", err, tries)
		}
	})
}
