package gateway

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/scopegate/scopegate/internal/promreg"
	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/registry"
)

// clientStore holds the buckets of authenticated clients: the shared
// store, else this replica's.
func (g *Gateway) clientStore() ratelimit.Store {
	if g.shared != nil {
		return g.shared
	}
	return g.limiters
}

// sourceStore holds the buckets of source addresses: the shared store,
// else this replica's (apart from the clients', see Gateway.anonLimiters).
func (g *Gateway) sourceStore() ratelimit.Store {
	if g.shared != nil {
		return g.shared
	}
	return g.anonLimiters
}

// RateLimitStore describes where the rate-limit buckets are, for explain
// and the admin API.
func (g *Gateway) RateLimitStore() string {
	return g.storeDetail(g.clientStore())
}

// storeDetail describes store, with this replica's share of each limit
// when the buckets are its own.
func (g *Gateway) storeDetail(store ratelimit.Store) string {
	if store.Kind() != ratelimit.KindLocal {
		return "store: " + store.Kind() + ", shared by every replica (exact limits)"
	}
	if n := g.replicaCount(); n > 1 {
		return "store: local, this replica enforces 1/" + strconv.Itoa(n) + " of each limit (" + strconv.Itoa(n) + " replicas serving)"
	}
	return "store: local, this replica enforces each limit whole (no other replica counted)"
}

// limitMetrics count what the rate-limit store could not decide.
type limitMetrics struct {
	unchecked *prometheus.CounterVec
}

func newLimitMetrics(reg prometheus.Registerer) (*limitMetrics, error) {
	m := &limitMetrics{unchecked: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "scopegate_gateway_rate_limit_unchecked_total",
		Help: "Requests that passed without a rate-limit check because the rate-limit store did not answer (--rate-limit-failure-mode=open), by store.",
	}, []string{"store"})}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.unchecked, err = promreg.Register(reg, "gateway", m.unchecked); err != nil {
		return nil, err
	}
	return m, nil
}

// limiterStore holds token buckets by key, created on first use and evicted
// once idle long enough to have refilled completely: a full bucket behaves
// exactly like a fresh one, so eviction never changes a decision. A hard cap
// bounds memory even when many distinct keys (source addresses) arrive at
// once.
type limiterStore struct {
	mu        sync.Mutex
	buckets   map[string]*bucket
	max       int
	lastSweep time.Time
	sweepEach time.Duration
}

type bucket struct {
	lim      *rate.Limiter
	limit    registry.RateLimit
	lastUsed time.Time
}

// limiterStore is the local ratelimit.Store.
var _ ratelimit.Store = (*limiterStore)(nil)

func newLimiterStore(max int) *limiterStore {
	return &limiterStore{buckets: map[string]*bucket{}, max: max, sweepEach: time.Minute}
}

// fillTime is how long an empty bucket of l takes to fill up.
func fillTime(l registry.RateLimit) time.Duration {
	if l.RequestsPerSecond <= 0 {
		return 0
	}
	return time.Duration(float64(l.Burst) / l.RequestsPerSecond * float64(time.Second))
}

// get returns the bucket for key, with limit l applied (a changed route or
// client limit takes effect on the existing bucket).
func (s *limiterStore) get(key string, l registry.RateLimit, now time.Time) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	lim, _ := s.getLocked(key, l, now)
	return lim
}

// getLocked is get with s.mu held; it also returns the time to decide at:
// now, or the latest time the bucket has seen when now is earlier.
// Requests read the clock before they reach the store, so concurrent ones
// arrive slightly out of order; a bucket whose clock went back would credit
// the interval since then a second time (rate.Limiter moves its clock to
// the earlier time) and let more through than its limit.
func (s *limiterStore) getLocked(key string, l registry.RateLimit, now time.Time) (*rate.Limiter, time.Time) {
	if now.Sub(s.lastSweep) >= s.sweepEach {
		s.sweep(now)
	}
	b, ok := s.buckets[key]
	if !ok {
		if len(s.buckets) >= s.max {
			s.sweep(now)
			s.shed()
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(l.RequestsPerSecond), l.Burst), limit: l}
		s.buckets[key] = b
	}
	if now.Before(b.lastUsed) {
		now = b.lastUsed
	}
	if b.limit != l {
		b.lim.SetLimitAt(now, rate.Limit(l.RequestsPerSecond))
		b.lim.SetBurstAt(now, l.Burst)
		b.limit = l
	}
	b.lastUsed = now
	return b.lim, now
}

// peek is how many requests the bucket for key could serve at now, without
// taking any or creating the bucket: a bucket not held is full.
func (s *limiterStore) peek(key string, l registry.RateLimit, now time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[key]
	if !ok {
		return float64(l.Burst)
	}
	if now.Before(b.lastUsed) {
		now = b.lastUsed
	}
	return b.lim.TokensAt(now)
}

