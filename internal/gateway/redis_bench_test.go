package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/ratelimit/redistest"
)

// BenchmarkGatewayLimitStores compares, in one run, a bare
// httputil.ReverseProxy with the gateway taking its two rate-limit buckets
// from the local store and from a real redis-server on loopback (one
// round trip per request). "compare" interleaves the three and reports the
// throughput ratios to the proxy and the time Redis adds per request.
func BenchmarkGatewayLimitStores(b *testing.B) {
	f := newBenchFixture(b)
	srv := redistest.Start(b)
	store, err := ratelimit.NewRedis(ratelimit.RedisOptions{URL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	plain, local, shared := f.plain, f.gateway(b, Options{}), f.gateway(b, Options{RateLimitStore: store})
	one := func(b *testing.B, h http.Handler) { f.one(b, h, h != plain) }
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"store=none/proxy=plain", plain}, {"store=local", local}, {"store=redis", shared}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				one(b, c.h)
			}
		})
	}
	b.Run("compare", func(b *testing.B) {
		var plainT, localT, redisT time.Duration
		for b.Loop() {
			t0 := time.Now()
			one(b, plain)
			t1 := time.Now()
			one(b, local)
			t2 := time.Now()
			one(b, shared)
			redisT += time.Since(t2)
			localT += t2.Sub(t1)
			plainT += t1.Sub(t0)
		}
		n := float64(b.N)
		b.ReportMetric(float64(plainT)/float64(localT), "local/plain-throughput")
		b.ReportMetric(float64(plainT)/float64(redisT), "redis/plain-throughput")
		b.ReportMetric(float64(redisT-localT)/n/1e3, "redis-added-µs/req")
	})
}
