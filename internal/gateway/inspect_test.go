package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/scopegate/scopegate/internal/registry"
)

// bodyBackend answers every request with what it received: method, the
// body, and the identity headers.
func bodyBackend(t testing.TB, calls *atomic.Int32) string {
	return echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "body": string(b), "length": r.ContentLength,
			"client": r.Header.Get(HeaderClientID)})
	}).URL
}

func toolsRoute(t testing.TB, be string, mutate func(*ItemPolicy)) *Route {
	rt := githubRoute(t, be)
	rt.Items = &ItemPolicy{Rules: []ItemRule{
		{Tools: []string{"delete_repo", "merge_*"}, RequiredScopes: []string{"mcp:github:admin"}},
		{Prompts: []string{"triage"}, Resources: []string{"file:///secret/"}, RequiredScopes: []string{"mcp:github:write", "mcp:github:admin"}},
	}}
	if mutate != nil {
		mutate(rt.Items)
	}
	return rt
}

type rpcAnswer struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func TestItemRulesOnTheRequestPath(t *testing.T) {
	var calls atomic.Int32
	be := bodyBackend(t, &calls)
	reader := []string{"mcp", "mcp:github:read"}
	admin := []string{"mcp:github:read", "mcp:github:admin"}
	challenge := `Bearer realm="scopegate", error="insufficient_scope", error_description="the token may not use tool delete_repo", scope="mcp:github:read mcp:github:admin", ` + githubMetadata
	cases := []struct {
		name    string
		mutate  func(*ItemPolicy)
		scopes  []string // nil: anonymous
		method  string
		header  http.Header
		body    string
		status  int
		forward bool
		www     string
		// id, code and message of the JSON-RPC error answered
		id      string
		code    int
		message string
		batch   int
	}{
		{name: "A tool the token may use reaches the backend with the body intact", scopes: admin, body: toolCall("delete_repo"), status: 200, forward: true},
		{name: "A tool no rule names passes with the route's scopes", scopes: reader, body: toolCall("echo"), status: 200, forward: true},
		{name: "A tool the token may not use is a 403 scope challenge with a JSON-RPC error", scopes: reader, body: toolCall("delete_repo"), status: 403,
			www: challenge, id: "1", code: codeInsufficientScope, message: "insufficient scope for tool delete_repo"},
		{name: "A glob rule covers the tools it matches", scopes: reader, body: toolCall("merge_pr"), status: 403, id: "1", code: codeInsufficientScope, message: "insufficient scope for tool merge_pr"},
		{name: "Hide mode answers a refused tool as an unknown one", mutate: func(p *ItemPolicy) { p.Hide = true }, scopes: reader,
			body: `{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"delete_repo"}}`, status: 200,
			id: `"abc"`, code: -32602, message: "Tool delete_repo not found"},
		{name: "A prompt under a rule needs its scopes", scopes: reader, body: `{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"triage"}}`, status: 403,
			id: "2", code: codeInsufficientScope, message: "insufficient scope for prompt triage"},
		{name: "A resource under a prefix rule needs its scopes", scopes: reader, body: `{"jsonrpc":"2.0","id":2,"method":"resources/subscribe","params":{"uri":"file:///secret/k"}}`, status: 403,
			id: "2", code: codeInsufficientScope, message: "insufficient scope for resource file:///secret/k"},
		{name: "completion/complete of a refused prompt is refused", scopes: reader,
			body: `{"jsonrpc":"2.0","id":2,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"triage"},"argument":{"name":"a","value":"b"}}}`, status: 403,
			id: "2", code: codeInsufficientScope, message: "insufficient scope for prompt triage"},
		{name: "Unlisted items are refused when the route denies them, with no scope to step up to", mutate: func(p *ItemPolicy) { p.DenyUnlisted = true }, scopes: admin,
			body: toolCall("echo"), status: 403, id: "1", code: codeInsufficientScope, message: "insufficient scope for tool echo",
			www: `Bearer realm="scopegate", error="insufficient_scope", error_description="the token may not use tool echo", ` + githubMetadata},
		{name: "Methods that name no item pass", mutate: func(p *ItemPolicy) { p.DenyUnlisted = true }, scopes: reader,
			body: `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"delete_repo","version":"1"}}}`, status: 200, forward: true},
		{name: "A batch with one refused element is refused whole", scopes: reader,
			body:   `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}},{"jsonrpc":"2.0","method":"notifications/progress"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_repo"}}]`,
			status: 403, batch: 2},
		{name: "A batch the token may use all of passes", scopes: admin,
			body: `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_repo"}}]`, status: 200, forward: true},
		{name: "A batch under a protocol version without batches is invalid", scopes: admin, header: http.Header{"Mcp-Protocol-Version": {"2025-11-25"}},
			body: `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}]`, status: 400, id: "null", code: -32600, message: "invalid JSON-RPC request"},
		{name: "Malformed JSON is a 400 parse error", scopes: admin, body: `{"jsonrpc":"2.0",`, status: 400, id: "null", code: -32700, message: "parse error"},
		{name: "An empty POST is a 400 parse error", scopes: admin, body: ``, status: 400, id: "null", code: -32700, message: "parse error"},
		{name: "A tool name without a string is invalid", scopes: admin, body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["delete_repo"]}}`, status: 400, id: "null", code: -32600},
		{name: "Matching Mcp-Method and Mcp-Name headers pass", scopes: admin, header: http.Header{"Mcp-Method": {"tools/call"}, "Mcp-Name": {"delete_repo"}},
			body: toolCall("delete_repo"), status: 200, forward: true},
		{name: "An Mcp-Name that differs from the body is 400 and never reaches the backend", scopes: admin, header: http.Header{"Mcp-Name": {"echo"}},
			body: toolCall("delete_repo"), status: 400, id: "1", code: -32600, message: "the Mcp-Name header does not match the item the body names"},
		{name: "An Mcp-Method that differs from the body is 400", scopes: admin, header: http.Header{"Mcp-Method": {"tools/list"}},
			body: toolCall("echo"), status: 400, id: "1", code: -32600},
		{name: "A GET (the server's event stream) has no body to inspect", scopes: reader, method: http.MethodGet, status: 200, forward: true},
		{name: "An anonymous caller refused a tool gets 401 with the scope to obtain", mutate: nil, scopes: nil, body: toolCall("delete_repo"), status: 401,
			www: `Bearer realm="scopegate", scope="mcp:github:read mcp:github:admin", ` + githubMetadata, id: "1", code: codeInsufficientScope},
		{name: "An anonymous caller may use an unruled tool", scopes: nil, body: toolCall("echo"), status: 200, forward: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			rt := toolsRoute(t, be, c.mutate)
			rt.AllowAnonymous = c.scopes == nil
			f.gw.Table().Set(rt)
			tok := ""
			if c.scopes != nil {
				tok = f.token(t, "team-a.github", c.scopes, []string{"mcp"})
			}
			method := c.method
			if method == "" {
				method = http.MethodPost
			}
			before := calls.Load()
			res := f.doBody(t, method, "/mcp/github", tok, c.header, c.body)
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.status, b)
			}
			if forwarded := calls.Load() != before; forwarded != c.forward {
				t.Fatalf("forwarded: %v, want %v", forwarded, c.forward)
			}
			if c.forward {
				var got struct {
					Body   string `json:"body"`
					Length int64  `json:"length"`
				}
				_ = json.Unmarshal(b, &got)
				if got.Body != c.body || got.Length != int64(len(c.body)) {
					t.Errorf("the backend got %q (Content-Length %d), want the body as sent", got.Body, got.Length)
				}
				return
			}
			if c.www != "" && res.Header.Get("WWW-Authenticate") != c.www {
				t.Errorf("WWW-Authenticate %q, want %q", res.Header.Get("WWW-Authenticate"), c.www)
			}
			if c.batch > 0 {
				var answers []rpcAnswer
				if err := json.Unmarshal(b, &answers); err != nil || len(answers) != c.batch {
					t.Fatalf("batch answer %s, want %d errors", b, c.batch)
				}
				if answers[0].Error.Code != -32600 || answers[1].Error.Code != codeInsufficientScope || string(answers[1].ID) != "2" {
					t.Errorf("batch answer %s", b)
				}
				return
			}
			var a rpcAnswer
			if err := json.Unmarshal(b, &a); err != nil || a.JSONRPC != "2.0" || a.Error == nil {
				t.Fatalf("answer %s is not a JSON-RPC error", b)
			}
			if string(a.ID) != c.id || a.Error.Code != c.code || c.message != "" && a.Error.Message != c.message {
				t.Errorf("answer %s, want id %s code %d message %q", b, c.id, c.code, c.message)
			}
		})
	}
}

func TestItemRulesLimitPerRule(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(t)
	f.gw.Table().Set(toolsRoute(t, bodyBackend(t, &calls), func(p *ItemPolicy) {
		p.Rules[0].RateLimit = &registry.RateLimit{RequestsPerSecond: 0.01, Burst: 2}
	}))
	tok := f.token(t, "team-a.github", []string{"mcp:github:read", "mcp:github:admin"}, []string{"mcp"})
	for i, want := range []int{200, 200, 429} {
		res := f.doBody(t, http.MethodPost, "/mcp/github", tok, nil, toolCall("delete_repo"))
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("call %d of delete_repo: %d, want %d", i+1, res.StatusCode, want)
		}
		if want == 429 && (res.Header.Get("Retry-After") == "" || res.Header.Get("RateLimit-Limit") != "2") {
			t.Errorf("429 without Retry-After or RateLimit-Limit 2: %v", res.Header)
		}
	}
	if res := f.doBody(t, http.MethodPost, "/mcp/github", tok, nil, toolCall("echo")); res.StatusCode != 200 {
		t.Errorf("a tool outside the limited rule was refused: %d", res.StatusCode)
	}
	if res := f.doBody(t, http.MethodPost, "/mcp/github", tok, nil, toolCall("merge_pr")); res.StatusCode != 429 {
		t.Errorf("another tool of the limited rule passed: %d", res.StatusCode)
	}
	other := f.token(t, "team-a.other", []string{"mcp:github:read", "mcp:github:admin"}, []string{"mcp"})
	if res := f.doBody(t, http.MethodPost, "/mcp/github", other, nil, toolCall("delete_repo")); res.StatusCode != 200 {
		t.Errorf("another client shares the first one's rule bucket: %d", res.StatusCode)
	}
	// A batch takes one token per item: three calls never fit a bucket of two.
	f.gw.Table().Set(toolsRoute(t, bodyBackend(t, &calls), func(p *ItemPolicy) {
		p.Rules[0].RateLimit = &registry.RateLimit{RequestsPerSecond: 0.01, Burst: 2}
	}))
	f.reg.Upsert(&registry.Client{ID: "team-a.third", Subject: registry.SubjectFor("team-a.third"), Scopes: []string{"mcp:github:read", "mcp:github:admin"}})
	third := f.token(t, "team-a.third", []string{"mcp:github:read", "mcp:github:admin"}, []string{"mcp"})
	batch := `[` + toolCall("delete_repo") + `,` + strings.Replace(toolCall("merge_a"), `"id":1`, `"id":2`, 1) + `,` + strings.Replace(toolCall("merge_b"), `"id":1`, `"id":3`, 1) + `]`
	if res := f.doBody(t, http.MethodPost, "/mcp/github", third, nil, batch); res.StatusCode != 429 {
		t.Errorf("a batch of three calls passed a bucket of two: %d", res.StatusCode)
	}
}

func TestExplainAnswersAsTheGatewayForItems(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(t)
	f.gw.Table().Set(toolsRoute(t, bodyBackend(t, &calls), nil))
	f.reg.Upsert(&registry.Client{ID: "team-a.admin", Subject: registry.SubjectFor("team-a.admin"), Scopes: []string{"mcp:github:read", "mcp:github:admin"}})
	for _, c := range []struct {
		client, method, item string
		status               int
		reason               string
	}{
		{"team-a.github", "tools/call", "delete_repo", 403, ReasonToolDenied},
		{"team-a.admin", "tools/call", "delete_repo", 200, ReasonAuthorized},
		{"team-a.github", "tools/call", "echo", 200, ReasonAuthorized},
		{"team-a.github", "resources/read", "file:///secret/x", 403, ReasonResourceDenied},
		{"team-a.github", "tools/list", "", 200, ReasonAuthorized},
	} {
		x, err := f.gw.Explain(t.Context(), ExplainRequest{Path: "/mcp/github", ClientID: c.client, JSONRPCMethod: c.method, Item: c.item})
		if err != nil {
			t.Fatal(err)
		}
		if x.Status != c.status || x.Reason != c.reason {
			t.Errorf("%s %s %s: explain says %d %s, want %d %s", c.client, c.method, c.item, x.Status, x.Reason, c.status, c.reason)
		}
		last := x.Checks[len(x.Checks)-1]
		if c.status == 403 && (last.Name != "items" || !strings.Contains(last.Detail, "rule ")) {
			t.Errorf("the last check of a refusal is %+v, want the items check naming the rule", last)
		}
		if c.status == 403 && !strings.Contains(x.WWWAuthenticate, `scope="mcp:github:read mcp:github:`) {
			t.Errorf("explain's challenge %q lacks the scopes", x.WWWAuthenticate)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("explain reached the backend")
	}
}
