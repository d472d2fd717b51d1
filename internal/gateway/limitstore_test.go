package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/registry"
)

// downStore is a shared rate-limit store that never answers.
type downStore struct{}

func (downStore) Take(context.Context, ratelimit.Batch, time.Time) (ratelimit.Result, error) {
	return ratelimit.Result{}, fmt.Errorf("take: %w", ratelimit.ErrUnavailable)
}

func (downStore) Peek(context.Context, ratelimit.Batch, time.Time) (ratelimit.Result, error) {
	return ratelimit.Result{}, fmt.Errorf("peek: %w", ratelimit.ErrUnavailable)
}

func (downStore) Kind() string { return ratelimit.KindRedis }

// fixedReplicas is a replica count.
type fixedReplicas int

func (n fixedReplicas) Replicas() int { return int(n) }

func TestRateLimitStoreFailureModes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		mode       string
		wantStatus int
	}{
		{"Open lets the request pass and counts it", RateLimitFailOpen, 200},
		{"The default is open", "", 200},
		{"Closed refuses with 503 and Retry-After", RateLimitFailClosed, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			be := echoBackend(t, "b")
			rt := githubRoute(t, be.URL)
			rt.RequiredScopes = nil
			rt.RateLimit = &registry.RateLimit{RequestsPerSecond: 1, Burst: 1}
			f.gw.Table().Set(rt)
			f.gw.shared, f.gw.limitFailClosed = downStore{}, tc.mode == RateLimitFailClosed
			before := testutil.ToFloat64(f.gw.limitMetrics.unchecked.WithLabelValues("redis"))
			tok := f.token(t, "team-a.github", []string{"mcp"}, []string{"mcp"})
			for range 3 {
				res := f.do(t, "GET", "/mcp/github", tok, nil)
				if tc.wantStatus == 503 && res.Header.Get("Retry-After") != "1" {
					t.Errorf("Retry-After %q, want 1", res.Header.Get("Retry-After"))
				}
				if res.Header.Get("RateLimit-Limit") != "" {
					t.Errorf("RateLimit-Limit %q on a request no bucket counted", res.Header.Get("RateLimit-Limit"))
				}
				wantStatus(t, res, tc.wantStatus)
			}
			unchecked := testutil.ToFloat64(f.gw.limitMetrics.unchecked.WithLabelValues("redis")) - before
			if want := map[int]float64{200: 3, 503: 0}[tc.wantStatus]; unchecked != want {
				t.Errorf("unchecked requests counted %v, want %v", unchecked, want)
			}
		})
	}
}

func TestNewRefusesAnUnknownFailureMode(t *testing.T) {
	f := newFixture(t)
	_, err := New(Options{Verifier: f.gw.verifier, Issuer: testIssuer, GatewayURL: testGatewayURL, RateLimitFailureMode: "sometimes"})
	if err == nil || !strings.Contains(err.Error(), "open or closed") {
		t.Fatalf("New with failure mode sometimes: %v, want an error naming open and closed", err)
	}
}

func TestLocalLimitsAreThisReplicasShare(t *testing.T) {
	f := newFixture(t)
	f.gw.replicas = fixedReplicas(3)
	be := echoBackend(t, "b")
	rt := githubRoute(t, be.URL)
	rt.RequiredScopes = nil
	// 3 replicas: each allows 1/s with a burst of 2 (6/3).
	rt.RateLimit = &registry.RateLimit{RequestsPerSecond: 3, Burst: 6}
	f.gw.Table().Set(rt)
	tok := f.token(t, "team-a.github", []string{"mcp"}, []string{"mcp"})

	res := f.do(t, "GET", "/mcp/github", tok, nil)
	if res.Header.Get("RateLimit-Limit") != "2" || res.Header.Get("RateLimit-Remaining") != "1" {
		t.Errorf("RateLimit-* %v, want this replica's share: limit 2, remaining 1", res.Header)
	}
	wantStatus(t, res, 200)
	wantStatus(t, f.do(t, "GET", "/mcp/github", tok, nil), 200)
	wantLimited(t, f.do(t, "GET", "/mcp/github", tok, nil), "1", "2")
	f.clock.Step(time.Second)
	wantStatus(t, f.do(t, "GET", "/mcp/github", tok, nil), 200)

	// One replica left: the whole limit, on the same bucket (which keeps
	// its tokens and refills at the new rate to the new burst).
	f.gw.replicas = fixedReplicas(1)
	wantLimited(t, f.do(t, "GET", "/mcp/github", tok, nil), "1", "6")
	f.clock.Step(2 * time.Second)
	for i := range 6 {
		if res := f.do(t, "GET", "/mcp/github", tok, nil); res.StatusCode != http.StatusOK {
			t.Fatalf("request %d with the whole limit: %d", i+1, res.StatusCode)
		}
	}
	wantLimited(t, f.do(t, "GET", "/mcp/github", tok, nil), "1", "6")
	// A count the replica cannot tell (0) is the whole limit too.
	f.gw.replicas = fixedReplicas(0)
	if got := f.gw.RateLimitStore(); !strings.Contains(got, "whole") {
		t.Errorf("store detail %q, want the whole limit", got)
	}
}

func TestNewRegistersTheUncheckedCounter(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	if _, err := New(Options{Verifier: f.gw.verifier, Issuer: testIssuer, GatewayURL: testGatewayURL, Metrics: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Verifier: f.gw.verifier, Issuer: testIssuer, GatewayURL: testGatewayURL, Metrics: reg}); err != nil {
		t.Fatalf("a second gateway on the same registry: %v", err)
	}
}
