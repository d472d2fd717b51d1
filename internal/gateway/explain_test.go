package gateway

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

// realFixture is a gateway whose verifier is the real token server, so that
// explain sees why a token is refused as the gateway does.
type realFixture struct {
	*fixture
	srv     *tokenserver.Server
	ring    *keys.Ring
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
		rf.ring = ring
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
