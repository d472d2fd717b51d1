package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/dpop/dpoptest"
)

func TestADPoPBoundTokenReachesTheBackendWithoutItsProof(t *testing.T) {
	rf := newRealFixture(t)
	rf.backend = echoBackend(t, "github").URL
	rf.gw.Table().Set(githubRoute(t, rf.backend))
	key := dpoptest.NewES256(t)
	tok := rf.forge(t, func(c *accesstoken.Claims) { c.Confirmation = &accesstoken.Confirmation{JKT: key.Thumbprint()} })
	// The proof names the path as the client sent it, escapes included.
	const target = "/mcp/github/a%20b"
	proof := key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: http.MethodPost, HTU: testGatewayURL + target, IAT: rf.clock.Now(), ATH: dpoptest.ATH(tok)})

	res := rf.do(t, http.MethodPost, target, "", http.Header{"Authorization": {"dpop " + tok}, "Dpop": {proof}})
	e := readEcho(t, res)
	for _, h := range []string{"Dpop", "Authorization"} {
		if v := e.Header.Get(h); v != "" {
			t.Errorf("the backend received %s: %q", h, v)
		}
	}
	if e.Header.Get(HeaderClientID) != "team-a.github" {
		t.Errorf("identity headers %v", e.Header)
	}
	if logs := rf.logs.all(); strings.Contains(logs, proof) || strings.Contains(logs, tok) {
		t.Errorf("the decision log holds the proof or the token")
	}

	t.Run("a proof for another path is refused with the algorithms to use", func(t *testing.T) {
		other := key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: http.MethodPost, HTU: testGatewayURL + "/mcp/github/other", IAT: rf.clock.Now(), ATH: dpoptest.ATH(tok)})
		res := rf.do(t, http.MethodPost, target, "", http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {other}})
		ch := res.Header.Get("WWW-Authenticate")
		if res.StatusCode != 401 || !strings.HasPrefix(ch, `DPoP realm="scopegate", error="invalid_dpop_proof"`) || !strings.Contains(ch, `algs="ES256 `) {
			t.Errorf("status %d, WWW-Authenticate %q", res.StatusCode, ch)
		}
	})
	t.Run("two DPoP headers are refused", func(t *testing.T) {
		p := key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: http.MethodPost, HTU: testGatewayURL + target, IAT: rf.clock.Now(), ATH: dpoptest.ATH(tok)})
		res := rf.do(t, http.MethodPost, target, "", http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {p, p}})
		if res.StatusCode != 401 {
			t.Errorf("status %d", res.StatusCode)
		}
	})
}

func TestARouteThatRequiresDPoPRefusesBearerTokens(t *testing.T) {
	rf := newRealFixture(t)
	rt := githubRoute(t, echoBackend(t, "github").URL)
	rt.RequireDPoP = true
	rf.gw.Table().Set(rt)
	const target = "/mcp/github/tools"

	t.Run("an unbound bearer token is refused with a DPoP challenge", func(t *testing.T) {
		tok := rf.issue(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
		res := rf.do(t, http.MethodGet, target, tok, nil)
		res.Body.Close()
		ch := res.Header.Get("WWW-Authenticate")
		if res.StatusCode != 401 || !strings.HasPrefix(ch, `DPoP realm="scopegate", error="invalid_token"`) ||
			!strings.Contains(ch, `algs="ES256 `) || !strings.Contains(ch, `resource_metadata="`+testGatewayURL+WellKnownProtectedResource+"/mcp/github") {
			t.Errorf("status %d, WWW-Authenticate %q", res.StatusCode, ch)
		}
	})
	t.Run("a bound token with its proof is accepted", func(t *testing.T) {
		key := dpoptest.NewES256(t)
		tok := rf.forge(t, func(c *accesstoken.Claims) { c.Confirmation = &accesstoken.Confirmation{JKT: key.Thumbprint()} })
		proof := key.Proof(t, dpoptest.Claims{JTI: dpoptest.JTI(), HTM: http.MethodGet, HTU: testGatewayURL + target, IAT: rf.clock.Now(), ATH: dpoptest.ATH(tok)})
		res := rf.do(t, http.MethodGet, target, "", http.Header{"Authorization": {"DPoP " + tok}, "Dpop": {proof}})
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("status %d", res.StatusCode)
		}
	})
	t.Run("the resource metadata says DPoP-bound tokens are required", func(t *testing.T) {
		res := rf.do(t, http.MethodGet, WellKnownProtectedResource+"/mcp/github", "", nil)
		var md map[string]any
		if err := json.NewDecoder(res.Body).Decode(&md); err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if md["dpop_bound_access_tokens_required"] != true {
			t.Errorf("metadata %v", md)
		}
		rf.gw.Table().Set(githubRoute(t, echoBackend(t, "github").URL))
		res = rf.do(t, http.MethodGet, WellKnownProtectedResource+"/mcp/github", "", nil)
		md = nil
		_ = json.NewDecoder(res.Body).Decode(&md)
		res.Body.Close()
		if _, ok := md["dpop_bound_access_tokens_required"]; ok {
			t.Errorf("a route that does not require DPoP says dpop_bound_access_tokens_required: %v", md)
		}
		rf.gw.Table().Set(rt)
	})
	t.Run("explaining what a client could do assumes it gets a bound token", func(t *testing.T) {
		x, err := rf.gw.Explain(t.Context(), ExplainRequest{Path: target, ClientID: "team-a.github", Scopes: []string{"mcp:github:read"}, Audiences: []string{"mcp"}})
		if err != nil {
			t.Fatal(err)
		}
		if x.Reason != ReasonAuthorized || x.Route == nil || !x.Route.RequireDPoP {
			t.Errorf("explain: reason %s, route %+v", x.Reason, x.Route)
		}
	})
}
