package gateway

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

// TestTheTokenServersVerifierRefusesCriticalHeaders runs the gateway with
// the real token server as its verifier: a token signed with scopegate's
// own key whose header lists a critical extension never reaches the
// backend (RFC 7515 §4.1.11), cached verification or not.
func TestTheTokenServersVerifierRefusesCriticalHeaders(t *testing.T) {
	clock := newFakeClock()
	ring, err := keys.NewMemoryRing(keys.Policy{}, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	var srv *tokenserver.Server
	f := newFixture(t, func(o *Options) {
		o.Now = clock.Now
		srv, err = tokenserver.New(tokenserver.Options{
			Issuer: testIssuer, Registry: o.Registry, Keys: ring,
			Revocations: revocation.NewMemory(clock.Now), Now: clock.Now, Metrics: prometheus.NewRegistry(),
		})
		if err != nil {
			t.Fatal(err)
		}
		o.Verifier = srv
	})
	var hits atomic.Int32
	be := echoBackendFunc(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	f.gw.Table().Set(githubRoute(t, be.URL))

	sign := func(header map[string]any) string {
		k, err := ring.Signing()
		if err != nil {
			t.Fatal(err)
		}
		now := clock.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, &accesstoken.Claims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: testIssuer, Subject: registry.SubjectFor("team-a.github"), Audience: jwt.ClaimStrings{"mcp"},
				ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), ID: "jti-gw-crit",
			},
			ClientID: "team-a.github", Scope: "mcp mcp:github:read", TokenType: "Bearer",
		})
		tok.Header["kid"] = k.ID
		tok.Header["typ"] = accesstoken.TypAccessToken
		for name, v := range header {
			tok.Header[name] = v
		}
		raw, err := tok.SignedString(k.Private)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}

	plain := sign(nil)
	if res := f.do(t, http.MethodGet, "/mcp/github/tools", plain, nil); res.StatusCode != http.StatusOK {
		t.Fatalf("the same token without crit: status %d, want 200", res.StatusCode)
	}
	hits.Store(0)
	for _, h := range []map[string]any{
		{"crit": []string{"x-unknown"}, "x-unknown": true},
		{"crit": []string{}},
		{"crit": "x-unknown", "x-unknown": true},
		{"crit": []string{"kid"}},
		{"crit": []string{"x-absent"}},
	} {
		raw := sign(h)
		for range 2 {
			res := f.do(t, http.MethodGet, "/mcp/github/tools", raw, nil)
			if res.StatusCode != http.StatusUnauthorized || readError(t, res).Error != "invalid_token" {
				t.Errorf("header %v: status %d, want 401 invalid_token", h, res.StatusCode)
			}
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the backend was reached %d times by tokens with crit", n)
	}
}
