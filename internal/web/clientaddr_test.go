package web_test

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/outreach-engine/outreach/internal/dbtest"
	"github.com/outreach-engine/outreach/internal/web"
	"github.com/outreach-engine/outreach/staff"
)

// TestClientAddr: the address counted is the host without its port, IPv6 as IPv4 (before, an
// IPv6 client kept its port in the key: a new port, a new count); a forwarding header is read
// only from a configured proxy.
func TestClientAddr(t *testing.T) {
	trusted, err := web.ParseProxies("10.0.0.0/8, fd00::/8,192.0.2.254")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, remote, xff string
		proxies           web.Proxies
		want              string
	}{
		{"IPv4", "192.0.2.1:5000", "", web.Proxies{}, "192.0.2.1"},
		{"IPv6", "[2001:db8::1]:5000", "", web.Proxies{}, "2001:db8::1"},
		{"IPv6 another port", "[2001:db8::1]:61000", "", web.Proxies{}, "2001:db8::1"},
		{"IPv4 in IPv6", "[::ffff:192.0.2.1]:5000", "", web.Proxies{}, "192.0.2.1"},
		{"IPv6 zone", "[fe80::1%eth0]:5000", "", web.Proxies{}, "fe80::1"},
		{"header without proxies configured", "192.0.2.1:5000", "203.0.113.5", web.Proxies{}, "192.0.2.1"},
		{"header from a peer that is no proxy", "192.0.2.1:5000", "203.0.113.5", web.Proxies{Trusted: trusted}, "192.0.2.1"},
		{"header from a trusted proxy", "10.1.2.3:5000", "203.0.113.5", web.Proxies{Trusted: trusted}, "203.0.113.5"},
		{"IPv6 client through an IPv6 proxy", "[fd00::2]:443", "2001:db8::7", web.Proxies{Trusted: trusted}, "2001:db8::7"},
		{"forged first hop", "10.1.2.3:5000", "6.6.6.6, 203.0.113.5", web.Proxies{Trusted: trusted}, "203.0.113.5"},
		{"chain of proxies", "10.1.2.3:5000", "203.0.113.5, 192.0.2.254", web.Proxies{Trusted: trusted}, "203.0.113.5"},
		{"garbled header", "10.1.2.3:5000", "not an address", web.Proxies{Trusted: trusted}, "10.1.2.3"},
		{"another header", "10.1.2.3:5000", "", web.Proxies{Trusted: trusted, Header: "X-Real-Ip"}, "198.51.100.4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/login", nil)
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			r.Header.Set("X-Real-Ip", "198.51.100.4")
			if got := tt.proxies.ClientAddr(r); got != tt.want {
				t.Errorf("ClientAddr = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := web.ParseProxies("10.0.0.0/8,proxy.example"); err == nil {
		t.Error("a host name was taken as a proxy")
	}
	if p, _ := web.ParseProxies("::ffff:10.0.0.1"); len(p) != 1 || !p[0].Contains(netip.MustParseAddr("10.0.0.1")) {
		t.Errorf("a mapped address: %v", p)
	}
}

// TestIPv6PortsShareOneCount: logins from one IPv6 client on different ports count on one
// address key.
func TestIPv6PortsShareOneCount(t *testing.T) {
	now := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	d, _ := dbtest.Fresh(t)
	for _, q := range []string{
		`INSERT INTO practices (id, timezone, created_at, updated_at) VALUES (1, 'UTC', $1, $1) ON CONFLICT DO NOTHING`,
		`INSERT INTO staff (practice_id, ext_id, role, created_at, updated_at) VALUES (1, 'RN1', 'clinical', $1, $1)`,
	} {
		if _, err := d.Exec(q, now); err != nil {
			t.Fatal(err)
		}
	}
	a := &web.Accounts{Sessions: &staff.Sessions{DB: d, Practice: 1, Clock: func() time.Time { return now }}}
	for _, port := range []string{"1111", "2222", "3333"} {
		r := httptest.NewRequest("POST", "/login", nil)
		r.RemoteAddr = "[2001:db8::1]:" + port
		a.Login(context.Background(), "RN1", "wrong", a.ClientAddr(r))
	}
	var keys []string
	if err := d.Select(&keys, `SELECT key || '=' || failures FROM login_failures WHERE key LIKE 'addr:%'`); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "addr:2001:db8::1=3" {
		t.Errorf("address counts %v, want [addr:2001:db8::1=3]", keys)
	}
}
