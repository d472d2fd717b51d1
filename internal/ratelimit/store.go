package ratelimit

import (
	"context"
	"errors"
	"time"
)

// MaxBuckets is how many buckets one decision takes from at most: a route's
// and a client's limit, and those of the item rules a JSON-RPC batch's
// items fall under.
const MaxBuckets = 8

// Limit is a token bucket: PerSecond tokens are added each second, up to
// Burst.
type Limit struct {
	PerSecond float64
	Burst     int
}

// Bucket is one bucket of a decision: its key and its limit (a changed
// limit applies to the bucket already held under the key).
type Bucket struct {
	Key   string
	Limit Limit
	// Cost is the tokens taken from this bucket; 0 means the batch's.
	Cost int
}

// Batch is the buckets one decision takes from, all or none. It is an
// array, passed by value, so that a decision allocates nothing for it.
type Batch struct {
	Buckets [MaxBuckets]Bucket
	N       int
	// Cost is the tokens taken from each bucket that names none; 0
	// means 1.
	Cost int
}

// Add appends a bucket; it reports false when the batch is full.
func (b *Batch) Add(key string, l Limit) bool {
	if b.N == MaxBuckets {
		return false
	}
	b.Buckets[b.N] = Bucket{Key: key, Limit: l}
	b.N++
	return true
}

// AddCost appends a bucket that takes cost tokens (0: the batch's Cost);
// it reports false when the batch is full.
func (b *Batch) AddCost(key string, l Limit, cost int) bool {
	if !b.Add(key, l) {
		return false
	}
	b.Buckets[b.N-1].Cost = cost
	return true
}

// CostOf is the tokens taken from bucket i.
func (b *Batch) CostOf(i int) int {
	if c := b.Buckets[i].Cost; c > 0 {
		return c
	}
	return max(b.Cost, 1)
}

// Result is a store's answer about a Batch.
type Result struct {
	// Allowed: every bucket held Cost tokens (and, taking, gave them).
	Allowed bool
	// Refused is the index of the first bucket that could not serve.
	Refused int
	// RetryAfter is, refused, how long until that bucket could serve;
	// Never when it never can (Cost above its burst).
	RetryAfter time.Duration
	// Tokens are what each bucket held before the decision.
	Tokens [MaxBuckets]float64
}

// Never is a RetryAfter of a bucket that can never serve the cost.
const Never = time.Duration(1<<63 - 1)

// Store holds token buckets.
type Store interface {
	// Take takes Cost tokens from every bucket of b, or from none when
	// one of them holds fewer.
	Take(ctx context.Context, b Batch, now time.Time) (Result, error)
	// Peek answers as Take would, taking nothing and creating no bucket.
	Peek(ctx context.Context, b Batch, now time.Time) (Result, error)
	// Kind names the store for explain and the admin API: KindLocal or
	// KindRedis.
	Kind() string
}

// Kinds of store.
const (
	// KindLocal: buckets in the replica's memory.
	KindLocal = "local"
	// KindRedis: buckets in Redis, shared by every replica.
	KindRedis = "redis"
)

// ErrUnavailable is wrapped by the errors of a store that cannot answer
// (Redis unreachable, timed out, or backing off after a failure).
var ErrUnavailable = errors.New("rate-limit store unavailable")

// Interval is the time one token takes to come back under l.
func (l Limit) Interval() time.Duration {
	return time.Duration(float64(time.Second) / l.PerSecond)
}
