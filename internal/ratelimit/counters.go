package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Counter is one fixed-window counter to add to: its key (which names the
// window, e.g. by its start) and how long it must be kept from now (the
// rest of its window and a margin for clock skew between replicas).
type Counter struct {
	Key string
	TTL time.Duration
}

// Counters are fixed-window counters shared by every replica: the LLM
// token quotas, read before a call and charged after it. A Store that can
// hold them (Redis) implements Counters too.
type Counters interface {
	// Counts reads the counters under keys, 0 for one not held, in one
	// round trip.
	Counts(ctx context.Context, keys []string) ([]int64, error)
	// Add adds n to every counter of cs, creating it, and sets it to
	// expire after its TTL, in one round trip.
	Add(ctx context.Context, cs []Counter, n int64) error
}

// The Redis store holds counters.
var _ Counters = (*Redis)(nil)

// Counts reads keys with one MGET. Its errors wrap ErrUnavailable.
func (r *Redis) Counts(ctx context.Context, keys []string) ([]int64, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	const op = "count"
	if err := r.available(op); err != nil {
		return nil, err
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = r.prefix + k
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	vals, err := r.client.MGet(ctx, full...).Result()
	out := make([]int64, len(keys))
	if err == nil && len(vals) != len(keys) {
		err = fmt.Errorf("MGET answered %d values, want %d", len(vals), len(keys))
	}
	for i := 0; err == nil && i < len(vals); i++ {
		switch v := vals[i].(type) {
		case nil:
		case string:
			out[i], err = strconv.ParseInt(v, 10, 64)
		default:
			err = fmt.Errorf("MGET answered a %T", v)
		}
	}
	return out, r.done(op, start, err)
}

// Add adds n to every counter with INCRBY and sets its expiry with
// PEXPIRE, in one MULTI/EXEC transaction (one round trip). Its errors wrap
// ErrUnavailable.
func (r *Redis) Add(ctx context.Context, cs []Counter, n int64) error {
	if len(cs) == 0 {
		return nil
	}
	const op = "add"
	if err := r.available(op); err != nil {
		return err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range cs {
			k := r.prefix + c.Key
			p.IncrBy(ctx, k, n)
			p.PExpire(ctx, k, max(c.TTL, time.Millisecond))
		}
		return nil
	})
	return r.done(op, start, err)
}

// available answers ErrUnavailable while the store backs off after a
// failure.
func (r *Redis) available(op string) error {
	if time.Now().UnixNano() < r.downUntil.Load() {
		return fmt.Errorf("%s rate-limit counters: %w (backing off after a failure)", op, ErrUnavailable)
	}
	return nil
}

// done records a call's time and, failed, counts it and starts the
// backoff.
func (r *Redis) done(op string, start time.Time, err error) error {
	r.metrics.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err == nil {
		return nil
	}
	r.metrics.failures.WithLabelValues(op).Inc()
	if r.backoff > 0 {
		r.downUntil.Store(time.Now().Add(r.backoff).UnixNano())
	}
	return fmt.Errorf("%s rate-limit counters in redis: %w: %w", op, ErrUnavailable, err)
}

// ShareOf is one replica's part of a count limit when n replicas serve:
// limit/n rounded down (at least 1), so that the n shares together stay
// within limit; n below 2 leaves limit whole.
func ShareOf(limit int64, n int) int64 {
	if n < 2 {
		return limit
	}
	return max(1, limit/int64(n))
}
