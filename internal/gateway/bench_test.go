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
	"github.com/scopegate/scopegate/internal/registry"
)

// BenchmarkGateway compares, in one run, a bare httputil.ReverseProxy with
// the gateway doing authentication (the real token server's verifier, with
// its cache), RBAC and two rate-limit checks, both in
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
	ts, _ := realTokenServer(b, reg, time.Now)
	gw, err := New(Options{
		Verifier:   ts,
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
	issued, err := ts.Issue(context.Background(), accesstoken.IssueRequest{ClientID: "team-a.github", Scopes: []string{"mcp:github:read"}, Audiences: []string{"mcp"}})
	if err != nil {
		b.Fatal(err)
	}
	token := issued.Raw

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
