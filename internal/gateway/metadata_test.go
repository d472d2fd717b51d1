package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

func TestProtectedResourceMetadata(t *testing.T) {
	f := newFixture(t)
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))

	// The URL the 401 challenge points at serves the route's metadata.
	res := f.do(t, "GET", "/mcp/github", "", nil)
	res.Body.Close()
	if res.Header.Get("WWW-Authenticate") != `Bearer realm="scopegate", `+githubMetadata {
		t.Fatalf("challenge %q", res.Header.Get("WWW-Authenticate"))
	}
	res = f.do(t, "GET", "/.well-known/oauth-protected-resource/mcp/github", "", nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("metadata lacks CORS for browser clients")
	}
	var got map[string]any
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"resource":                          "https://gw.example/mcp/github",
		"authorization_servers":             []any{"https://issuer.example"},
		"scopes_supported":                  []any{"mcp:github:read"},
		"bearer_methods_supported":          []any{"header"},
		"resource_name":                     "team-a/github",
		"dpop_signing_alg_values_supported": []any{"ES256", "ES384", "ES512", "EdDSA", "RS256", "PS256"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("metadata\n got %v\nwant %v", got, want)
	}

	for _, tc := range []struct {
		name, method, path string
		status             int
	}{
		{name: "a path below a route has no metadata of its own (RFC 9728 §3.3)", method: "GET", path: "/.well-known/oauth-protected-resource/mcp/github/tools", status: 404},
		{name: "an unknown resource is 404", method: "GET", path: "/.well-known/oauth-protected-resource/nope", status: 404},
		{name: "the root resource is 404 without a root route", method: "GET", path: "/.well-known/oauth-protected-resource", status: 404},
		{name: "a longer well-known name is not the metadata", method: "GET", path: "/.well-known/oauth-protected-resourcex/mcp/github", status: 404},
		{name: "POST is not allowed", method: "POST", path: "/.well-known/oauth-protected-resource/mcp/github", status: 405},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := f.do(t, tc.method, tc.path, "", nil)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			readError(t, res)
		})
	}
}

func TestAgentCardIsRewrittenToTheGateway(t *testing.T) {
	f := newFixture(t)
	var beURL string
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/a2a/.well-known/agent-card.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"v1"`)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"name":               "weather",
			"url":                beURL + "/a2a/v1",
			"preferredTransport": "JSONRPC",
			"additionalInterfaces": []any{
				map[string]any{"url": beURL + "/a2a/v1", "transport": "JSONRPC"},
				map[string]any{"url": beURL + "/a2a/rest?x=1", "transport": "HTTP+JSON"},
			},
			"iconUrl":          beURL + "/a2a/icon.png",
			"documentationUrl": "https://docs.example.org/weather",
			"provider":         map[string]any{"organization": "Example", "url": "https://example.org"},
			"skills":           []any{map[string]any{"id": "forecast", "examples": []any{beURL + "/outside"}}},
		})
	})
	beURL = be.URL
	f.gw.Table().Set(&Route{Key: "agents/weather", PathPrefix: "/agents/weather", Protocol: ProtocolA2A,
		Endpoints: []*url.URL{mustURL(t, be.URL)}, BackendPath: "/a2a", RequiredScopes: []string{"a2a"}})

	// The card is public: no token.
	res := f.do(t, "GET", "/agents/weather/.well-known/agent-card.json", "", nil)
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("status %d: %s", res.StatusCode, body)
	}
	if res.Header.Get("ETag") != "" {
		t.Errorf("the rewritten card keeps the backend's ETag")
	}
	var card map[string]any
	if err := json.Unmarshal(body, &card); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name":               "weather",
		"url":                "https://gw.example/agents/weather/v1",
		"preferredTransport": "JSONRPC",
		"additionalInterfaces": []any{
			map[string]any{"url": "https://gw.example/agents/weather/v1", "transport": "JSONRPC"},
			map[string]any{"url": "https://gw.example/agents/weather/rest?x=1", "transport": "HTTP+JSON"},
		},
		"iconUrl":          "https://gw.example/agents/weather/icon.png",
		"documentationUrl": "https://docs.example.org/weather",
		"provider":         map[string]any{"organization": "Example", "url": "https://example.org"},
		// A backend URL outside the backend path is not reachable through
		// the route and stays as it was.
		"skills": []any{map[string]any{"id": "forecast", "examples": []any{be.URL + "/outside"}}},
	}
	if !reflect.DeepEqual(card, want) {
		t.Fatalf("card\n got %v\nwant %v", card, want)
	}

	// The rest of an A2A route still needs a token.
	if res := f.do(t, "POST", "/agents/weather/v1", "", nil); res.StatusCode != 401 {
		t.Fatalf("A2A call without token: status %d, want 401", res.StatusCode)
	}
}

func TestTable(t *testing.T) {
	tab := NewTable()
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tab.Set(&Route{Key: "b/new", PathPrefix: "/x/", CreationTimestamp: old.Add(time.Hour)})
	tab.Set(&Route{Key: "a/old", PathPrefix: "/x", CreationTimestamp: old})
	tab.Set(&Route{Key: "a/tie", PathPrefix: "/x", CreationTimestamp: old.Add(time.Hour)})

	if e := tab.match("/x/y"); e == nil || e.route.Key != "a/old" {
		t.Fatalf("the older route should hold /x, got %v", e)
	}
	tab.Delete("a/old")
	if e := tab.match("/x"); e == nil || e.route.Key != "a/tie" {
		t.Fatalf("after the holder goes, the next oldest (ties by key) holds /x, got %v", e)
	}
	tab.Set(&Route{Key: "a/tie", PathPrefix: "/moved", CreationTimestamp: old})
	if e := tab.match("/x"); e == nil || e.route.Key != "b/new" {
		t.Fatalf("a route that moved away frees its prefix, got %v", e)
	}
	if got := len(tab.Routes()); got != 2 {
		t.Fatalf("%d routes listed, want 2", got)
	}
	if r, ok := tab.Get("b/new"); !ok || r.PathPrefix != "/x" {
		t.Fatalf("Get: %v %v; want the prefix cleaned to /x", r, ok)
	}
	tab.Delete("nope")
	if tab.match("/") != nil {
		t.Fatal("nothing should hold /")
	}
}
