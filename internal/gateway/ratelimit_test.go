package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/registry"
)

func wantLimited(t *testing.T, res *http.Response, retry, limit string) {
	t.Helper()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", res.StatusCode)
	}
	want := map[string]string{"Retry-After": retry, "RateLimit-Limit": limit, "RateLimit-Remaining": "0", "RateLimit-Reset": retry}
	for k, v := range want {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s %q, want %q", k, got, v)
		}
	}
	if e := readError(t, res); e.Error != "rate_limited" {
		t.Errorf("error %q, want rate_limited", e.Error)
	}
}

func wantStatus(t *testing.T, res *http.Response, status int) {
	t.Helper()
	res.Body.Close()
	if res.StatusCode != status {
		t.Fatalf("status %d, want %d", res.StatusCode, status)
	}
}

func TestRouteRateLimitPerClient(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "b")
	rt := githubRoute(t, be.URL)
	rt.RequiredScopes = nil
	rt.RateLimit = &registry.RateLimit{RequestsPerSecond: 0.5, Burst: 2}
	f.gw.Table().Set(rt)
	a := f.token(t, "team-a.github", []string{"mcp"}, []string{"mcp"})
	b := f.token(t, "team-a.other", []string{"mcp"}, []string{"mcp"})

	wantRouteLimitPerClient(t, f, a, b)
}

// wantRouteLimitPerClient drives a route limited to 0.5/s with a burst of
// 2 for client token a: two requests pass (RateLimit-* on the first), the
// third is 429, client b has its own bucket, and the bucket refills one
// token every two seconds.
func wantRouteLimitPerClient(t *testing.T, f *fixture, a, b string) {
	t.Helper()
	res := f.do(t, "GET", "/mcp/github", a, nil)
	if res.Header.Get("RateLimit-Limit") != "2" || res.Header.Get("RateLimit-Remaining") != "1" || res.Header.Get("RateLimit-Reset") != "2" {
		t.Errorf("allowed response RateLimit-* %v, want limit 2, remaining 1, reset 2", res.Header)
	}
	wantStatus(t, res, 200)
	wantStatus(t, f.do(t, "GET", "/mcp/github", a, nil), 200)
	wantLimited(t, f.do(t, "GET", "/mcp/github", a, nil), "2", "2")
	// Another client has its own bucket.
	wantStatus(t, f.do(t, "GET", "/mcp/github", b, nil), 200)
	// The bucket refills: one token every two seconds.
	f.clock.Step(time.Second)
	wantLimited(t, f.do(t, "GET", "/mcp/github", a, nil), "1", "2")
	f.clock.Step(time.Second)
	wantStatus(t, f.do(t, "GET", "/mcp/github", a, nil), 200)
	wantLimited(t, f.do(t, "GET", "/mcp/github", a, nil), "2", "2")
}

func TestClientRateLimitAcrossRoutes(t *testing.T) {
	f := newFixture(t)
	c, _ := f.reg.Get("team-a.github")
	limited := *c
	limited.RateLimit = &registry.RateLimit{RequestsPerSecond: 1, Burst: 1}
	f.reg.Upsert(&limited)
	be := echoBackend(t, "b")
	f.gw.Table().Set(&Route{Key: "x/one", PathPrefix: "/one", Endpoints: []*url.URL{mustURL(t, be.URL)}, Audiences: []string{"mcp"},
		RateLimit: &registry.RateLimit{RequestsPerSecond: 0.001, Burst: 100}})
	f.gw.Table().Set(&Route{Key: "x/two", PathPrefix: "/two", Endpoints: []*url.URL{mustURL(t, be.URL)}, Audiences: []string{"mcp"}})
	tok := f.token(t, "team-a.github", []string{"mcp"}, []string{"mcp"})

	wantStatus(t, f.do(t, "GET", "/one", tok, nil), 200)
	wantLimited(t, f.do(t, "GET", "/two", tok, nil), "1", "1")
	wantLimited(t, f.do(t, "GET", "/one", tok, nil), "1", "1")
	f.clock.Step(time.Second)
	wantStatus(t, f.do(t, "GET", "/two", tok, nil), 200)

	// A refusal by the client bucket gives back the token taken from the
	// route bucket: after 100 refusals the route bucket is still full.
	for range 100 {
		f.do(t, "GET", "/one", tok, nil).Body.Close()
	}
	f.clock.Step(time.Second)
	res := f.do(t, "GET", "/one", tok, nil)
	if got := res.Header.Get("RateLimit-Remaining"); got != "0" {
		// The client bucket (burst 1) is the most constrained one.
		t.Errorf("RateLimit-Remaining %q, want 0 from the client bucket", got)
	}
	wantStatus(t, res, 200)
	if n := f.gw.limiters.get("route\x00x/one\x00team-a.github", registry.RateLimit{RequestsPerSecond: 0.001, Burst: 100}, f.clock.Now()).TokensAt(f.clock.Now()); n < 97.9 || n > 98.1 {
		t.Errorf("route bucket holds %v tokens, want 98: two requests passed, refusals refunded", n)
	}
}

