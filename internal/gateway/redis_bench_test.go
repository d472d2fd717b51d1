package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/ratelimit/redistest"
	"github.com/scopegate/scopegate/internal/registry"
)

// BenchmarkGatewayLimitStores compares, in one run, a bare
// httputil.ReverseProxy with the gateway taking its two rate-limit buckets
// from the local store and from a real redis-server on loopback (one
// round trip per request). "compare" interleaves the three and reports the
// throughput ratios to the proxy and the time Redis adds per request.
func BenchmarkGatewayLimitStores(b *testing.B) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer be.Close()
	target, _ := url.Parse(be.URL)
	plain := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport: NewTransport(),
	}

	reg := registry.New()
	reg.Upsert(&registry.Client{ID: "team-a.github", Scopes: []string{"mcp:github:read"},
		RateLimit: &registry.RateLimit{RequestsPerSecond: 1e9, Burst: 1e9}})
	ts, _ := realTokenServer(b, reg, time.Now)
	srv := redistest.Start(b)
	store, err := ratelimit.NewRedis(ratelimit.RedisOptions{URL: srv.URL()})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	gateway := func(s ratelimit.Store) *Gateway {
		gw, err := New(Options{Verifier: ts, Registry: reg, Issuer: testIssuer, GatewayURL: testGatewayURL, RateLimitStore: s})
		if err != nil {
			b.Fatal(err)
		}
		gw.Table().Set(&Route{Key: "team-a/github", PathPrefix: "/mcp/github", Protocol: ProtocolMCP,
			Endpoints: []*url.URL{{Scheme: target.Scheme, Host: target.Host}}, BackendPath: "/mcp",
			RequiredScopes: []string{"mcp:github:read"}, RateLimit: &registry.RateLimit{RequestsPerSecond: 1e9, Burst: 1e9}})
		return gw
	}
	local, shared := gateway(nil), gateway(store)
	issued, err := ts.Issue(context.Background(), accesstoken.IssueRequest{ClientID: "team-a.github", Scopes: []string{"mcp:github:read"}, Audiences: []string{"mcp"}})
	if err != nil {
		b.Fatal(err)
	}
	one := func(b *testing.B, h http.Handler) {
		r := httptest.NewRequest("POST", "http://gw.example/mcp/github/tools/list", nil)
		r.RemoteAddr = "192.0.2.10:40000"
		r.Header.Set("Authorization", "Bearer "+issued.Raw)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || w.Header().Get("RateLimit-Limit") == "" && h != http.Handler(plain) {
			b.Fatalf("status %d, RateLimit-Limit %q: %s", w.Code, w.Header().Get("RateLimit-Limit"), w.Body)
		}
	}
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
