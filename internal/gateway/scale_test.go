package gateway

import (
	"math"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/ratelimit/redistest"
	"github.com/scopegate/scopegate/internal/registry"
)

// countedReplicas is a replica count the test changes, as the Service's
// EndpointSlices would.
type countedReplicas struct{ n atomic.Int64 }

func (c *countedReplicas) Replicas() int { return int(c.n.Load()) }

// roundRobin sends perSecond requests a second for d of fake time to the
// first `serving` gateways in turn, and answers how many passed.
func roundRobin(t *testing.T, f *fixture, gws []*Gateway, serving func() int, tok string, perSecond int, d time.Duration) int {
	t.Helper()
	passed := 0
	step := time.Second / time.Duration(perSecond)
	for i := range int(d / step) {
		f.gw = gws[i%serving()]
		res := f.do(t, "GET", "/mcp/github", tok, nil)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			passed++
		}
		f.clock.Step(step)
	}
	return passed
}

// within reports whether got is within frac of want.
func within(got, want, frac float64) bool {
	return math.Abs(got-want) <= frac*want
}

// TestLimitsHoldAcrossReplicasUnderRoundRobinLoad: a limit of R/s, load at
// 3R/s round-robin over the replicas; the accepted rate after the burst is
// within 15 % of R with local shares and within 5 % with Redis, and the
// local shares follow a scale from 2 to 3 replicas and back.
func TestLimitsHoldAcrossReplicasUnderRoundRobinLoad(t *testing.T) {
	const r = 20
	limit := registry.RateLimit{RequestsPerSecond: r, Burst: r}

	t.Run("Local shares", func(t *testing.T) {
		count := &countedReplicas{}
		count.n.Store(2)
		f := newFixture(t, func(o *Options) { o.Replicas = count })
		tok := limitedRoute(t, f, limit)
		gws := []*Gateway{f.gw}
		for range 2 {
			g, err := New(Options{Verifier: f.ver, Registry: f.reg, Issuer: testIssuer, GatewayURL: testGatewayURL,
				Table: f.gw.Table(), Now: f.clock.Now, Replicas: count})
			if err != nil {
				t.Fatal(err)
			}
			gws = append(gws, g)
		}
		serving := func() int { return count.Replicas() }
		// Drain the bursts, then measure the steady rate.
		roundRobin(t, f, gws, serving, tok, 3*r, 2*time.Second)
		for _, n := range []int64{2, 3, 2} {
			count.n.Store(n)
			roundRobin(t, f, gws, serving, tok, 3*r, time.Second) // the shares settle
			passed := roundRobin(t, f, gws, serving, tok, 3*r, 5*time.Second)
			t.Logf("%d replicas: %.1f requests/s passed of a limit of %d/s", n, float64(passed)/5, r)
			if got := float64(passed) / 5; !within(got, r, 0.15) {
				t.Errorf("%d replicas: %.1f requests/s passed, want %d ± 15 %%", n, got, r)
			}
		}
		// Without the count each replica enforces the whole limit: the
		// cluster lets through up to N times it.
		count.n.Store(0)
		roundRobin(t, f, gws[:2], func() int { return 2 }, tok, 3*r, time.Second)
		passed := roundRobin(t, f, gws[:2], func() int { return 2 }, tok, 3*r, 5*time.Second)
		if got := float64(passed) / 5; !within(got, 2*r, 0.15) {
			t.Errorf("2 replicas that cannot count: %.1f requests/s passed, want %d ± 15 %% (the limit each)", got, 2*r)
		}
	})

	t.Run("Redis", func(t *testing.T) {
		srv := redistest.Start(t)
		f := redisFixture(t, srv, "")
		tok := limitedRoute(t, f, limit)
		g := redisFixture(t, srv, "")
		two, err := New(Options{Verifier: f.ver, Registry: f.reg, Issuer: testIssuer, GatewayURL: testGatewayURL,
			Table: f.gw.Table(), Now: f.clock.Now, RateLimitStore: g.gw.shared})
		if err != nil {
			t.Fatal(err)
		}
		gws := []*Gateway{f.gw, two}
		roundRobin(t, f, gws, func() int { return 2 }, tok, 3*r, 2*time.Second)
		passed := roundRobin(t, f, gws, func() int { return 2 }, tok, 3*r, 5*time.Second)
		t.Logf("Redis, 2 replicas: %.1f requests/s passed of a limit of %d/s", float64(passed)/5, r)
		if got := float64(passed) / 5; !within(got, r, 0.05) {
			t.Errorf("%.1f requests/s passed, want %d ± 5 %%", got, r)
		}
	})
}
