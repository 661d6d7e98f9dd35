package web

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies says which reverse proxies are trusted to name the client. A request whose peer is
// not one of them is keyed by its peer's address, whatever its headers say; a client can write
// any X-Forwarded-For it likes.
type Proxies struct {
	Trusted []netip.Prefix // the proxies' addresses; empty: no header is read
	Header  string         // the header they write the client's address into; empty: X-Forwarded-For
}

// ParseProxies reads a comma-separated list of addresses and CIDR ranges ("10.0.0.0/8,
// 192.0.2.7, fd00::/8").
func ParseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or a CIDR range like 10.0.0.0/8", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (p Proxies) trusts(a netip.Addr) bool {
	for _, t := range p.Trusted {
		if t.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address of the request's client without its port ("192.0.2.1",
// "2001:db8::1"). The header of Proxies is read only when the request comes from a trusted
// proxy; its addresses are walked from the right (the ones the trusted proxies appended) past
// the trusted proxies, and the first other one is the client.
func (p Proxies) ClientAddr(r *http.Request) string {
	peer, ok := hostAddr(r.RemoteAddr)
	if !ok {
		// Not an IP address (a Unix socket's peer, say): the server set it, and it is short.
		return r.RemoteAddr
	}
	if !p.trusts(peer) {
		return peer.String()
	}
	header := p.Header
	if header == "" {
		header = "X-Forwarded-For"
	}
	var hops []string
	for _, v := range r.Header.Values(header) {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := hostAddr(strings.TrimSpace(hops[i]))
		if !ok {
			break // a garbled entry: the last good hop is as far as the chain can be trusted
		}
		client = a
		if !p.trusts(a) {
			break
		}
	}
	return client.String()
}

// hostAddr reads an address with or without a port ("192.0.2.1:5000", "[2001:db8::1]:443",
// "2001:db8::1"), dropping the port and any zone and unmapping IPv4 in IPv6.
func hostAddr(s string) (netip.Addr, bool) {
	host := s
	if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
