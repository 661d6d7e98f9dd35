package dbtest

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/outreach-engine/outreach/internal/db"
)

// StallProxy stands between a client and the test server: it forwards both ways until Stall is
// called, then keeps accepting connections and reading what clients send, and answers nothing,
// on new connections and on those already open. It is a database host that stopped answering
// without closing anything (a stalled machine, a proxy or a network that drops traffic).
type StallProxy struct {
	ln              net.Listener
	network, target string
	stalled         atomic.Bool

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
}

// NewStallProxy starts a proxy to the server of conn and returns it with conn rewritten to go
// through it. It stops when the test ends.
func NewStallProxy(t testing.TB, conn string) (*StallProxy, string) {
	t.Helper()
	network, target, err := db.Address(conn)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	p := &StallProxy{ln: ln, network: network, target: target}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	through, err := db.ReplaceAddress(conn, "127.0.0.1", port)
	if err != nil {
		ln.Close()
		t.Fatalf("dbtest: %v", err)
	}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p, through
}

// Stall stops all traffic: from now on nothing reaches the server and nothing comes back.
func (p *StallProxy) Stall() { p.stalled.Store(true) }

// Close stops the proxy and closes its connections.
func (p *StallProxy) Close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
}

// track keeps c to close it with the proxy; it reports false when the proxy is closed.
func (p *StallProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

func (p *StallProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(client) {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if p.stalled.Load() {
				io.Copy(io.Discard, client)
				return
			}
			server, err := net.Dial(p.network, p.target)
			if err != nil || !p.track(server) {
				client.Close()
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.pipe(client, server)
			}()
			p.pipe(server, client)
		}()
	}
}

// pipe copies from src to dst until src ends, dropping what it reads once stalled.
func (p *StallProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.stalled.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil && !p.stalled.Load() {
				src.Close()
				return
			}
		}
		if err != nil {
			if !p.stalled.Load() || errors.Is(err, net.ErrClosed) {
				dst.Close()
			}
			return
		}
	}
}
