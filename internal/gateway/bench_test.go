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
	"github.com/scopegate/scopegate/tokenserver"
)

// benchFixture is what the gateway benchmarks share: a backend over real
// TCP, a bare httputil.ReverseProxy in front of it, the real token server
// (its verifier, with its cache) and a token it issued for a client whose
// limits never refuse.
type benchFixture struct {
	target *url.URL
	plain  http.Handler
	reg    *registry.Registry
	ts     *tokenserver.Server
	token  string
}

func newBenchFixture(b testing.TB) *benchFixture {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	b.Cleanup(be.Close)
	f := &benchFixture{reg: registry.New()}
	f.target, _ = url.Parse(be.URL)
	f.plain = &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(f.target); pr.SetXForwarded() },
		Transport: NewTransport(),
	}
	f.reg.Upsert(&registry.Client{ID: "team-a.github", Scopes: []string{"mcp:github:read"},
		RateLimit: &registry.RateLimit{RequestsPerSecond: 1e9, Burst: 1e9}})
	f.ts, _ = realTokenServer(b, f.reg, time.Now)
	issued, err := f.ts.Issue(context.Background(), accesstoken.IssueRequest{ClientID: "team-a.github", Scopes: []string{"mcp:github:read"}, Audiences: []string{"mcp"}})
	if err != nil {
		b.Fatal(err)
	}
	f.token = issued.Raw
	return f
}

// gateway is a gateway with opts (the verifier, registry and URLs filled
// in) serving one MCP route to the backend, with a route limit per client.
func (f *benchFixture) gateway(b testing.TB, opts Options) *Gateway {
	opts.Verifier, opts.Registry, opts.Issuer, opts.GatewayURL = f.ts, f.reg, testIssuer, testGatewayURL
	gw, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	gw.Table().Set(&Route{Key: "team-a/github", PathPrefix: "/mcp/github", Protocol: ProtocolMCP,
		Endpoints: []*url.URL{{Scheme: f.target.Scheme, Host: f.target.Host}}, BackendPath: "/mcp",
		RequiredScopes: []string{"mcp:github:read"}, RateLimit: &registry.RateLimit{RequestsPerSecond: 1e9, Burst: 1e9}})
	return gw
}

// one sends one authorized request through h; limited says h is a
// gateway, whose answer carries the RateLimit fields of the buckets it took
// from.
func (f *benchFixture) one(b testing.TB, h http.Handler, limited bool) {
	r := httptest.NewRequest("POST", "http://gw.example/mcp/github/tools/list", nil)
	r.RemoteAddr = "192.0.2.10:40000"
	r.Header.Set("Authorization", "Bearer "+f.token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || limited && w.Header().Get("RateLimit-Limit") == "" {
		b.Fatalf("status %d, RateLimit-Limit %q: %s", w.Code, w.Header().Get("RateLimit-Limit"), w.Body)
	}
}

// BenchmarkGateway compares, in one run, a bare httputil.ReverseProxy with
// the gateway doing authentication (the real token server's verifier, with
// its cache), RBAC and two rate-limit checks, both in front of the same
// backend over real TCP. The "compare" case interleaves the two and reports
// gateway/plain as the ratio metric.
func BenchmarkGateway(b *testing.B) {
	f := newBenchFixture(b)
	gw := f.gateway(b, Options{})
	b.Run("proxy=plain", func(b *testing.B) {
		for b.Loop() {
			f.one(b, f.plain, false)
		}
	})
	b.Run("proxy=gateway", func(b *testing.B) {
		for b.Loop() {
			f.one(b, gw, true)
		}
	})
	b.Run("compare", func(b *testing.B) {
		var plainT, gwT time.Duration
		for b.Loop() {
			start := time.Now()
			f.one(b, f.plain, false)
			mid := time.Now()
			f.one(b, gw, true)
			gwT += time.Since(mid)
			plainT += mid.Sub(start)
		}
		n := float64(b.N)
		b.ReportMetric(float64(plainT.Nanoseconds())/n, "plain-ns/req")
		b.ReportMetric(float64(gwT.Nanoseconds())/n, "gateway-ns/req")
		b.ReportMetric(float64(gwT)/float64(plainT), "gateway/plain")
	})
}
