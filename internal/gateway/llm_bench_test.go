package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/llm"
	"github.com/scopegate/scopegate/internal/llm/llmtest"
	"github.com/scopegate/scopegate/internal/registry"
)

// llmBenchBody is a non-streaming chat completion of about 0.5 KiB asking
// for 16 tokens, the request make bench sends through an LLM route.
var llmBenchBody = `{"model":"gpt-4o","max_tokens":16,"messages":[{"role":"system","content":"You are a terse assistant. Answer in one short sentence."},{"role":"user","content":"` +
	strings.Repeat("Tell me about the weather today. ", 12) + `"}]}`

// llmBench is the LLM benchmarks' fixture: the stand-in provider over
// real TCP, a bare httputil.ReverseProxy in front of it, and a gateway
// serving an LLM route to it for a client with allowed models, an output
// cap and a token quota that never refuses.
type llmBench struct {
	plain http.Handler
	gw    *Gateway
	token string
}

func newLLMBench(b *testing.B) *llmBench {
	be := httptest.NewServer(llmtest.New())
	b.Cleanup(be.Close)
	target, _ := url.Parse(be.URL)
	reg := registry.New()
	reg.Upsert(&registry.Client{ID: "team-a.agent", Subject: registry.SubjectFor("team-a.agent"), Scopes: []string{"service"},
		RateLimit: &registry.RateLimit{RequestsPerSecond: 1e9, Burst: 1e9},
		LLM:       &registry.LLMAccess{AllowedModels: []string{"gpt-4o*"}, MaxOutputTokens: 256, TokensPerMinute: 1 << 50}})
	ts, _ := realTokenServer(b, reg, time.Now)
	issued, err := ts.Issue(context.Background(), accesstoken.IssueRequest{ClientID: "team-a.agent", Scopes: []string{"service"}, Audiences: []string{"llm"}})
	if err != nil {
		b.Fatal(err)
	}
	gw, err := New(Options{Verifier: ts, Registry: reg, Issuer: testIssuer, GatewayURL: testGatewayURL})
	if err != nil {
		b.Fatal(err)
	}
	ep := []*url.URL{{Scheme: target.Scheme, Host: target.Host}}
	gw.Table().Set(&Route{Key: "team-a/llm", PathPrefix: "/llm", Protocol: ProtocolLLM, Endpoints: ep,
		LLM: &LLMRoute{
			Providers: []*LLMProvider{{Name: "openai", Format: llm.OpenAI, Endpoints: ep, Path: "/", Key: "sk-openai"}},
			Models:    []llm.ModelRoute{{Match: "gpt-4o", Provider: "openai", UpstreamModel: "gpt-4o-2024-08-06"}, {Match: "gpt-4o-*", Provider: "openai"}},
		}})
	plain := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, "/llm")
			pr.Out.Header.Set("Authorization", "Bearer sk-openai")
			pr.SetXForwarded()
		},
		Transport: NewTransport(),
	}
	return &llmBench{plain: plain, gw: gw, token: issued.Raw}
}

// one sends the chat completion through h and checks the answer.
func (f *llmBench) one(b *testing.B, h http.Handler) {
	r := httptest.NewRequest("POST", "http://gw.example/llm/v1/chat/completions", strings.NewReader(llmBenchBody))
	r.RemoteAddr = "192.0.2.10:40000"
	r.Header.Set("Authorization", "Bearer "+f.token)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"usage"`) {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// BenchmarkLLMRoute compares, in one run, a bare httputil.ReverseProxy
// with the gateway serving the same chat completion through an LLM route
// (token, model check, rewrite, quota, metering), both in front of the
// stand-in provider over real TCP. "compare" interleaves the two.
func BenchmarkLLMRoute(b *testing.B) {
	f := newLLMBench(b)
	b.Run("proxy=plain", func(b *testing.B) {
		for b.Loop() {
			f.one(b, f.plain)
		}
	})
	b.Run("proxy=gateway", func(b *testing.B) {
		for b.Loop() {
			f.one(b, f.gw)
		}
	})
	b.Run("compare", func(b *testing.B) {
		var plainT, gwT time.Duration
		for b.Loop() {
			start := time.Now()
			f.one(b, f.plain)
			mid := time.Now()
			f.one(b, f.gw)
			gwT += time.Since(mid)
			plainT += mid.Sub(start)
		}
		n := float64(b.N)
		b.ReportMetric(float64(plainT.Nanoseconds())/n, "plain-ns/req")
		b.ReportMetric(float64(gwT.Nanoseconds())/n, "gateway-ns/req")
		b.ReportMetric(float64(gwT)/float64(plainT), "gateway/plain")
	})
}
