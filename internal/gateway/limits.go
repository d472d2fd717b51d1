package gateway

import (
	"context"
	"math"
	"net/netip"
	"time"

	"github.com/scopegate/scopegate/internal/ratelimit"
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

// limitBatch is the buckets as their store takes them, and that store
// (every bucket of a set is in one). With a store of this replica's own,
// each limit is the replica's share of it (ratelimit.Share); a shared
// store enforces the limits whole.
func (g *Gateway) limitBatch(buckets []bucketRef) (ratelimit.Batch, ratelimit.Store) {
	var b ratelimit.Batch
	store := buckets[0].store
	n := 1
	if store.Kind() == ratelimit.KindLocal {
		n = g.replicaCount()
	}
	for _, r := range buckets {
		b.AddCost(r.key, ratelimit.Share(ratelimit.Limit{PerSecond: r.limit.RequestsPerSecond, Burst: r.limit.Burst}, n), r.count())
	}
	return b, store
}

// replicaCount is how many replicas share the local buckets' limits: the
// count Options.Replicas reports, 1 when it cannot tell.
func (g *Gateway) replicaCount() int {
	if g.replicas == nil {
		return 1
	}
	return max(g.replicas.Replicas(), 1)
}

// takeFrom takes one token from every bucket, or from none.
func (g *Gateway) takeFrom(ctx context.Context, buckets []bucketRef, now time.Time) (limitVerdict, ratelimit.Result, error) {
	b, store := g.limitBatch(buckets)
	res, err := store.Take(ctx, b, now)
	return verdictOf(&b, res), res, err
}

// peekAt answers as takeFrom would, taking nothing and creating no bucket
// (a bucket not held is full).
func (g *Gateway) peekAt(ctx context.Context, buckets []bucketRef, now time.Time) (limitVerdict, ratelimit.Result, error) {
	b, store := g.limitBatch(buckets)
	res, err := store.Peek(ctx, b, now)
	return verdictOf(&b, res), res, err
}

// verdictOf reads a store's answer: on a refusal the refusing bucket,
// else the most constrained one.
func verdictOf(b *ratelimit.Batch, res ratelimit.Result) limitVerdict {
	if !res.Allowed {
		l := b.Buckets[res.Refused].Limit
		return limitVerdict{allowed: false, limit: l.Burst, retryAfter: retryIn(l, res.RetryAfter), known: true}
	}
	v := limitVerdict{allowed: true, remaining: math.MaxInt}
	for i := range b.N {
		v.note(b.Buckets[i].Limit, res.Tokens[i]-float64(b.CostOf(i)))
	}
	return v
}

// note records a bucket that passed with left tokens, if it is the most
// constrained so far.
func (v *limitVerdict) note(l ratelimit.Limit, left float64) {
	rem := int(left)
	if rem < v.remaining {
		v.remaining, v.limit, v.known = max(rem, 0), l.Burst, true
		// Reset: time until this bucket is full again.
		v.retryAfter = time.Duration(float64(l.Burst-rem) / l.PerSecond * float64(time.Second))
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
