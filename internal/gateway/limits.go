package gateway

import (
	"math"
	"net/netip"
	"time"

	"golang.org/x/time/rate"

	"github.com/scopegate/scopegate/internal/registry"
)

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

// limitVerdict is the outcome of the rate-limit checks, with what the
// RateLimit-* headers report: the most constrained bucket.
type limitVerdict struct {
	allowed    bool
	limit      int
	remaining  int
	retryAfter time.Duration // time until the next request could pass
	known      bool          // some bucket applied
}

// takeFrom takes one token from every bucket, or from none: when one bucket
// refuses, the reservations already made are cancelled.
func takeFrom(buckets []bucketRef, now time.Time) limitVerdict {
	v := limitVerdict{allowed: true, remaining: math.MaxInt}
	var buf [3]*rate.Reservation
	reservations := buf[:0]
	for _, b := range buckets {
		lim := b.store.get(b.key, b.limit, now)
		r := lim.ReserveN(now, b.count())
		delay := time.Duration(math.MaxInt64)
		if r.OK() {
			delay = r.DelayFrom(now)
		}
		if !r.OK() || delay > 0 {
			r.CancelAt(now)
			for _, done := range reservations {
				done.CancelAt(now)
			}
			return limitVerdict{allowed: false, limit: b.limit.Burst, retryAfter: retryIn(b.limit, delay), known: true}
		}
		reservations = append(reservations, r)
		v.note(b.limit, lim.TokensAt(now))
	}
	return v
}

// peekAt answers as takeFrom would, taking nothing and creating no bucket
// (a bucket not held is full).
func peekAt(buckets []bucketRef, now time.Time) limitVerdict {
	v := limitVerdict{allowed: true, remaining: math.MaxInt}
	for _, b := range buckets {
		tokens, n := b.store.peek(b.key, b.limit, now), float64(b.count())
		if tokens < n {
			delay := time.Duration((n - tokens) / b.limit.RequestsPerSecond * float64(time.Second))
			if n > float64(b.limit.Burst) {
				delay = time.Duration(math.MaxInt64) // the bucket never holds that many
			}
			return limitVerdict{allowed: false, limit: b.limit.Burst, retryAfter: retryIn(b.limit, delay), known: true}
		}
		v.note(b.limit, tokens-n)
	}
	return v
}

// note records a bucket that passed with left tokens, if it is the most
// constrained so far.
func (v *limitVerdict) note(l registry.RateLimit, left float64) {
	rem := int(left)
	if rem < v.remaining {
		v.remaining, v.limit, v.known = max(rem, 0), l.Burst, true
		// Reset: time until this bucket is full again.
		v.retryAfter = time.Duration(float64(l.Burst-rem) / l.RequestsPerSecond * float64(time.Second))
	}
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
