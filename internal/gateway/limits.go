package gateway

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/scopegate/scopegate/internal/registry"
)

// limitClient applies the client's limit on this route and its overall limit
// (OAuthClient spec.rateLimit, from the registry). It answers 429 and returns
// false when either bucket is empty.
func (g *Gateway) limitClient(w http.ResponseWriter, rt *Route, clientID string, d *decision) bool {
	now := g.now()
	limits, n := g.clientLimits(rt, clientID)
	checks := make([]limitCheck, 0, 2)
	for _, cl := range limits[:n] {
		checks = append(checks, limitCheck{g.limiters.get(cl.key, cl.limit, now), cl.limit})
	}
	return g.applyLimits(w, checks, d, "client")
}

// clientLimit is one bucket an authenticated request takes from.
type clientLimit struct {
	what, key string
	limit     registry.RateLimit
}

// clientLimits are the buckets of clientID's requests on rt: the route's
// limit per client, and the client's own (OAuthClient spec.rateLimit), in
// that order; n says how many apply.
func (g *Gateway) clientLimits(rt *Route, clientID string) (limits [2]clientLimit, n int) {
	if l, ok := normLimit(rt.RateLimit); ok {
		limits[n] = clientLimit{"route limit", "route\x00" + rt.Key + "\x00" + clientID, l}
		n++
	}
	if g.registry != nil {
		if c, found := g.registry.Get(clientID); found {
			if l, ok := normLimit(c.RateLimit); ok {
				limits[n] = clientLimit{"client limit", "client\x00" + clientID, l}
				n++
			}
		}
	}
	return limits, n
}

// limitAnonymous applies the route's limit per source address to a request
// without a token.
func (g *Gateway) limitAnonymous(w http.ResponseWriter, r *http.Request, rt *Route, d *decision) bool {
	l, ok := normLimit(rt.RateLimit)
	if !ok {
		return true
	}
	now := g.now()
	key := "addr\x00" + rt.Key + "\x00" + sourceKey(g.clientAddr(r))
	return g.applyLimits(w, []limitCheck{{g.anonLimiters.get(key, l, now), l}}, d, "source address")
}

// sourceKey is the rate-limit key of a source address: an IPv4 address
// itself, an IPv6 address its /64, the smallest block a single subscriber
// is assigned (RFC 6177 §2 — any host holds a whole /64 to pick addresses
// from, so keying by address would give it 2^64 buckets).
func sourceKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is6() || a.Is4In6() {
		return addr
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// applyLimits takes a token from every bucket. Allowed responses carry the
// RateLimit-* fields of the most constrained bucket; refusals are 429 with
// Retry-After (RFC 6585 §4, RFC 9110 §10.2.3) and the RateLimit-* fields
// (draft-ietf-httpapi-ratelimit-headers: limit = bucket size, remaining,
// reset = seconds until the next request can pass).
func (g *Gateway) applyLimits(w http.ResponseWriter, checks []limitCheck, d *decision, who string) bool {
	if len(checks) == 0 {
		return true
	}
	v := allow(checks, g.now())
	h := w.Header()
	if v.allowed {
		if v.known {
			h.Set("RateLimit-Limit", strconv.Itoa(v.limit))
			h.Set("RateLimit-Remaining", strconv.Itoa(v.remaining))
			h.Set("RateLimit-Reset", seconds(v.retryAfter))
		}
		return true
	}
	retry := seconds(v.retryAfter)
	g.deny(w, d, &gatewayError{
		Status:      http.StatusTooManyRequests,
		Code:        "rate_limited",
		Description: "rate limit exceeded for this " + who,
		Reason:      "rate_limited",
		Headers: http.Header{
			"Retry-After":         {retry},
			"Ratelimit-Limit":     {strconv.Itoa(v.limit)},
			"Ratelimit-Remaining": {"0"},
			"Ratelimit-Reset":     {retry},
		},
	})
	return false
}

// normLimit validates a limit and fills in a missing burst (the rate,
// rounded up, at least 1).
func normLimit(l *registry.RateLimit) (registry.RateLimit, bool) {
	if l == nil || l.RequestsPerSecond <= 0 {
		return registry.RateLimit{}, false
	}
	out := *l
	if out.Burst < 1 {
		out.Burst = max(1, int(math.Ceil(out.RequestsPerSecond)))
	}
	return out, true
}
