package admin

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/llm"
	"github.com/scopegate/scopegate/internal/llm/llmtest"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/testenv"
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

// TestTheUsageViewShowsEachLLMClientsWindows: a call through an LLM route
// to the stand-in provider is charged to the client's quota windows, and
// /admin/v1/usage shows per client the tokens used and remaining in each
// current window, with when it restarts; a client without a quota is
// listed without windows, one without spec.llm not at all.
func TestTheUsageViewShowsEachLLMClientsWindows(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	reg := registry.New()
	reg.Upsert(&registry.Client{ID: "ops.admin", Subject: registry.SubjectFor("ops.admin"), Scopes: []string{"admin"}})
	reg.Upsert(&registry.Client{ID: "team-a.agent", Subject: registry.SubjectFor("team-a.agent"), Scopes: []string{"service"},
		LLM: &registry.LLMAccess{AllowedModels: []string{"*"}, TokensPerMinute: 1000, TokensPerDay: 5000}})
	ring, err := keys.NewMemoryRing(keys.Policy{}, now)
	if err != nil {
		t.Fatal(err)
	}
	revs := revocation.NewMemory(now)
	srv, err := tokenserver.New(tokenserver.Options{Issuer: "https://issuer.test", Registry: reg, Keys: ring, Revocations: revs, Now: now, Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Options{Verifier: srv, Registry: reg, Issuer: "https://issuer.test", GatewayURL: "https://gw.test", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	provider := httptest.NewServer(llmtest.New())
	t.Cleanup(provider.Close)
	u, _ := url.Parse(provider.URL)
	gw.Table().Set(&gateway.Route{Key: "team-a/llm", PathPrefix: "/llm", Protocol: gateway.ProtocolLLM, Endpoints: []*url.URL{u},
		LLM: &gateway.LLMRoute{
			Providers: []*gateway.LLMProvider{{Name: "openai", Format: llm.OpenAI, Endpoints: []*url.URL{u}, Path: "/", Key: "sk-test"}},
			Models:    []llm.ModelRoute{{Match: "*", Provider: "openai"}},
		}})
	objs := fake.NewClientBuilder().WithScheme(testenv.Scheme()).WithObjects(
		&scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "agent"},
			Spec: scopegatev1alpha1.OAuthClientSpec{Scopes: []scopegatev1alpha1.Scope{"service"}, LLM: &scopegatev1alpha1.LLMAccess{
				AllowedModels: []string{"*"}, MaxOutputTokensPerCall: ptr.To[int64](64),
				TokenQuota: &scopegatev1alpha1.TokenQuota{PerMinute: ptr.To[int64](1000), PerDay: ptr.To[int64](5000)}}}},
		&scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "unmetered"},
			Spec: scopegatev1alpha1.OAuthClientSpec{Scopes: []scopegatev1alpha1.Scope{"service"}, LLM: &scopegatev1alpha1.LLMAccess{AllowedModels: []string{"gpt-*"}}}},
		&scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "plain"},
			Spec: scopegatev1alpha1.OAuthClientSpec{Scopes: []scopegatev1alpha1.Scope{"mcp"}}},
	).Build()
	api, err := New(Options{Verifier: srv, Reader: objs, Keys: ring, Revocations: revs, Explainer: gw, Usage: gw, Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{api: api.Wrap(gw), srv: srv, revs: revs}
	agent, err := srv.Issue(t.Context(), accesstoken.IssueRequest{ClientID: "team-a.agent", Scopes: []string{"service"}, Audiences: []string{"llm"}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"gpt-test","messages":[{"role":"user","content":"hello"}]}`
	r := httptest.NewRequest(http.MethodPost, "/llm/v1/chat/completions", strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+agent.Raw)
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	f.api.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("the chat call: %d %s", w.Code, w.Body)
	}
	// The stand-in counts one token per 4 bytes of the body it got (the
	// gateway adds no fields to a plain chat call beyond the clamp) and
	// one per word of its answer.
	used := llm.Usage{}
	if u, ok := llm.ParseUsage(w.Body.Bytes()); ok {
		used = u
	} else {
		t.Fatalf("the answer has no usage: %s", w.Body)
	}

	admin := f.token(t, "ops.admin", []string{"admin"}, []string{"admin"})
	res, out := f.call(t, http.MethodGet, "/admin/v1/usage", admin, "")
	if res.StatusCode != 200 {
		t.Fatalf("usage: %d %v", res.StatusCode, out)
	}
	items, _ := out["items"].([]any)
	if len(items) != 2 {
		t.Fatalf("usage lists %d clients, want the 2 with spec.llm: %v", len(items), out)
	}
	a := items[0].(map[string]any)
	if a["clientId"] != "team-a.agent" || a["countedBy"] != "this replica" || a["maxOutputTokensPerCall"] != 64.0 {
		t.Fatalf("the agent's usage: %v", a)
	}
	windows := a["windows"].([]any)
	want := []struct {
		name     string
		limit    float64
		resetsAt string
	}{{"minute", 1000, "2026-01-02T03:05:00Z"}, {"day", 5000, "2026-01-03T00:00:00Z"}}
	if len(windows) != 2 {
		t.Fatalf("the agent's windows: %v", windows)
	}
	for i, wv := range want {
		got := windows[i].(map[string]any)
		if got["window"] != wv.name || got["limit"] != wv.limit || got["used"] != float64(used.Total()) ||
			got["remaining"] != wv.limit-float64(used.Total()) || got["resetsAt"] != wv.resetsAt {
			t.Errorf("window %s: %v, want %d used of %v, resetting at %s", wv.name, got, used.Total(), wv.limit, wv.resetsAt)
		}
	}
	if used.Total() <= 0 {
		t.Errorf("nothing was charged: %+v", used)
	}
	b := items[1].(map[string]any)
	if b["clientId"] != "team-a.unmetered" || len(b["windows"].([]any)) != 0 {
		t.Errorf("the client without a quota: %v", b)
	}

	_, one := f.call(t, http.MethodGet, "/admin/v1/usage?clientId=team-a.unmetered", admin, "")
	if items, _ := one["items"].([]any); len(items) != 1 {
		t.Errorf("?clientId= kept %v", one)
	}
	if res, _ := f.call(t, http.MethodGet, "/admin/v1/usage", f.token(t, "team-a.agent", []string{"service"}, []string{"admin"}), ""); res.StatusCode != 403 {
		t.Errorf("a non-admin token reads the usage view: %d", res.StatusCode)
	}
}
