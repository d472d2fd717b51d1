package gateway

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/scopegate/scopegate/internal/llm"
	"github.com/scopegate/scopegate/internal/registry"
)

// standIn is a stand-in model provider speaking both wire formats, with
// and without streaming; it records what it received.
type standIn struct {
	mu   sync.Mutex
	seen []standInRequest
}

type standInRequest struct {
	Path, Authorization, APIKey, Model string
	Body                               map[string]any
	Header                             http.Header
}

func (s *standIn) last(t *testing.T) standInRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.seen) == 0 {
		t.Fatal("the provider received nothing")
	}
	return s.seen[len(s.seen)-1]
}

func (s *standIn) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

func (s *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	model, _ := body["model"].(string)
	s.mu.Lock()
	s.seen = append(s.seen, standInRequest{Path: r.URL.Path, Authorization: r.Header.Get("Authorization"), APIKey: r.Header.Get("X-Api-Key"), Model: model, Body: body, Header: r.Header.Clone()})
	s.mu.Unlock()
	stream, _ := body["stream"].(bool)
	fl := w.(http.Flusher)
	switch {
	case r.URL.Path == "/v1/chat/completions" && stream:
		w.Header().Set("Content-Type", "text/event-stream")
		for _, c := range []string{"Hel", "lo"} {
			_, _ = io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","model":"`+model+`","choices":[{"index":0,"delta":{"content":"`+c+`"}}],"usage":null}`+"\n\n")
			fl.Flush()
		}
		if so, _ := body["stream_options"].(map[string]any); so != nil && so["include_usage"] == true {
			_, _ = io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","model":"`+model+`","choices":[],"usage":{"prompt_tokens":20,"completion_tokens":2,"total_tokens":22}}`+"\n\n")
		}
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	case r.URL.Path == "/v1/chat/completions":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c","object":"chat.completion","model":"`+model+`","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`)
	case r.URL.Path == "/v1/messages" && stream:
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\""+model+"\",\"content\":[],\"usage\":{\"input_tokens\":30,\"output_tokens\":1}}}\n\n")
		fl.Flush()
		_, _ = io.WriteString(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n")
		_, _ = io.WriteString(w, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":12}}\n\n")
		_, _ = io.WriteString(w, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	case r.URL.Path == "/v1/messages":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"m","type":"message","role":"assistant","model":"`+model+`","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":40,"output_tokens":60}}`)
	default:
		http.NotFound(w, r)
	}
}

func llmFixture(t *testing.T, access *registry.LLMAccess, mutate ...func(*Options)) (*fixture, *standIn, *Route) {
	t.Helper()
	f := newFixture(t, mutate...)
	f.reg.Upsert(&registry.Client{ID: "team-a.agent", Subject: registry.SubjectFor("team-a.agent"), Scopes: []string{"service"}, LLM: access})
	p := &standIn{}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	rt := &Route{Key: "team-a/llm", PathPrefix: "/llm", Protocol: ProtocolLLM, Endpoints: []*url.URL{mustURL(t, srv.URL)},
		LLM: &LLMRoute{
			Providers: []*LLMProvider{
				{Name: "openai", Format: llm.OpenAI, Endpoints: []*url.URL{mustURL(t, srv.URL)}, Path: "/", Key: "sk-openai"},
				{Name: "anthropic", Format: llm.Anthropic, Endpoints: []*url.URL{mustURL(t, srv.URL)}, Path: "/", Key: "ak-anthropic"},
			},
			Models: []llm.ModelRoute{
				{Match: "gpt-4o", Provider: "openai", UpstreamModel: "gpt-4o-2024-08-06"},
				{Match: "gpt-4o-mini", Provider: "openai"},
				{Match: "o3", Provider: "openai"},
				{Match: "claude-*", Provider: "anthropic"},
				{Match: "claude-sonnet-4", Provider: "anthropic"},
			},
		}}
	f.gw.Table().Set(rt)
	return f, p, rt
}

func decisions(f *fixture, reason string) float64 {
	return testutil.ToFloat64(f.gw.metrics.decisions.WithLabelValues("team-a/llm", map[bool]string{true: "allow", false: "deny"}[reason == ReasonAuthorized || reason == ReasonModelsListed], reason, "", ""))
}

