package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/ratelimit/redistest"
)

// BenchmarkRedisTake is one decision on two buckets against a real
// redis-server on loopback, beside a bare PING on the same connection pool
// settings: what the script costs above the round trip.
func BenchmarkRedisTake(b *testing.B) {
	srv := redistest.Start(b)
	s, err := ratelimit.NewRedis(ratelimit.RedisOptions{URL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	l := ratelimit.Limit{PerSecond: 1e9, Burst: 1e9}
	var batch ratelimit.Batch
	batch.Add("route\x00team-a/github\x00team-a.github", l)
	batch.Add("client\x00team-a.github", l)
	b.Run("op=take", func(b *testing.B) {
		for b.Loop() {
			if res, err := s.Take(context.Background(), batch, time.Now()); err != nil || !res.Allowed {
				b.Fatal(res, err)
			}
		}
	})
	rc := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	defer rc.Close()
	b.Run("op=ping", func(b *testing.B) {
		for b.Loop() {
			if err := rc.Ping(context.Background()).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