// sweep drops buckets that have refilled; s.mu is held.
func (s *limiterStore) sweep(now time.Time) {
	s.lastSweep = now
	for k, b := range s.buckets {
		if now.Sub(b.lastUsed) >= fillTime(b.limit) {
			delete(s.buckets, k)
		}
	}
}

// shed drops arbitrary buckets until a tenth of the cap is free; s.mu is
// held. Only reached when more keys than the cap are active at once, when
// forgetting some state is better than growing without bound.
func (s *limiterStore) shed() {
	target := s.max - s.max/10 - 1
	for k := range s.buckets {
		if len(s.buckets) <= target {
			return
		}
		delete(s.buckets, k)
	}
}

// Kind is ratelimit.KindLocal.
func (s *limiterStore) Kind() string { return ratelimit.KindLocal }

// Take takes each bucket's cost from every bucket of b, or from none: when one
// bucket refuses, the reservations already made are cancelled. The store is
// locked throughout, so that no other decision moves a bucket's clock
// between reading it and taking from it.
func (s *limiterStore) Take(_ context.Context, b ratelimit.Batch, now time.Time) (ratelimit.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if res, ok := s.takeAllLocked(b, now); ok {
		return res, nil
	}
	res := ratelimit.Result{Allowed: true}
	var reservations [ratelimit.MaxBuckets]*rate.Reservation
	var at [ratelimit.MaxBuckets]time.Time
	for i, bk := range b.Buckets[:b.N] {
		n := b.CostOf(i)
		lim, t := s.getLocked(bk.Key, limitOf(bk.Limit), now)
		r := lim.ReserveN(t, n)
		delay := ratelimit.Never
		if r.OK() {
			delay = r.DelayFrom(t)
		}
		if !r.OK() || delay > 0 {
			r.CancelAt(t)
			for j, done := range reservations[:i] {
				done.CancelAt(at[j])
			}
			res.Allowed, res.Refused, res.RetryAfter = false, i, delay
			res.Tokens[i] = lim.TokensAt(t)
			return res, nil
		}
		reservations[i], at[i] = r, t
		res.Tokens[i] = lim.TokensAt(t) + float64(n)
	}
	return res, nil
}

// takeAllLocked takes each bucket's cost when every bucket holds it
// already, the common case: with the store locked no other decision can
// take in between, so checking all before taking any needs no reservation
// to cancel (a *rate.Reservation is an allocation per bucket). ok is false,
// with nothing taken, when a bucket is short or of a limit whose
// accounting differs (zero or infinite); Take then reserves as before,
// which also works out how long to wait.
func (s *limiterStore) takeAllLocked(b ratelimit.Batch, now time.Time) (res ratelimit.Result, ok bool) {
	var lims [ratelimit.MaxBuckets]*rate.Limiter
	var at [ratelimit.MaxBuckets]time.Time
	for i, bk := range b.Buckets[:b.N] {
		lim, t := s.getLocked(bk.Key, limitOf(bk.Limit), now)
		if l := lim.Limit(); l <= 0 || l == rate.Inf || lim.TokensAt(t) < float64(b.CostOf(i)) {
			return res, false
		}
		lims[i], at[i] = lim, t
	}
	res.Allowed = true
	for i, lim := range lims[:b.N] {
		n := b.CostOf(i)
		// Holds: the bucket had n tokens at at[i] and nothing took since.
		_ = lim.AllowN(at[i], n)
		res.Tokens[i] = lim.TokensAt(at[i]) + float64(n)
	}
	return res, true
}

// Peek answers as Take would, taking nothing and creating no bucket (a
// bucket not held is full).
func (s *limiterStore) Peek(_ context.Context, b ratelimit.Batch, now time.Time) (ratelimit.Result, error) {
	res := ratelimit.Result{Allowed: true}
	for i, bk := range b.Buckets[:b.N] {
		n := float64(b.CostOf(i))
		tokens := s.peek(bk.Key, limitOf(bk.Limit), now)
		res.Tokens[i] = tokens
		if res.Allowed && tokens < n {
			res.Allowed, res.Refused = false, i
			res.RetryAfter = ratelimit.Never
			if n <= float64(bk.Limit.Burst) {
				res.RetryAfter = time.Duration((n - tokens) / bk.Limit.PerSecond * float64(time.Second))
			}
		}
	}
	return res, nil
}

// limitOf is l as the route and client specs write it.
func limitOf(l ratelimit.Limit) registry.RateLimit {
	return registry.RateLimit{RequestsPerSecond: l.PerSecond, Burst: l.Burst}
}

func (s *limiterStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buckets)
}

// retryIn is how long a refused request should wait: the reservation's
// delay, or one token's refill time when the bucket can never serve it.
func retryIn(l ratelimit.Limit, delay time.Duration) time.Duration {
	if delay == ratelimit.Never && l.PerSecond > 0 {
		return time.Duration(float64(time.Second) / l.PerSecond)
	}
	return delay
}

// seconds rounds d up to whole seconds, at least 1 when d > 0, as
// Retry-After (RFC 9110 §10.2.3) and RateLimit-Reset take delta-seconds.
func seconds(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}
