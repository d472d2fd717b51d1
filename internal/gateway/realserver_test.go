package gateway

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

// realTokenServer is the token server the manager runs, with keys and
// revocations in memory.
func realTokenServer(t testing.TB, reg *registry.Registry, now func() time.Time) (*tokenserver.Server, *revocation.Memory) {
	t.Helper()
	ring, err := keys.NewMemoryRing(keys.Policy{}, now)
	if err != nil {
		t.Fatalf("key ring: %v", err)
	}
	revoked := revocation.NewMemory(now)
	ts, err := tokenserver.New(tokenserver.Options{Issuer: testIssuer, Registry: reg, Keys: ring, Revocations: revoked, Now: now})
	if err != nil {
		t.Fatalf("token server: %v", err)
	}
	return ts, revoked
}

func TestWithTheRealTokenServer(t *testing.T) {
	var ts *tokenserver.Server
	var revoked *revocation.Memory
	f := newFixture(t, func(o *Options) {
		ts, revoked = realTokenServer(t, o.Registry, o.Now)
		o.Verifier = ts
	})
	be := echoBackend(t, "github")
	f.gw.Table().Set(githubRoute(t, be.URL))
	ctx := context.Background()
	issue := func(scopes ...string) *accesstoken.IssuedToken {
		tok, err := ts.Issue(ctx, accesstoken.IssueRequest{ClientID: "team-a.github", Scopes: scopes, Audiences: []string{"mcp"}})
		if err != nil {
			t.Fatalf("issue: %v", err)
		}
		return tok
	}

	tok := issue("mcp", "mcp:github:read")
	e := readEcho(t, f.do(t, "GET", "/mcp/github/x", tok.Raw, nil))
	if e.Header.Get("X-Client-Id") != "team-a.github" || e.Header.Get("X-User-Permissions") != "mcp,mcp:github:read" {
		t.Fatalf("identity headers %v", e.Header)
	}
	if res := f.do(t, "GET", "/mcp/github/x", issue("mcp").Raw, nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("token without the route's scope: status %d, want 403", res.StatusCode)
	}

	// Revocation is seen on the very next request, cache or not.
	if err := revoked.Revoke(ctx, tok.Claims.ID, tok.ExpiresAt); err != nil {
		t.Fatal(err)
	}
	if res := f.do(t, "GET", "/mcp/github/x", tok.Raw, nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked token: status %d, want 401", res.StatusCode)
	}

	fresh := issue("mcp:github:read")
	wantStatus(t, f.do(t, "GET", "/mcp/github/x", fresh.Raw, nil), 200)
	f.reg.Delete("team-a.github")
	if res := f.do(t, "GET", "/mcp/github/x", fresh.Raw, nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token of a deleted client: status %d, want 401", res.StatusCode)
	}

	f.clock.Step(2 * time.Hour)
	f.reg.Upsert(&registry.Client{ID: "team-a.github", Subject: registry.SubjectFor("team-a.github"), Scopes: []string{"mcp:github:read"}})
	if res := f.do(t, "GET", "/mcp/github/x", fresh.Raw, nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("expired token: status %d, want 401", res.StatusCode)
	}
}
