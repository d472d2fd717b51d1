package tokenserver

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters is a table of token buckets by key (a client_id or a source
// address) with bounded memory: an idle bucket is full again after
// burst/rate, so it is dropped and recreated at no loss; when the table is
// still full, an arbitrary bucket is dropped.
type limiters struct {
	mu      sync.Mutex
	rate    rate.Limit
	burst   int
	max     int
	idle    time.Duration
	entries map[string]*limiterEntry
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(perSecond float64, burst, maxEntries int) *limiters {
	idle := time.Duration(float64(burst) / perSecond * float64(time.Second))
	return &limiters{rate: rate.Limit(perSecond), burst: burst, max: maxEntries, idle: idle, entries: map[string]*limiterEntry{}}
}

func (l *limiters) get(key string, now time.Time) *rate.Limiter {
	e, ok := l.entries[key]
	if !ok {
		if len(l.entries) >= l.max {
			l.evict(now)
		}
		e = &limiterEntry{lim: rate.NewLimiter(l.rate, l.burst)}
		l.entries[key] = e
	}
	e.seen = now
	return e.lim
}

func (l *limiters) evict(now time.Time) {
	for k, e := range l.entries {
		if now.Sub(e.seen) >= l.idle {
			delete(l.entries, k)
		}
	}
	for k := range l.entries {
		if len(l.entries) < l.max {
			break
		}
		delete(l.entries, k)
	}
}

// exhausted reports whether key has no token left, and if so when one will
// be available. It neither spends a token nor adds key to the table: a key
// never spent has a full bucket, and adding one for every request checked
// would let well-behaved traffic push spent buckets (lockouts) out of a full
// table.
func (l *limiters) exhausted(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key]
	if !ok || e.lim.TokensAt(now) >= 1 {
		return false, 0
	}
	lim := e.lim
	r := lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return true, d
}

// spend takes one token from key's bucket.
func (l *limiters) spend(key string, now time.Time) {
	l.mu.Lock()
	l.get(key, now).AllowN(now, 1)
	l.mu.Unlock()
}

// allow takes one token if there is one, else reports the wait.
func (l *limiters) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.get(key, now)
	if lim.AllowN(now, 1) {
		return true, 0
	}
	r := lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return false, d
}

func (l *limiters) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// retryAfter is a Retry-After value (RFC 9110 §10.2.3): whole seconds, at
// least 1.
func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