func TestAnonymousRateLimitPerSourceAddress(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{mustPrefix(t, "10.0.0.0/8")} })
	be := echoBackend(t, "b")
	f.gw.Table().Set(&Route{Key: "x/pub", PathPrefix: "/pub", Endpoints: []*url.URL{mustURL(t, be.URL)}, AllowAnonymous: true,
		RateLimit: &registry.RateLimit{RequestsPerSecond: 1, Burst: 1}})
	from := func(peer, xff string) *http.Response {
		r := newRequest("GET", "/pub", "")
		r.RemoteAddr = peer
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		return serve(f.gw, r)
	}
	wantStatus(t, from("192.0.2.1:1000", ""), 200)
	wantLimited(t, from("192.0.2.1:1001", ""), "1", "1")
	// A spoofed X-Forwarded-For from an untrusted peer changes nothing.
	wantLimited(t, from("192.0.2.1:1002", "198.51.100.1"), "1", "1")
	wantStatus(t, from("192.0.2.2:1000", ""), 200)
	// Behind a trusted proxy, the forwarded address is the key.
	wantStatus(t, from("10.0.0.5:1000", "203.0.113.1"), 200)
	wantStatus(t, from("10.0.0.5:1000", "203.0.113.2"), 200)
	wantLimited(t, from("10.0.0.6:1000", "198.51.100.9, 203.0.113.1, 10.0.0.7"), "1", "1")
	f.clock.Step(time.Second)
	wantStatus(t, from("192.0.2.1:1003", ""), 200)
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	clock := newFakeClock()
	s := newLimiterStore(100)
	l := registry.RateLimit{RequestsPerSecond: 10, Burst: 10}
	for i := range 1000 {
		s.get(fmt.Sprintf("k%d", i), l, clock.Now())
	}
	if n := s.len(); n > 100 {
		t.Fatalf("%d buckets held, want at most the cap of 100", n)
	}
	// Idle buckets that have refilled are evicted on the next sweep.
	clock.Step(2 * time.Minute)
	s.get("fresh", l, clock.Now())
	if n := s.len(); n != 1 {
		t.Fatalf("%d buckets held after everything refilled, want 1", n)
	}
}

func TestLimiterKeepsBusyBuckets(t *testing.T) {
	clock := newFakeClock()
	s := newLimiterStore(100)
	slow := registry.RateLimit{RequestsPerSecond: 0.001, Burst: 1}
	s.get("slow", slow, clock.Now()).AllowN(clock.Now(), 1)
	clock.Step(2 * time.Minute)
	s.get("other", slow, clock.Now())
	if s.get("slow", slow, clock.Now()).AllowN(clock.Now(), 1) {
		t.Fatal("a bucket that had not refilled was evicted and its state lost")
	}
}

func TestAFloodOfSourceAddressesDoesNotResetClientLimits(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxRateLimitKeys = 50 })
	be := echoBackend(t, "b")
	f.gw.Table().Set(&Route{Key: "x/pub", PathPrefix: "/pub", Endpoints: []*url.URL{mustURL(t, be.URL)}, AllowAnonymous: true,
		Audiences: []string{"mcp"}, RateLimit: &registry.RateLimit{RequestsPerSecond: 0.001, Burst: 1}})
	tok := f.token(t, "team-a.github", []string{"mcp"}, []string{"mcp"})
	wantStatus(t, f.do(t, "GET", "/pub", tok, nil), 200)
	wantLimited(t, f.do(t, "GET", "/pub", tok, nil), "1000", "1")

	// Anonymous requests from many more addresses than the cap.
	for i := range 200 {
		r := newRequest("GET", "/pub", "")
		r.RemoteAddr = fmt.Sprintf("198.51.100.%d:1000", i)
		serve(f.gw, r).Body.Close()
	}
	if n := f.gw.anonLimiters.len(); n > 50 {
		t.Errorf("%d address buckets held, want at most the cap of 50", n)
	}
	// The client's bucket is still empty.
	wantLimited(t, f.do(t, "GET", "/pub", tok, nil), "1000", "1")
}

