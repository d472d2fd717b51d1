package gateway

import (
	"math"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/scopegate/scopegate/internal/registry"
)

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
	} else if b.limit != l {
		b.lim.SetLimitAt(now, rate.Limit(l.RequestsPerSecond))
		b.lim.SetBurstAt(now, l.Burst)
		b.limit = l
	}
	b.lastUsed = now
	return b.lim
}

// peek is how many requests the bucket for key could serve at now, without
// taking any or creating the bucket: a bucket not held is full.
func (s *limiterStore) peek(key string, l registry.RateLimit, now time.Time) float64 {
	s.mu.Lock()
	b, ok := s.buckets[key]
	s.mu.Unlock()
	if !ok {
		return float64(l.Burst)
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

func (s *limiterStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buckets)
}

// retryIn is how long a refused request should wait: the reservation's
// delay, or one token's refill time when the bucket can never serve it.
func retryIn(l registry.RateLimit, delay time.Duration) time.Duration {
	if delay == time.Duration(math.MaxInt64) && l.RequestsPerSecond > 0 {
		return time.Duration(float64(time.Second) / l.RequestsPerSecond)
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