func TestLLMRouteForwardsWithTheProviderKeyAndMeters(t *testing.T) {
	f, p, _ := llmFixture(t, &registry.LLMAccess{AllowedModels: []string{"gpt-4o*", "claude-*"}, MaxOutputTokens: 256, TokensPerMinute: 1000})
	tok := f.token(t, "team-a.agent", []string{"service"}, []string{"llm"})

	res := f.doBody(t, "POST", "/llm/v1/chat/completions", tok, http.Header{"Content-Type": {"application/json"}}, `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":4096}`)
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(b), `"Hello"`) {
		t.Fatalf("chat: %d %s", res.StatusCode, b)
	}
	got := p.last(t)
	if got.Authorization != "Bearer sk-openai" || strings.Contains(got.Authorization, tok) || got.APIKey != "" {
		t.Fatalf("the provider got Authorization %q, x-api-key %q", got.Authorization, got.APIKey)
	}
	if got.Model != "gpt-4o-2024-08-06" || got.Body["max_tokens"] != 256.0 || got.Body["max_completion_tokens"] != 256.0 {
		t.Fatalf("the provider got model %q, body %v", got.Model, got.Body)
	}
	for _, h := range []string{HeaderClientID, HeaderPermissions, "X-Forwarded-For"} {
		if got.Header.Get(h) != "" {
			t.Errorf("the provider got %s", h)
		}
	}
	if s := f.gw.quotas.States("team-a.agent", quotaWindows(&registry.LLMAccess{TokensPerMinute: 1000})); s[0].Used != 15 {
		t.Fatalf("charged %d tokens, want 15", s[0].Used)
	}
	if n := testutil.CollectAndCount(f.gw.llmMetrics.tokens, "gen_ai_client_token_usage"); n != 2 {
		t.Fatalf("gen_ai_client_token_usage has %d series, want input and output", n)
	}

	// Anthropic's SDK sends its apiKey (the scopegate token) as x-api-key.
	res = f.doBody(t, "POST", "/llm/v1/messages", "", http.Header{"X-Api-Key": {tok}, "Anthropic-Version": {"2023-06-01"}}, `{"model":"claude-haiku","max_tokens":100,"stream":true,"messages":[]}`)
	b, _ = io.ReadAll(res.Body)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" || !strings.Contains(string(b), "message_stop") {
		t.Fatalf("messages: %d %s", res.StatusCode, b)
	}
	got = p.last(t)
	if got.APIKey != "ak-anthropic" || got.Authorization != "" || got.Header.Get("Anthropic-Version") != "2023-06-01" {
		t.Fatalf("the provider got x-api-key %q, Authorization %q", got.APIKey, got.Authorization)
	}
	if s := f.gw.quotas.States("team-a.agent", quotaWindows(&registry.LLMAccess{TokensPerMinute: 1000})); s[0].Used != 15+42 {
		t.Fatalf("charged %d tokens, want 57", s[0].Used)
	}

	// A streamed chat completion asks for usage, and is metered by it.
	res = f.doBody(t, "POST", "/llm/v1/chat/completions", tok, nil, `{"model":"gpt-4o-mini","stream":true,"messages":[]}`)
	b, _ = io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(b), `"usage":{"prompt_tokens":20`) {
		t.Fatalf("stream: %d %s", res.StatusCode, b)
	}
	if s := f.gw.quotas.States("team-a.agent", quotaWindows(&registry.LLMAccess{TokensPerMinute: 1000})); s[0].Used != 57+22 {
		t.Fatalf("charged %d tokens, want 79", s[0].Used)
	}
	if n := decisions(f, ReasonAuthorized); n != 3 {
		t.Fatalf("%v authorized decisions", n)
	}
}

