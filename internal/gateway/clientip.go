package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// peerAddr is the address of the TCP peer of r.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// trusted reports whether a is one of the trusted proxies.
func (g *Gateway) trusted(a netip.Addr) bool {
	for _, p := range g.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddr is the address anonymous requests are rate limited by: the TCP
// peer, unless the peer is a trusted proxy, in which case X-Forwarded-For is
// walked from the right (the entries the trusted proxies appended) to the
// first address that is not itself a trusted proxy. Entries left of that are
// set by the client and never believed.
func (g *Gateway) clientAddr(r *http.Request) string {
	peer, ok := peerAddr(r)
	if !ok {
		return r.RemoteAddr
	}
	if !g.trusted(peer) {
		return peer.String()
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			// A garbled hop: the chain cannot be followed further.
			break
		}
		a = a.Unmap()
		if !g.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

// forwardedFor lists the X-Forwarded-For entries, leftmost first, across
// repeated header lines.
func forwardedFor(h http.Header) []string {
	var out []string
	for _, line := range h.Values("X-Forwarded-For") {
		for _, p := range strings.Split(line, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