func TestIPv6SourcesShareABucketPerSlash64(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "b")
	f.gw.Table().Set(&Route{Key: "x/pub", PathPrefix: "/pub", Endpoints: []*url.URL{mustURL(t, be.URL)}, AllowAnonymous: true,
		RateLimit: &registry.RateLimit{RequestsPerSecond: 1, Burst: 1}})
	from := func(peer string) *http.Response {
		r := newRequest("GET", "/pub", "")
		r.RemoteAddr = peer
		return serve(f.gw, r)
	}
	wantStatus(t, from("[2001:db8:1:2::1]:1000"), 200)
	wantLimited(t, from("[2001:db8:1:2:ffff:ffff:ffff:fffe]:1000"), "1", "1")
	wantStatus(t, from("[2001:db8:1:3::1]:1000"), 200)
	// IPv4, mapped or not, is keyed by the address.
	wantStatus(t, from("192.0.2.7:1000"), 200)
	wantStatus(t, from("192.0.2.8:1000"), 200)
	wantLimited(t, from("[::ffff:192.0.2.8]:1000"), "1", "1")
}

// TestLimiterDoesNotRefillTwiceForALateRequest: concurrent requests read the
// clock before they reach the store, so a request may arrive with a time
// earlier than one the bucket already saw. Deciding it must not move the
// bucket's clock back, or the next request is credited the same interval a
// second time and the replica lets through more than its limit.
func TestLimiterDoesNotRefillTwiceForALateRequest(t *testing.T) {
	clock := newFakeClock()
	s := newLimiterStore(100)
	var b ratelimit.Batch
	b.Add("k", ratelimit.Limit{PerSecond: 10, Burst: 10})
	take := func(at time.Time) bool {
		res, err := s.Take(context.Background(), b, at)
		if err != nil {
			t.Fatal(err)
		}
		return res.Allowed
	}
	start := clock.Now()
	for i := range 10 {
		if !take(start) {
			t.Fatalf("request %d of the burst of 10 refused", i+1)
		}
	}
	later := start.Add(500 * time.Millisecond) // 5 tokens back
	allowed := 0
	for range 5 {
		if take(later) {
			allowed++
		}
	}
	// A late request, its clock read before the ones above.
	if take(start.Add(100 * time.Millisecond)) {
		allowed++
	}
	for range 10 {
		if take(later) {
			allowed++
		}
	}
	if allowed != 5 {
		t.Errorf("%d requests allowed 500ms after an emptied bucket of 10/s, want 5: a late request's older clock refilled the bucket again", allowed)
	}
}

// TestLocalTakeIsAllOrNoneAndFreeWhenAllowed: the local store takes from
// every bucket of a batch or from none, with the same figures whether the
// buckets all hold the cost (no reservation made) or one is short (the
// reservations made are cancelled); an allowed take allocates nothing.
func TestLocalTakeIsAllOrNoneAndFreeWhenAllowed(t *testing.T) {
	s := newLimiterStore(100)
	t0 := newFakeClock().Now()
	var both, wide ratelimit.Batch
	both.Add("wide", ratelimit.Limit{PerSecond: 1, Burst: 10})
	both.Add("narrow", ratelimit.Limit{PerSecond: 0.5, Burst: 1})
	wide.Add("wide", ratelimit.Limit{PerSecond: 1, Burst: 10})
	take := func(b ratelimit.Batch, at time.Time) ratelimit.Result {
		res, err := s.Take(context.Background(), b, at)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := take(both, t0); !res.Allowed || res.Tokens[0] != 10 || res.Tokens[1] != 1 {
		t.Fatalf("first take: %+v, want allowed with 10 and 1 tokens before it", res)
	}
	if res := take(both, t0); res.Allowed || res.Refused != 1 || res.RetryAfter != 2*time.Second {
		t.Fatalf("second take: %+v, want refused by the narrow bucket for 2s", res)
	}
	if res := take(wide, t0); !res.Allowed || res.Tokens[0] != 9 {
		t.Fatalf("the wide bucket alone: %+v, want 9 tokens before the take: the refusal took from it", res)
	}
	// Unlimited and zero-rate limits keep the reservations' accounting.
	var zero ratelimit.Batch
	zero.Add("zero", ratelimit.Limit{PerSecond: 0, Burst: 1})
	if res := take(zero, t0); !res.Allowed {
		t.Fatalf("a zero-rate bucket's burst: %+v, want allowed", res)
	}
	if res := take(zero, t0); res.Allowed {
		t.Fatalf("a zero-rate bucket after its burst: %+v, want refused", res)
	}

	var big ratelimit.Batch
	big.Add("big", ratelimit.Limit{PerSecond: 1e9, Burst: 1e6})
	big.Add("big2", ratelimit.Limit{PerSecond: 1e9, Burst: 1e6})
	at := t0
	if allocs := testing.AllocsPerRun(100, func() {
		at = at.Add(time.Millisecond)
		if !take(big, at).Allowed {
			t.Fatal("refused")
		}
	}); allocs != 0 {
		t.Errorf("an allowed take of two buckets allocates %v times, want 0", allocs)
	}
}