func TestLLMRouteRefusesInTheProvidersFormat(t *testing.T) {
	f, p, rt := llmFixture(t, &registry.LLMAccess{AllowedModels: []string{"gpt-4o-mini", "claude-*"}, MaxInputTokens: 100, TokensPerMinute: 50})
	tok := f.token(t, "team-a.agent", []string{"service"}, []string{"llm"})

	res := f.doBody(t, "POST", "/llm/v1/chat/completions", tok, nil, `{"model":"gpt-4o","messages":[]}`)
	var oe struct {
		Error struct{ Type, Code, Message string }
	}
	_ = json.NewDecoder(res.Body).Decode(&oe)
	if res.StatusCode != 403 || oe.Error.Code != ReasonModelNotAllowed || oe.Error.Type != "permission_error" {
		t.Fatalf("denied model: %d %+v", res.StatusCode, oe)
	}
	res = f.doBody(t, "POST", "/llm/v1/chat/completions", tok, nil, `{"model":"llama","messages":[]}`)
	if res.StatusCode != 404 {
		t.Fatalf("unrouted model: %d", res.StatusCode)
	}
	res = f.doBody(t, "POST", "/llm/v1/chat/completions", tok, nil, `{"model":"gpt-4o-mini","messages":[{"content":"`+strings.Repeat("x", 500)+`"}]}`)
	if res.StatusCode != 400 {
		t.Fatalf("input above the cap: %d", res.StatusCode)
	}
	res = f.doBody(t, "POST", "/llm/v1/chat/completions", tok, nil, `{"model":"claude-haiku","messages":[]}`)
	if res.StatusCode != 400 {
		t.Fatalf("a model of another format: %d", res.StatusCode)
	}
	if p.count() != 0 {
		t.Fatalf("refused calls reached the provider %d times", p.count())
	}

	// 100 tokens used of 50 per minute: the next call is 429 until :00.
	res = f.doBody(t, "POST", "/llm/v1/messages", "", http.Header{"X-Api-Key": {tok}}, `{"model":"claude-haiku","max_tokens":10,"messages":[]}`)
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("first call: %d", res.StatusCode)
	}
	res = f.doBody(t, "POST", "/llm/v1/messages", "", http.Header{"X-Api-Key": {tok}}, `{"model":"claude-haiku","max_tokens":10,"messages":[]}`)
	var ae struct {
		Type  string
		Error struct{ Type, Message string }
	}
	_ = json.NewDecoder(res.Body).Decode(&ae)
	if res.StatusCode != 429 || ae.Type != "error" || ae.Error.Type != "rate_limit_error" || res.Header.Get("Retry-After") == "" ||
		res.Header.Get("X-Ratelimit-Remaining-Tokens") != "0" || res.Header.Get("Ratelimit-Limit") != "50" {
		t.Fatalf("quota: %d %+v %v", res.StatusCode, ae, res.Header)
	}
	if n := decisions(f, ReasonTokenQuotaExhausted); n != 1 {
		t.Fatalf("%v token_quota_exhausted decisions", n)
	}

	// A provider whose key could not be read is never called.
	cp := *rt
	llmCopy := *rt.LLM
	llmCopy.Providers = []*LLMProvider{{Name: "openai", Format: llm.OpenAI, Endpoints: rt.LLM.Providers[0].Endpoints, KeyError: "Secret missing"}, rt.LLM.Providers[1]}
	cp.LLM = &llmCopy
	f.gw.Table().Set(&cp)
	before := p.count()
	res = f.doBody(t, "POST", "/llm/v1/chat/completions", f.token(t, "team-a.other", []string{"api"}, []string{"llm"}), nil, `{"model":"gpt-4o","messages":[]}`)
	if res.StatusCode != 503 || p.count() != before {
		t.Fatalf("missing key: %d, provider called %d times", res.StatusCode, p.count()-before)
	}
}

func TestLLMRouteListsOnlyTheModelsTheClientMayUse(t *testing.T) {
	f, _, _ := llmFixture(t, &registry.LLMAccess{AllowedModels: []string{"gpt-4o*", "claude-sonnet-4"}})
	tok := f.token(t, "team-a.agent", []string{"service"}, []string{"llm"})
	res := f.do(t, "GET", "/llm/v1/models", tok, nil)
	var ol struct {
		Object string
		Data   []struct{ ID string }
	}
	_ = json.NewDecoder(res.Body).Decode(&ol)
	if res.StatusCode != 200 || ol.Object != "list" || len(ol.Data) != 2 || ol.Data[0].ID != "gpt-4o" || ol.Data[1].ID != "gpt-4o-mini" {
		t.Fatalf("OpenAI models: %d %+v", res.StatusCode, ol)
	}
	res = f.do(t, "GET", "/llm/v1/models", tok, http.Header{"Anthropic-Version": {"2023-06-01"}})
	var al struct {
		Data []struct{ Type, ID string }
	}
	_ = json.NewDecoder(res.Body).Decode(&al)
	// claude-sonnet-4 is listed under claude-*, whose provider it is.
	if res.StatusCode != 200 || len(al.Data) != 1 || al.Data[0].ID != "claude-sonnet-4" || al.Data[0].Type != "model" {
		t.Fatalf("Anthropic models: %d %+v", res.StatusCode, al)
	}
	if n := decisions(f, ReasonModelsListed); n != 2 {
		t.Fatalf("%v models_listed decisions", n)
	}
}

// TestIsEventStreamAgreesWithMime holds the Content-Type shortcut to
// mime.ParseMediaType.
func TestIsEventStreamAgreesWithMime(t *testing.T) {
	for _, ct := range []string{"text/event-stream", " Text/Event-Stream ", "text/event-stream; charset=utf-8", "application/json",
		"text/event-ſtream", "text/event-stream x", "", "text/event-stream;", "text/event-streams"} {
		mt, _, _ := mime.ParseMediaType(ct)
		if got, want := isEventStream(ct), mt == "text/event-stream"; got != want {
			t.Errorf("isEventStream(%q) = %v, mime.ParseMediaType says %v", ct, got, want)
		}
	}
}
