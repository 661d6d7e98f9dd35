package db

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// lib/pq sets no deadline on its socket once a connection is up, and cancels a query by sending
// a request on a second connection. A server that accepts connections and then never answers
// (a stalled host, a proxy that stops forwarding, a network that drops packets after the
// handshake) would hold every query, every request and the shutdown forever: TCP keepalive
// does not help, since the peer acknowledges. The connections opened here bound every read and
// write instead, and close the socket when the operation's context ends.

// cancelRequestTimeout bounds the connections lib/pq opens to cancel a query: they send a few
// bytes and wait for the server to hang up, which a server that answers does at once. lib/pq
// waits for this before a prepared statement whose context ended returns, so it adds at most
// this to the context's deadline.
const cancelRequestTimeout = time.Second

// dialer opens lib/pq's connections with a deadline on each read and write.
type dialer struct {
	wait time.Duration // the longest wait for the server on an open connection
	d    net.Dialer
}

// Dial implements pq.Dialer.
func (d *dialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialTimeout implements pq.Dialer.
func (d *dialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

// DialContext implements pq.DialerContext. A connection dialled for Connect is handed to the
// slot in ctx, which closes it if Connect's context ends first; any other connection is one
// of lib/pq's cancel requests, which gets a short life.
func (d *dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	s, ok := ctx.Value(slotKey{}).(*slot)
	if !ok {
		end := time.Now().Add(cancelRequestTimeout)
		ctx, cancel := context.WithDeadline(ctx, end)
		defer cancel()
		c, err := d.d.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		return &deadlineConn{Conn: c, wait: d.wait, end: end}, nil
	}
	c, err := d.d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	dc := &deadlineConn{Conn: c, wait: d.wait}
	if !s.set(dc) {
		c.Close()
		return nil, context.Cause(ctx)
	}
	return dc, nil
}

// deadlineConn is a connection whose every read and write waits at most wait, and no later
// than the deadlines its user set (lib/pq's connect_timeout during the handshake) or its end.
type deadlineConn struct {
	net.Conn
	wait time.Duration
	end  time.Time // zero: none

	mu                    sync.Mutex
	readLimit, writeLimit time.Time
	aborted               atomic.Bool
}

func (c *deadlineConn) until(limit time.Time) time.Time {
	d := time.Now().Add(c.wait)
	for _, l := range []time.Time{limit, c.end} {
		if !l.IsZero() && l.Before(d) {
			d = l
		}
	}
	return d
}

// deadline is when the next read (or write, when write is true) must be done by.
func (c *deadlineConn) deadline(write bool) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if write {
		return c.until(c.writeLimit)
	}
	return c.until(c.readLimit)
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(c.deadline(false)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(c.deadline(true)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.readLimit, c.writeLimit = t, t
	c.mu.Unlock()
	return c.Conn.SetDeadline(c.until(t))
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readLimit = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(c.until(t))
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.writeLimit = t
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(c.until(t))
}

// abort closes the socket under a blocked read or write: the operation that waits fails at
// once, and the connection is never used again.
func (c *deadlineConn) abort() {
	c.aborted.Store(true)
	c.Conn.Close()
}

// slotKey is the context key of the slot of a connection being opened.
type slotKey struct{}

// slot receives the socket lib/pq dials for one Connect, so that the connection built on it
// can close it when an operation's context ends.
type slot struct {
	mu      sync.Mutex
	conn    *deadlineConn
	aborted bool
}

// set keeps c; it reports false when the slot was aborted meanwhile.
func (s *slot) set(c *deadlineConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted {
		return false
	}
	s.conn = c
	return true
}

func (s *slot) get() *deadlineConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// abort closes the socket dialled so far, and any dialled later.
func (s *slot) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aborted = true
	if s.conn != nil {
		s.conn.abort()
	}
}
