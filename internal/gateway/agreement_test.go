package gateway

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/dpop/dpoptest"
	"github.com/scopegate/scopegate/internal/llm"
	"github.com/scopegate/scopegate/internal/registry"
)

// forge signs claims with the token server's own current key, for tokens
// the token server would never issue (not yet valid, another issuer).
func (rf *realFixture) forge(t *testing.T, mutate func(*accesstoken.Claims)) string {
	t.Helper()
	k, err := rf.ring.Signing()
	if err != nil {
		t.Fatal(err)
	}
	now := rf.clock.Now()
	c := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: testIssuer, Subject: registry.SubjectFor("team-a.github"),
			Audience: []string{"mcp"}, ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now), ID: "forged-" + t.Name()},
		ClientID: "team-a.github", Scope: "mcp:github:read", TokenType: "Bearer",
	}
	mutate(c)
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["typ"], tok.Header["kid"] = accesstoken.TypAccessToken, k.ID
	raw, err := tok.SignedString(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// agreementCase is one reason code: a request that ends in it, sent through
// the gateway and explained, and what the scope audit says of the client
// behind it.
type agreementCase struct {
	reason string
	// explainReason is what explain says when it cannot know the real
	// answer (a backend failure); "" means reason.
	explainReason string
	status        int
	method, path  string
	header        http.Header
	// body is the request body, given to explain as its body.
	body string
	// request sets the scene and returns the token to send ("" for none).
	request func(t *testing.T, rf *realFixture) string
	// proof, when set, makes the token go in the DPoP scheme with the
	// proof it returns in the DPoP header.
	proof func(t *testing.T, rf *realFixture, token string) string
	// client is what the client behind the token declares, for the
	// audit; nil when the request names no client or no route.
	client *Declared
	// reaches is the audit's expected answer for client and the route.
	reaches bool
}

// TestExplainTheGatewayAndTheAuditAgree sends one request per reason code
// through the gateway (the reason read from its decision metric), explains
// the same request, and applies the audit's rule (Reaches) to the client
// behind it: the three must agree, and every reason code needs a case.
func TestExplainTheGatewayAndTheAuditAgree(t *testing.T) {
	const path = "/mcp/github/tools"
	token := func(scopes, aud []string) func(*testing.T, *realFixture) string {
		return func(t *testing.T, rf *realFixture) string { return rf.issue(t, "team-a.github", scopes, aud) }
	}
	good := token([]string{"mcp", "mcp:github:read"}, []string{"mcp"})
	declared := &Declared{Scopes: []string{"mcp", "mcp:github:read"}, Audiences: []string{"mcp"}}
	setRoute := func(t *testing.T, rf *realFixture, mutate func(*Route)) {
		rt := githubRoute(t, rf.backend)
		mutate(rt)
		rf.gw.Table().Set(rt)
	}
	none := func(*testing.T, *realFixture) string { return "" }
	// DPoP: a token bound to key, and proofs for the agreement's request.
	key := dpoptest.NewES256(t)
	bound := func(t *testing.T, rf *realFixture) string {
		return rf.forge(t, func(c *accesstoken.Claims) { c.Confirmation = &accesstoken.Confirmation{JKT: key.Thumbprint()} })
	}
	proofBy := func(k *dpoptest.Key) func(*testing.T, *realFixture, string) string {
		return func(t *testing.T, rf *realFixture, tok string) string {
			return k.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: http.MethodGet, HTU: testGatewayURL + path, IAT: rf.clock.Now(), ATH: dpoptest.ATH(tok)})
		}
	}
	// withItems gives the route the item rules set by mutate, then gets
	// the token from request.
	withItems := func(request func(*testing.T, *realFixture) string, mutate func(*ItemPolicy)) func(*testing.T, *realFixture) string {
		return func(t *testing.T, rf *realFixture) string {
			p := &ItemPolicy{}
			mutate(p)
			setRoute(t, rf, func(rt *Route) { rt.Items = p })
			return request(t, rf)
		}
	}
	adminRule := func(p *ItemPolicy) {
		p.Rules = []ItemRule{{Tools: []string{"delete_*"}, RequiredScopes: []string{"mcp:github:admin"}}}
	}
	// llmRoute puts an LLM route at /llm with the echo backend as its one
	// OpenAI provider, governs team-a.github by access, and returns its
	// token for the route.
	llmRoute := func(access registry.LLMAccess, key string) func(*testing.T, *realFixture) string {
		return func(t *testing.T, rf *realFixture) string {
			rf.gw.Table().Set(&Route{Key: "team-a/llm", PathPrefix: "/llm", Protocol: ProtocolLLM, Endpoints: githubRoute(t, rf.backend).Endpoints,
				LLM: &LLMRoute{Providers: []*LLMProvider{{Name: "openai", Format: llm.OpenAI, Endpoints: githubRoute(t, rf.backend).Endpoints, Key: key, KeyError: "no Secret"}},
					Models: []llm.ModelRoute{{Match: "gpt-*", Provider: "openai"}}}})
			c, _ := rf.reg.Get("team-a.github")
			cp := *c
			cp.LLM = &access
			rf.reg.Upsert(&cp)
			if access.TokensPerMinute > 0 {
				rf.gw.quotas.Charge("team-a.github", quotaWindows(&access), access.TokensPerMinute)
			}
			return rf.issue(t, "team-a.github", []string{"mcp"}, []string{"llm"})
		}
	}
	chat := func(model string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]}`
	}
	cases := []agreementCase{
		{reason: ReasonModelsListed, status: 200, path: "/llm/v1/models", request: llmRoute(registry.LLMAccess{AllowedModels: []string{"*"}}, "sk")},
		{reason: ReasonModelNotAllowed, status: 403, method: http.MethodPost, path: "/llm/v1/chat/completions", body: chat("gpt-4o"),
			request: llmRoute(registry.LLMAccess{AllowedModels: []string{"gpt-4o-mini"}}, "sk")},
		{reason: ReasonModelNotFound, status: 404, method: http.MethodPost, path: "/llm/v1/chat/completions", body: chat("llama"),
			request: llmRoute(registry.LLMAccess{AllowedModels: []string{"*"}}, "sk")},
		{reason: ReasonInputTokensExceeded, status: 400, method: http.MethodPost, path: "/llm/v1/chat/completions", body: chat("gpt-4o"),
			request: llmRoute(registry.LLMAccess{AllowedModels: []string{"*"}, MaxInputTokens: 5}, "sk")},
		{reason: ReasonTokenQuotaExhausted, status: 429, method: http.MethodPost, path: "/llm/v1/chat/completions", body: chat("gpt-4o"),
			request: llmRoute(registry.LLMAccess{AllowedModels: []string{"*"}, TokensPerMinute: 10}, "sk")},
		{reason: ReasonLLMRequestInvalid, status: 404, method: http.MethodPost, path: "/llm/v1/files", body: chat("gpt-4o"),
			request: llmRoute(registry.LLMAccess{AllowedModels: []string{"*"}}, "sk")},
		{reason: ReasonProviderUnavailable, status: 503, method: http.MethodPost, path: "/llm/v1/chat/completions", body: chat("gpt-4o"),
			request: llmRoute(registry.LLMAccess{AllowedModels: []string{"*"}}, "")},
		{reason: ReasonAuthorized, status: 200, request: good, client: declared, reaches: true},
		{reason: ReasonAnonymous, status: 200, request: func(t *testing.T, rf *realFixture) string {
			setRoute(t, rf, func(rt *Route) { rt.AllowAnonymous = true })
			return ""
		}, client: &Declared{Scopes: []string{"api"}}, reaches: true},
		{reason: ReasonAgentCard, status: 200, path: "/a2a/agent/.well-known/agent-card.json", request: func(t *testing.T, rf *realFixture) string {
			rf.gw.Table().Set(&Route{Key: "team-a/agent", PathPrefix: "/a2a/agent", Protocol: ProtocolA2A,
				Endpoints: githubRoute(t, rf.backend).Endpoints, RequiredScopes: []string{"a2a"}})
			return ""
		}},
		{reason: ReasonCORSPreflight, status: 200, method: http.MethodOptions, request: none,
			header: http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"POST"}}},
		{reason: ReasonResourceMetadata, status: 200, path: WellKnownProtectedResource + "/mcp/github", request: none},
		{reason: ReasonBackendError, explainReason: ReasonAuthorized, status: 502, request: func(t *testing.T, rf *realFixture) string {
			setRoute(t, rf, func(rt *Route) { rt.Endpoints = []*url.URL{{Scheme: "http", Host: "127.0.0.1:1"}} })
			return good(t, rf)
		}, client: declared, reaches: true},
		{reason: ReasonNoRoute, status: 404, path: "/mcp/gitlab/tools", request: good},
		{reason: ReasonAmbiguousPath, status: 400, path: "/mcp/github/a%5cb", request: good},
		{reason: ReasonMethodNotAllowed, status: 405, method: http.MethodPost, path: WellKnownProtectedResource + "/mcp/github", request: none},
		{reason: ReasonMissingToken, status: 401, request: none, client: declared, reaches: true},
		{reason: ReasonMalformedAuthorization, status: 400, request: none, header: http.Header{"Authorization": {"Bearer a b"}}},
		{reason: ReasonBadSignature, status: 401, request: func(t *testing.T, rf *realFixture) string {
			return rf.ver.sign(t, tokenSpec{clientID: "team-a.github", scopes: []string{"mcp:github:read"}, aud: []string{"mcp"}})
		}, client: declared, reaches: true},
		{reason: ReasonExpired, status: 401, request: func(t *testing.T, rf *realFixture) string {
			tok := good(t, rf)
			rf.clock.Step(2 * time.Hour)
			return tok
		}, client: declared, reaches: true},
		{reason: ReasonNotYetValid, status: 401, request: func(t *testing.T, rf *realFixture) string {
			return rf.forge(t, func(c *accesstoken.Claims) { c.NotBefore = jwt.NewNumericDate(rf.clock.Now().Add(time.Hour)) })
		}, client: declared, reaches: true},
		{reason: ReasonForeignIssuer, status: 401, request: func(t *testing.T, rf *realFixture) string {
			return rf.forge(t, func(c *accesstoken.Claims) { c.Issuer = "https://elsewhere.example" })
		}, client: declared, reaches: true},
		{reason: ReasonInvalidToken, status: 401, request: func(*testing.T, *realFixture) string { return "not.a.jwt" }},
		{reason: ReasonRevoked, status: 401, request: func(t *testing.T, rf *realFixture) string {
			tok := good(t, rf)
			c, err := rf.srv.Verify(t.Context(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if err := rf.revs.Revoke(t.Context(), c.ID, c.ExpiresAt.Time); err != nil {
				t.Fatal(err)
			}
			return tok
		}, client: declared, reaches: true},
		{reason: ReasonClientDeleted, status: 401, request: func(t *testing.T, rf *realFixture) string {
			tok := good(t, rf)
			rf.reg.Delete("team-a.github")
			return tok
		}},
		{reason: ReasonClientSuspended, status: 401, request: func(t *testing.T, rf *realFixture) string {
			tok := good(t, rf)
			c, _ := rf.reg.Get("team-a.github")
			cp := *c
			cp.Suspended = true
			rf.reg.Upsert(&cp)
			return tok
		}, client: &Declared{Scopes: declared.Scopes, Audiences: declared.Audiences, Suspended: true}, reaches: false},
		{reason: ReasonAuthorized, status: 200, request: bound, proof: proofBy(key), client: declared, reaches: true},
		{reason: ReasonDPoPRequired, status: 401, request: bound, client: declared, reaches: true},
		// A route that requires DPoP refuses an unbound bearer token; the
		// audit still counts the client, which may get a bound token.
		{reason: ReasonDPoPRequired, status: 401, request: func(t *testing.T, rf *realFixture) string {
			setRoute(t, rf, func(rt *Route) { rt.RequireDPoP = true })
			return good(t, rf)
		}, client: declared, reaches: true},
		{reason: ReasonAuthorized, status: 200, request: func(t *testing.T, rf *realFixture) string {
			setRoute(t, rf, func(rt *Route) { rt.RequireDPoP = true })
			return bound(t, rf)
		}, proof: proofBy(key), client: declared, reaches: true},
		{reason: ReasonInvalidDPoPProof, status: 401, request: bound, proof: proofBy(dpoptest.NewES256(t)), client: declared, reaches: true},
		{reason: ReasonInvalidDPoPProof, status: 401, request: good, proof: proofBy(key), client: declared, reaches: true},
		{reason: ReasonInvalidDPoPProof, status: 401, request: bound, proof: func(t *testing.T, rf *realFixture, tok string) string {
			// A proof the gateway has seen: replayed.
			p := proofBy(key)(t, rf, tok)
			if res := rf.do(t, http.MethodGet, path, "", http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {p}}); res.StatusCode != 200 {
				t.Fatalf("the proof's first use: %d", res.StatusCode)
			}
			return p
		}, client: declared, reaches: true},
		{reason: ReasonCertificateMismatch, status: 401, request: func(t *testing.T, rf *realFixture) string {
			return rf.forge(t, func(c *accesstoken.Claims) { c.Confirmation = &accesstoken.Confirmation{X5TS256: "bm90LXByZXNlbnRlZA"} })
		}, client: declared, reaches: true},
		{reason: ReasonInsufficientScope, status: 403, request: token([]string{"mcp"}, []string{"mcp"}),
			client: &Declared{Scopes: []string{"mcp"}, Audiences: []string{"mcp"}}, reaches: false},
		{reason: ReasonAudienceMismatch, status: 403, request: token([]string{"mcp:github:read"}, []string{"api"}),
			client: &Declared{Scopes: []string{"mcp:github:read"}, Audiences: []string{"api"}}, reaches: false},
		// The route's resource URL with a trailing slash is the same
		// audience (RFC 3986 §6.2.3) to the gateway and to the audit.
		{reason: ReasonAuthorized, status: 200, request: token([]string{"mcp:github:read"}, []string{testGatewayURL + "/mcp/github/"}),
			client: &Declared{Scopes: []string{"mcp:github:read"}, Audiences: []string{testGatewayURL + "/mcp/github/"}}, reaches: true},
		{reason: ReasonToolDenied, status: 403, method: http.MethodPost, body: toolCall("delete_repo"), request: withItems(good, adminRule),
			client: declared, reaches: true},
		{reason: ReasonToolDenied + " (hidden)", status: 200, method: http.MethodPost, body: toolCall("delete_repo"), request: withItems(good, func(p *ItemPolicy) {
			adminRule(p)
			p.Hide = true
		}), client: declared, reaches: true},
		{reason: ReasonPromptDenied, status: 403, method: http.MethodPost, body: `{"jsonrpc":"2.0","id":"p","method":"prompts/get","params":{"name":"triage"}}`,
			request: withItems(good, func(p *ItemPolicy) {
				p.Rules = []ItemRule{{Prompts: []string{"triage"}, RequiredScopes: []string{"mcp:github:triage"}}}
			}), client: declared, reaches: true},
		{reason: ReasonResourceDenied, status: 403, method: http.MethodPost, body: `{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}`,
			request: withItems(good, func(p *ItemPolicy) {
				p.DenyUnlisted = true
				p.Rules = []ItemRule{{Resources: []string{"file:///reports/"}}}
			}), client: declared, reaches: true},
		{reason: ReasonMethodDenied, status: 403, method: http.MethodPost, body: `{"jsonrpc":"2.0","id":1,"method":"tasks/pushNotificationConfig/set","params":{}}`,
			request: func(t *testing.T, rf *realFixture) string {
				setRoute(t, rf, func(rt *Route) {
					rt.Protocol, rt.Audiences = ProtocolA2A, []string{"mcp"}
					rt.Items = &ItemPolicy{Rules: []ItemRule{{Methods: []string{"tasks/pushNotificationConfig/*"}, RequiredScopes: []string{"a2a:agent:admin"}}}}
				})
				return good(t, rf)
			}, client: declared, reaches: true},
		{reason: ReasonJSONRPCInvalid, status: 400, method: http.MethodPost, body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","NAME":"delete_repo"}}`,
			request: withItems(good, adminRule), client: declared, reaches: true},
		{reason: ReasonBodyTooLarge, status: 413, method: http.MethodPost, body: toolCall(strings.Repeat("x", 100)),
			request: withItems(func(t *testing.T, rf *realFixture) string {
				rf.gw.maxInspect = 64
				return good(t, rf)
			}, adminRule), client: declared, reaches: true},
		{reason: ReasonMCPHeaderMismatch, status: 400, method: http.MethodPost, body: toolCall("delete_repo"), header: http.Header{"Mcp-Method": {"tools/call"}, "Mcp-Name": {"echo"}},
			request: withItems(good, func(p *ItemPolicy) {}), client: declared, reaches: true},
		{reason: ReasonUpgradeRefused, status: 400, header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}},
			request: withItems(good, adminRule), client: declared, reaches: true},
		{reason: ReasonRateLimited, status: 429, request: func(t *testing.T, rf *realFixture) string {
			setRoute(t, rf, func(rt *Route) { rt.RateLimit = &registry.RateLimit{RequestsPerSecond: 0.001, Burst: 1} })
			tok := good(t, rf)
			if res := rf.do(t, http.MethodGet, path, tok, nil); res.StatusCode != 200 {
				t.Fatalf("the one request the bucket allows: %d", res.StatusCode)
			}
			return tok
		}, client: declared, reaches: true},
		{reason: ReasonRateLimitUnavailable, status: 503, request: func(t *testing.T, rf *realFixture) string {
			setRoute(t, rf, func(rt *Route) { rt.RateLimit = &registry.RateLimit{RequestsPerSecond: 1, Burst: 1} })
			rf.gw.shared, rf.gw.limitFailClosed = downStore{}, true
			return good(t, rf)
		}, client: declared, reaches: true},
		{reason: ReasonNoReadyEndpoints, status: 503, request: func(t *testing.T, rf *realFixture) string {
			setRoute(t, rf, func(rt *Route) { rt.Endpoints = nil })
			return good(t, rf)
		}, client: declared, reaches: true},
	}

	covered := map[string]bool{}
	for i, c := range cases {
		c.reason, _, _ = strings.Cut(c.reason, " (")
		cases[i].reason = c.reason
		covered[c.reason] = true
	}
	for _, r := range Reasons {
		if !covered[r] {
			t.Errorf("reason code %q has no agreement case: add one", r)
		}
	}

	for _, c := range cases {
		name := c.reason
		if c.explainReason != "" {
			name += " (explained as " + c.explainReason + ")"
		}
		t.Run(name, func(t *testing.T) {
			rf := newRealFixture(t)
			rf.backend = echoBackend(t, "github").URL
			rf.gw.Table().Set(githubRoute(t, rf.backend))
			method, p := c.method, c.path
			if method == "" {
				method = http.MethodGet
			}
			if p == "" {
				p = path
			}
			tok := c.request(t, rf)
			header := c.header.Clone()
			sendAs := tok
			if c.proof != nil {
				if header == nil {
					header = http.Header{}
				}
				header.Set("Authorization", "DPoP "+tok)
				header.Set("DPoP", c.proof(t, rf, tok))
				sendAs = ""
			}

			req := ExplainRequest{Method: method, Path: p, Token: sendAs, Headers: map[string]string{}, Body: c.body}
			for k, vs := range header {
				req.Headers[k] = vs[0]
			}
			x, err := rf.gw.Explain(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			wantExplained := c.reason
			if c.explainReason != "" {
				wantExplained = c.explainReason
			}
			if x.Reason != wantExplained {
				t.Errorf("explain says %s (%d), want %s: %s", x.Reason, x.Status, wantExplained, mustJSON(t, x))
			}
			if b := mustJSON(t, x); tok != "" && strings.Contains(b, tok) {
				t.Errorf("the explanation echoes the token")
			}

			before := decisionCount(t, rf.gw.metrics, routeLabel(x), decisionOf(c.reason), c.reason)
			res := rf.doBody(t, method, p, sendAs, header, c.body)
			res.Body.Close()
			after := decisionCount(t, rf.gw.metrics, routeLabel(x), decisionOf(c.reason), c.reason)
			if after != before+1 {
				t.Errorf("the gateway did not count a %s decision (%v → %v); it answered %d", c.reason, before, after, res.StatusCode)
			}
			if res.StatusCode != c.status {
				t.Errorf("the gateway answered %d, want %d", res.StatusCode, c.status)
			}
			if c.explainReason == "" {
				if x.Status != res.StatusCode {
					t.Errorf("the gateway answered %d, explain said %d", res.StatusCode, x.Status)
				}
				if got := res.Header.Get("WWW-Authenticate"); got != x.WWWAuthenticate {
					t.Errorf("the gateway's WWW-Authenticate %q, explain said %q", got, x.WWWAuthenticate)
				}
				if got := res.Header.Get("Retry-After"); got != x.RetryAfter {
					t.Errorf("the gateway's Retry-After %q, explain said %q", got, x.RetryAfter)
				}
			}

			if c.client != nil {
				rt := githubRoute(t, rf.backend)
				if e := rf.gw.table.match(mustClean(p)); e != nil {
					rt = e.route
				}
				if got := Reaches(rt, testGatewayURL, *c.client); got != c.reaches {
					t.Errorf("the audit says the client reaches the route: %v, want %v", got, c.reaches)
				}
			}
			// The audit can only disagree with a refusal that is about the
			// client's declaration: then it must say "does not reach".
			if c.client != nil && x.Route != nil && slices.Contains([]string{ReasonInsufficientScope, ReasonAudienceMismatch, ReasonClientSuspended}, c.reason) && c.reaches {
				t.Errorf("the gateway refuses with %s, yet the case says the audit lets the client reach the route", c.reason)
			}
		})
	}
}

func toolCall(name string) string {
	return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + name + `","arguments":{}}}`
}

func decisionOf(reason string) string {
	switch reason {
	case ReasonAuthorized, ReasonAnonymous, ReasonAgentCard, ReasonCORSPreflight, ReasonResourceMetadata, ReasonBackendError, ReasonModelsListed:
		return decisionAllow
	}
	return decisionDeny
}

// routeLabel is the route label the gateway counts a decision under.
func routeLabel(x *Explanation) string {
	if x.Route == nil {
		return ""
	}
	return x.Route.Key
}

func mustClean(p string) string {
	c, _ := cleanRequestPath(p)
	return c
}
