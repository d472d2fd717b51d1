package ratelimit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/ratelimit/redistest"
)

// TestCountersOnRedis: two stores (two replicas) on one redis-server read
// and add to the same counters; Add sets each key's expiry and the key
// goes when it passes.
func TestCountersOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	one := newStore(t, ratelimit.RedisOptions{URL: srv.URL()})
	two := newStore(t, ratelimit.RedisOptions{URL: srv.URL()})
	ctx := context.Background()

	got, err := one.Counts(ctx, []string{"q:a", "q:b"})
	if err != nil || len(got) != 2 || got[0] != 0 || got[1] != 0 {
		t.Fatalf("counters not held: %v %v, want 0 0", got, err)
	}
	if err := one.Add(ctx, []ratelimit.Counter{{Key: "q:a", TTL: time.Hour}, {Key: "q:b", TTL: time.Minute}}, 15); err != nil {
		t.Fatal(err)
	}
	if err := two.Add(ctx, []ratelimit.Counter{{Key: "q:a", TTL: time.Hour}}, 7); err != nil {
		t.Fatal(err)
	}
	if got, err = two.Counts(ctx, []string{"q:a", "q:b", "q:c"}); err != nil || got[0] != 22 || got[1] != 15 || got[2] != 0 {
		t.Fatalf("counts %v %v, want 22 15 0", got, err)
	}

	rc := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { rc.Close() })
	for key, want := range map[string]time.Duration{"scopegate:ratelimit:q:a": time.Hour, "scopegate:ratelimit:q:b": time.Minute} {
		ttl, err := rc.PTTL(ctx, key).Result()
		if err != nil || ttl <= want-10*time.Second || ttl > want {
			t.Errorf("%s expires in %v (%v), want about %v", key, ttl, err, want)
		}
	}

	// A counter whose TTL passed is gone, and reads 0.
	if err := one.Add(ctx, []ratelimit.Counter{{Key: "q:short", TTL: 50 * time.Millisecond}}, 3); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, err := rc.Exists(ctx, "scopegate:ratelimit:q:short").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the counter did not expire within 30s of its 50ms TTL")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, err := one.Counts(ctx, []string{"q:short"}); err != nil || got[0] != 0 {
		t.Fatalf("an expired counter reads %v %v, want 0", got, err)
	}
}

// TestCountersWhenRedisIsDown: reads and adds fail promptly with
// ErrUnavailable and are counted by operation; after the backoff, a
// restarted Redis answers again.
func TestCountersWhenRedisIsDown(t *testing.T) {
	srv := redistest.Start(t)
	reg := prometheus.NewRegistry()
	s := newStore(t, ratelimit.RedisOptions{URL: srv.URL(), Metrics: reg, Backoff: 50 * time.Millisecond, Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	if err := s.Add(ctx, []ratelimit.Counter{{Key: "q", TTL: time.Minute}}, 1); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := s.Counts(ctx, []string{"q"}); !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("count with Redis down: %v, want ErrUnavailable", err)
	}
	time.Sleep(60 * time.Millisecond) // past the backoff: the add reaches for Redis
	if err := s.Add(ctx, []ratelimit.Counter{{Key: "q", TTL: time.Minute}}, 1); !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("add with Redis down: %v, want ErrUnavailable", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	failures := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "scopegate_ratelimit_redis_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			failures[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if failures["count"] != 1 || failures["add"] != 1 {
		t.Errorf("failures by op %v, want count 1 and add 1", failures)
	}

	srv.Restart()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := s.Counts(ctx, []string{"q"})
		if err == nil {
			if got[0] != 0 {
				t.Fatalf("a restarted (empty) Redis counts %d", got[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis restarted, counts still fail: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
