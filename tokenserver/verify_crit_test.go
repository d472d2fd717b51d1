package tokenserver

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
)

// signWithHeader signs an otherwise valid access token of team-a.alpha with
// the fixture's current signing key, with extra JOSE header members.
func (f *fixture) signWithHeader(header map[string]any, mutate ...func(*accesstoken.Claims)) string {
	f.t.Helper()
	k, err := f.ring.Signing()
	if err != nil {
		f.t.Fatal(err)
	}
	now := f.clock.Now()
	c := &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: testIssuer, Subject: registry.SubjectFor("team-a.alpha"), Audience: jwt.ClaimStrings{"mcp"},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now), ID: "jti-crit",
		},
		ClientID: "team-a.alpha", Scope: "mcp", TokenType: "Bearer",
	}
	for _, m := range mutate {
		m(c)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["kid"] = k.ID
	tok.Header["typ"] = accesstoken.TypAccessToken
	for name, v := range header {
		tok.Header[name] = v
	}
	raw, err := tok.SignedString(k.Private)
	if err != nil {
		f.t.Fatal(err)
	}
	return raw
}

// critCases are headers RFC 7515 §4.1.11 makes a recipient refuse:
// scopegate understands no extension, and the malformed forms are refused
// as such.
var critCases = []struct {
	name   string
	header map[string]any
}{
	{"an unknown critical extension that is present", map[string]any{"crit": []string{"x-unknown"}, "x-unknown": true}},
	{"an unknown critical extension among others", map[string]any{"crit": []string{"x-a", "x-b"}, "x-a": 1, "x-b": "v"}},
	{"an empty crit list", map[string]any{"crit": []string{}}},
	{"crit that is a string, not an array", map[string]any{"crit": "x-unknown", "x-unknown": true}},
	{"crit that is an object", map[string]any{"crit": map[string]any{"x": 1}}},
	{"crit listing a registered header", map[string]any{"crit": []string{"alg"}}},
	{"crit listing a member that is absent", map[string]any{"crit": []string{"x-absent"}}},
	{"crit listing a non-string", map[string]any{"crit": []any{7}}},
	{"crit that is null", map[string]any{"crit": nil}},
	{"b64, an extension scopegate does not implement", map[string]any{"crit": []string{"b64"}, "b64": false}},
}

func TestVerifyRefusesCriticalHeaders(t *testing.T) {
	for _, tc := range critCases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			raw := f.signWithHeader(tc.header)
			for i := range 2 {
				// Twice: a refused token must not be cached and pass later.
				if _, err := f.srv.Verify(t.Context(), raw); !errors.Is(err, accesstoken.ErrInvalidToken) {
					t.Fatalf("verification %d: err %v, want accesstoken.ErrInvalidToken", i+1, err)
				}
			}
			if n := f.srv.cache.len(); n != 0 {
				t.Errorf("the verified-token cache holds %d entries after refusals", n)
			}
			if got := f.introspect(raw); got["active"] != false || len(got) != 1 {
				t.Errorf("introspection answered %v, want only active=false", got)
			}
		})
	}
	t.Run("the same token without crit verifies", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.srv.Verify(t.Context(), f.signWithHeader(nil)); err != nil {
			t.Fatalf("a token with an ordinary header fails: %v", err)
		}
	})
}

func TestVerifyRefusesIdentityClaimsWithControlCharacters(t *testing.T) {
	// The gateway forwards client_id, sub and scope as headers and logs jti:
	// a signed token holding a control character there is refused.
	cases := map[string]func(*accesstoken.Claims){
		"sub":        func(c *accesstoken.Claims) { c.Subject = "abc\r\nX-Injected: 1" },
		"scope":      func(c *accesstoken.Claims) { c.Scope = "mcp\tadmin" },
		"jti":        func(c *accesstoken.Claims) { c.ID = "jti\x00" },
		"plugin_id":  func(c *accesstoken.Claims) { c.PluginID = "git\x1bhub" },
		"session_id": func(c *accesstoken.Claims) { c.SessionID = "sess\u0085" },
	}
	for name, mutate := range cases {
		t.Run("a control character in "+name+" is refused", func(t *testing.T) {
			f := newFixture(t)
			raw := f.signWithHeader(nil, mutate)
			if _, err := f.srv.Verify(t.Context(), raw); !errors.Is(err, accesstoken.ErrInvalidToken) {
				t.Fatalf("err %v, want accesstoken.ErrInvalidToken", err)
			}
		})
	}
}
