package gateway

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

// realFixture is a gateway whose verifier is the real token server, so that
// explain sees why a token is refused as the gateway does.
type realFixture struct {
	*fixture
	srv     *tokenserver.Server
	revs    *revocation.Memory
	backend string
}

func newRealFixture(t *testing.T) *realFixture {
	t.Helper()
	rf := &realFixture{}
	rf.fixture = newFixture(t, func(o *Options) {
		ring, err := keys.NewMemoryRing(keys.Policy{}, o.Now)
		if err != nil {
			t.Fatal(err)
		}
		rf.revs = revocation.NewMemory(o.Now)
		rf.srv, err = tokenserver.New(tokenserver.Options{Issuer: testIssuer, Registry: o.Registry, Keys: ring,
			Revocations: rf.revs, Now: o.Now, Metrics: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		o.Verifier = rf.srv
	})
	return rf
}

func (rf *realFixture) issue(t *testing.T, client string, scopes, aud []string) string {
	t.Helper()
	tok, err := rf.srv.Issue(t.Context(), accesstoken.IssueRequest{ClientID: client, Scopes: scopes, Audiences: aud})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Raw
}

func TestExplainAgreesWithTheGateway(t *testing.T) {
	type tc struct {
		name     string
		path     string
		setup    func(t *testing.T, rf *realFixture) ExplainRequest
		decision string
		reason   string
		status   int
	}
	good := func(t *testing.T, rf *realFixture) ExplainRequest {
		return ExplainRequest{Token: rf.issue(t, "team-a.github", []string{"mcp", "mcp:github:read"}, []string{"mcp"})}
	}
	cases := []tc{
		{"an authorized token is allowed", "/mcp/github/tools", good, "allow", "authorized", 200},
		{"no route is 404 with the nearest prefix", "/mcp/gitlab/tools", good, "deny", "no_route", 404},
		{"no token is 401 missing_token", "/mcp/github/tools", func(*testing.T, *realFixture) ExplainRequest { return ExplainRequest{} }, "deny", "missing_token", 401},
		{"a token without the scope is 403 insufficient_scope", "/mcp/github/tools", func(t *testing.T, rf *realFixture) ExplainRequest {
			return ExplainRequest{Token: rf.issue(t, "team-a.github", []string{"mcp"}, []string{"mcp"})}
		}, "deny", "insufficient_scope", 403},
		{"a token for another audience is 403 audience_mismatch", "/mcp/github/tools", func(t *testing.T, rf *realFixture) ExplainRequest {
			return ExplainRequest{Token: rf.issue(t, "team-a.github", []string{"mcp:github:read"}, []string{"api"})}
		}, "deny", "audience_mismatch", 403},
		{"an expired token is 401 expired", "/mcp/github/tools", func(t *testing.T, rf *realFixture) ExplainRequest {
			r := good(t, rf)
			rf.clock.Step(2 * time.Hour)
			return r
		}, "deny", "expired", 401},
		{"a forged token is 401 bad_signature", "/mcp/github/tools", func(t *testing.T, rf *realFixture) ExplainRequest {
			return ExplainRequest{Token: rf.ver.sign(t, tokenSpec{clientID: "team-a.github", scopes: []string{"mcp:github:read"}, aud: []string{"mcp"}})}
		}, "deny", "bad_signature", 401},
		{"a revoked token is 401 revoked", "/mcp/github/tools", func(t *testing.T, rf *realFixture) ExplainRequest {
			r := good(t, rf)
			c, err := rf.srv.Verify(t.Context(), r.Token)
			if err != nil {
				t.Fatal(err)
			}
			if err := rf.revs.Revoke(t.Context(), c.ID, c.ExpiresAt.Time); err != nil {
				t.Fatal(err)
			}
			return r
		}, "deny", "revoked", 401},
		{"a suspended client's token is 401 client_suspended", "/mcp/github/tools", func(t *testing.T, rf *realFixture) ExplainRequest {
			r := good(t, rf)
			c, _ := rf.reg.Get("team-a.github")
			cp := *c
			cp.Suspended = true
			rf.reg.Upsert(&cp)
			return r
		}, "deny", "client_suspended", 401},
		{"a rate-limited client is 429, and explaining takes no token", "/mcp/github/tools", func(t *testing.T, rf *realFixture) ExplainRequest {
			r := good(t, rf)
			rt := githubRoute(t, rf.backend)
			rt.RateLimit = &registry.RateLimit{RequestsPerSecond: 0.001, Burst: 1}
			rf.gw.Table().Set(rt)
			for range 3 {
				if x, err := rf.gw.Explain(t.Context(), ExplainRequest{Method: "GET", Path: "/mcp/github/tools", Token: r.Token}); err != nil || x.Decision != "allow" {
					t.Fatalf("explaining before any request: %+v %v", x, err)
				}
			}
			if res := rf.do(t, http.MethodGet, "/mcp/github/tools", r.Token, nil); res.StatusCode != 200 {
				t.Fatalf("the one request the bucket allows: %d", res.StatusCode)
			}
			return r
		}, "deny", "rate_limited", 429},
		{"a hypothetical client holding the scope is allowed", "/mcp/github/tools", func(*testing.T, *realFixture) ExplainRequest {
			return ExplainRequest{ClientID: "team-a.github", Scopes: []string{"mcp:github:read"}, Audiences: []string{"mcp"}}
		}, "allow", "authorized", 200},
		{"a hypothetical client without it is 403", "/mcp/github/tools", func(*testing.T, *realFixture) ExplainRequest {
			return ExplainRequest{ClientID: "team-a.other", Scopes: []string{"api"}}
		}, "deny", "insufficient_scope", 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rf := newRealFixture(t)
			rf.backend = echoBackend(t, "github").URL
			rf.gw.Table().Set(githubRoute(t, rf.backend))
			req := c.setup(t, rf)
			req.Method, req.Path = "GET", c.path
			x, err := rf.gw.Explain(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if x.Decision != c.decision || x.Reason != c.reason || x.Status != c.status {
				t.Fatalf("explained %s/%s/%d, want %s/%s/%d: %s", x.Decision, x.Reason, x.Status, c.decision, c.reason, c.status, mustJSON(t, x))
			}
			if b := mustJSON(t, x); req.Token != "" && strings.Contains(b, req.Token) {
				t.Errorf("the explanation echoes the token")
			}
			if req.ClientID != "" {
				return // a hypothetical token cannot be sent
			}
			res := rf.do(t, http.MethodGet, c.path, req.Token, nil)
			if res.StatusCode != x.Status {
				t.Errorf("the gateway answered %d, explain said %d", res.StatusCode, x.Status)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != x.WWWAuthenticate {
				t.Errorf("the gateway's WWW-Authenticate %q, explain said %q", got, x.WWWAuthenticate)
			}
			if x.Status == 429 && res.Header.Get("Retry-After") != x.RetryAfter {
				t.Errorf("Retry-After %q, explain said %q", res.Header.Get("Retry-After"), x.RetryAfter)
			}
		})
	}
}

func TestExplainNamesTheChecks(t *testing.T) {
	rf := newRealFixture(t)
	rf.gw.Table().Set(githubRoute(t, echoBackend(t, "github").URL))
	x, err := rf.gw.Explain(t.Context(), ExplainRequest{Path: "/mcp/github/x", ClientID: "team-a.github", Scopes: []string{"mcp:github:read"}, Audiences: []string{"mcp"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range x.Checks {
		names = append(names, c.Name)
		if c.Name == "scopes" && c.SatisfiedBy["mcp:github:read"] != "mcp:github:read" {
			t.Errorf("scopes check %+v", c)
		}
	}
	if got := strings.Join(names, ","); got != "route,token,client,scopes,audience,rateLimit,backend" {
		t.Errorf("checks %s", got)
	}
	x, _ = rf.gw.Explain(t.Context(), ExplainRequest{Path: "/mcp/gitlab", Token: "x"})
	if x.NearestPrefix != "/mcp/github" || x.Route != nil {
		t.Errorf("no route: nearest %q route %+v", x.NearestPrefix, x.Route)
	}
	if _, err := rf.gw.Explain(t.Context(), ExplainRequest{Path: "relative"}); err == nil {
		t.Errorf("a relative path was explained")
	}
	if _, err := rf.gw.Explain(t.Context(), ExplainRequest{Path: "/x", Token: "a", ClientID: "b"}); err == nil {
		t.Errorf("a token and a clientId were both accepted")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
