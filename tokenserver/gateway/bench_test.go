package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/registry"
)

// cachingVerifier mimics the token server's verifier on the hot path: a
// verified signature is cached, revocation and the registry are still
// checked on every call.
type cachingVerifier struct {
	inner *testVerifier
	mu    sync.RWMutex
	cache map[string]*tokenserver.Claims
}

func (v *cachingVerifier) Verify(ctx context.Context, raw string) (*tokenserver.Claims, error) {
	v.mu.RLock()
	c, ok := v.cache[raw]
	v.mu.RUnlock()
	if !ok {
		var err error
		if c, err = v.inner.Verify(ctx, raw); err != nil {
			return nil, err
		}
		v.mu.Lock()
		v.cache[raw] = c
		v.mu.Unlock()
	}
	v.inner.mu.Lock()
	revoked := v.inner.revoked[c.ID]
	v.inner.mu.Unlock()
	if cl, ok := v.inner.reg.Get(c.ClientID); revoked || !ok || cl.Suspended {
		return nil, tokenserver.ErrInvalidToken
	}
	return c, nil
}

// BenchmarkGateway compares, in one run, a bare httputil.ReverseProxy with
// the gateway doing authentication, RBAC and two rate-limit checks, both in
// front of the same backend over real TCP. The "compare" case interleaves
// the two and reports gateway/plain as the ratio metric.
func BenchmarkGateway(b *testing.B) {
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
	inner := newTestVerifier(b, reg, time.Now)
	gw, err := New(Options{
		Verifier:   &cachingVerifier{inner: inner, cache: map[string]*tokenserver.Claims{}},
		Registry:   reg,
		Issuer:     testIssuer,
		GatewayURL: testGatewayURL,
	})
	if err != nil {
		b.Fatal(err)
	}
	gw.Table().Set(&Route{Key: "team-a/github", PathPrefix: "/mcp/github", Protocol: ProtocolMCP,
		Endpoints: []*url.URL{{Scheme: target.Scheme, Host: target.Host}}, BackendPath: "/mcp",
		RequiredScopes: []string{"mcp:github:read"}, RateLimit: &registry.RateLimit{RequestsPerSecond: 1e9, Burst: 1e9}})
	token := inner.sign(b, tokenSpec{clientID: "team-a.github", scopes: []string{"mcp:github:read"}, aud: []string{"mcp"}})

	one := func(b *testing.B, h http.Handler) {
		r := httptest.NewRequest("POST", "http://gw.example/mcp/github/tools/list", nil)
		r.RemoteAddr = "192.0.2.10:40000"
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.Run("proxy=plain", func(b *testing.B) {
		for b.Loop() {
			one(b, plain)
		}
	})
	b.Run("proxy=gateway", func(b *testing.B) {
		for b.Loop() {
			one(b, gw)
		}
	})
	b.Run("compare", func(b *testing.B) {
		var plainT, gwT time.Duration
		for b.Loop() {
			start := time.Now()
			one(b, plain)
			mid := time.Now()
			one(b, gw)
			gwT += time.Since(mid)
			plainT += mid.Sub(start)
		}
		n := float64(b.N)
		b.ReportMetric(float64(plainT.Nanoseconds())/n, "plain-ns/req")
		b.ReportMetric(float64(gwT.Nanoseconds())/n, "gateway-ns/req")
		b.ReportMetric(float64(gwT)/float64(plainT), "gateway/plain")
	})
}
