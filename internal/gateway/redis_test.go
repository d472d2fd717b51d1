package gateway

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/ratelimit/redistest"
	"github.com/scopegate/scopegate/internal/registry"
)

// redisFixture is a gateway whose buckets are in a real redis-server, on
// the fixture's fake clock.
func redisFixture(t *testing.T, srv *redistest.Server, mode string) *fixture {
	t.Helper()
	return newFixture(t, func(o *Options) {
		store, err := ratelimit.NewRedis(ratelimit.RedisOptions{URL: srv.URL(), CallerClock: true, Backoff: -1, Timeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		o.RateLimitStore, o.RateLimitFailureMode = store, mode
	})
}

// limitedRoute serves /mcp/github with limit l per client.
func limitedRoute(t *testing.T, f *fixture, l registry.RateLimit) string {
	t.Helper()
	be := echoBackend(t, "b")
	rt := githubRoute(t, be.URL)
	rt.RequiredScopes = nil
	rt.RateLimit = &l
	f.gw.Table().Set(rt)
	return f.token(t, "team-a.github", []string{"mcp"}, []string{"mcp"})
}

func TestRedisRouteRateLimitAnswersAsTheLocalOne(t *testing.T) {
	srv := redistest.Start(t)
	f := redisFixture(t, srv, "")
	a := limitedRoute(t, f, registry.RateLimit{RequestsPerSecond: 0.5, Burst: 2})
	b := f.token(t, "team-a.other", []string{"mcp"}, []string{"mcp"})

	wantRouteLimitPerClient(t, f, a, b)

	// Explain peeks at the same buckets and names the store.
	x, err := f.gw.Explain(context.Background(), ExplainRequest{Method: "GET", Path: "/mcp/github", Token: a})
	if err != nil {
		t.Fatal(err)
	}
	last := x.Checks[len(x.Checks)-1]
	if x.Reason != ReasonRateLimited || !strings.Contains(last.Detail, "0 of 2 requests left") || !strings.Contains(last.Detail, "store: redis") {
		t.Errorf("explain: reason %s, last check %+v; want rate_limited, 0 of 2 left, store redis", x.Reason, last)
	}
	// Explaining took nothing: still limited for the same 2s.
	wantLimited(t, f.do(t, "GET", "/mcp/github", a, nil), "2", "2")
}

func TestRedisLimitsHoldAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	f := redisFixture(t, srv, "")
	tok := limitedRoute(t, f, registry.RateLimit{RequestsPerSecond: 0.001, Burst: 4})
	// A second replica: its own gateway and store, the same Redis.
	one := f.gw
	g := redisFixture(t, srv, "")
	two, err := New(Options{Verifier: f.ver, Registry: f.reg, Issuer: testIssuer, GatewayURL: testGatewayURL,
		Table: one.Table(), Now: f.clock.Now, RateLimitStore: g.gw.shared})
	if err != nil {
		t.Fatal(err)
	}
	passed := 0
	for i := range 10 {
		f.gw = []*Gateway{one, two}[i%2]
		res := f.do(t, "GET", "/mcp/github", tok, nil)
		res.Body.Close()
		if res.StatusCode == 200 {
			passed++
		}
	}
	if passed != 4 {
		t.Errorf("%d requests passed across two replicas, want 4 (the burst)", passed)
	}
}

func TestRedisOutageByFailureMode(t *testing.T) {
	srv := redistest.Start(t)
	open := redisFixture(t, srv, RateLimitFailOpen)
	closed := redisFixture(t, srv, RateLimitFailClosed)
	l := registry.RateLimit{RequestsPerSecond: 0.001, Burst: 1}
	tokOpen, tokClosed := limitedRoute(t, open, l), limitedRoute(t, closed, l)
	wantStatus(t, open.do(t, "GET", "/mcp/github", tokOpen, nil), 200)
	wantLimited(t, open.do(t, "GET", "/mcp/github", tokOpen, nil), "1000", "1")

	srv.Stop()
	unchecked := func() float64 { return testutil.ToFloat64(open.gw.limitMetrics.unchecked.WithLabelValues("redis")) }
	before := unchecked()
	start := time.Now()
	wantStatus(t, open.do(t, "GET", "/mcp/github", tokOpen, nil), 200)
	wantStatus(t, open.do(t, "GET", "/mcp/github", tokOpen, nil), 200)
	if got := unchecked() - before; got != 2 {
		t.Errorf("unchecked requests %v, want 2", got)
	}
	res := closed.do(t, "GET", "/mcp/github", tokClosed, nil)
	if res.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1", res.Header.Get("Retry-After"))
	}
	wantStatus(t, res, 503)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("three requests with Redis down took %v: the timeout should bound each", d)
	}

	// Redis back (empty): limits hold again at once, in the bucket both
	// gateways share (the same route and client).
	srv.Restart()
	wantStatus(t, closed.do(t, "GET", "/mcp/github", tokClosed, nil), 200)
	wantLimited(t, closed.do(t, "GET", "/mcp/github", tokClosed, nil), "1000", "1")
	wantLimited(t, open.do(t, "GET", "/mcp/github", tokOpen, nil), "1000", "1")
}

// TestRedisAndLocalStoresAgree runs one random sequence of decisions on
// both stores, on the same fake clock: every answer is the same.
func TestRedisAndLocalStoresAgree(t *testing.T) {
	srv := redistest.Start(t)
	redisStore, err := ratelimit.NewRedis(ratelimit.RedisOptions{URL: srv.URL(), CallerClock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer redisStore.Close()
	local := newLimiterStore(1000)
	rng := rand.New(rand.NewPCG(1, 2))
	limits := []ratelimit.Limit{{PerSecond: 2, Burst: 5}, {PerSecond: 0.5, Burst: 1}, {PerSecond: 10, Burst: 3}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 400 {
		now = now.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
		var b ratelimit.Batch
		for k := range 1 + rng.IntN(2) {
			j := rng.IntN(len(limits))
			b.Add(string(rune('a'+j))+string(rune('0'+k)), limits[j])
		}
		peek := rng.IntN(4) == 0
		var lr, rr ratelimit.Result
		var lerr, rerr error
		if peek {
			lr, lerr = local.Peek(context.Background(), b, now)
			rr, rerr = redisStore.Peek(context.Background(), b, now)
		} else {
			lr, lerr = local.Take(context.Background(), b, now)
			rr, rerr = redisStore.Take(context.Background(), b, now)
		}
		if lerr != nil || rerr != nil {
			t.Fatal(lerr, rerr)
		}
		lv, rv := verdictOf(&b, lr), verdictOf(&b, rr)
		// Redis keeps microseconds and thousandths of a token.
		if lv.allowed != rv.allowed || lv.limit != rv.limit || lv.remaining != rv.remaining ||
			seconds(lv.retryAfter) != seconds(rv.retryAfter) && (lv.retryAfter-rv.retryAfter).Abs() > time.Millisecond {
			t.Fatalf("decision %d (peek %v, %+v): local %+v, redis %+v", i, peek, b.Buckets[:b.N], lv, rv)
		}
	}
}
