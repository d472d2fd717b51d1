package tokenserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/scopegate/scopegate/internal/accesstoken"
)

func TestOAuth2ClientGetsTokensWithBothAuthStyles(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"header", oauth2.AuthStyleInHeader}, {"params", oauth2.AuthStyleInParams}} {
		t.Run("auth style "+style.name+" gets a verifiable token", func(t *testing.T) {
			cfg := clientcredentials.Config{
				ClientID: "team-a.alpha", ClientSecret: secretA, TokenURL: ts.URL + PathToken,
				Scopes: []string{"mcp", "mcp:github:read"}, AuthStyle: style.style,
				EndpointParams: url.Values{"audience": {"mcp"}},
			}
			tok, err := cfg.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || tok.Expiry.IsZero() || tok.Extra("scope") != "mcp mcp:github:read" {
				t.Errorf("token %+v scope %v", tok, tok.Extra("scope"))
			}
			c, err := f.srv.Verify(t.Context(), tok.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Audience) != 1 || c.Audience[0] != "mcp" {
				t.Errorf("aud %v", c.Audience)
			}
		})
	}
	t.Run("a wrong secret fails with invalid_client", func(t *testing.T) {
		cfg := clientcredentials.Config{ClientID: "team-a.alpha", ClientSecret: "nope", TokenURL: ts.URL + PathToken, Scopes: []string{"mcp"}, AuthStyle: oauth2.AuthStyleInHeader}
		_, err := cfg.Token(context.Background())
		re, ok := err.(*oauth2.RetrieveError)
		if !ok || re.ErrorCode != "invalid_client" {
			t.Fatalf("err %v", err)
		}
	})
}

// fetchJWKS reads the served JWKS with go-jose.
func fetchJWKS(t *testing.T, h http.Handler) jose.JSONWebKeySet {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, PathJWKS, nil))
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil {
		t.Fatalf("JWKS does not parse with go-jose: %v: %s", err, w.Body)
	}
	return set
}

// joseVerify checks raw with go-jose against set: signature, typ, iss.
func joseVerify(t *testing.T, set jose.JSONWebKeySet, raw string) (string, map[string]any) {
	t.Helper()
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("go-jose cannot parse: %v", err)
	}
	h := tok.Headers[0]
	if h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		t.Errorf("typ %v", h.ExtraHeaders[jose.HeaderType])
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %s not in the JWKS", h.KeyID)
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("signature does not verify with go-jose: %v", err)
	}
	if claims["iss"] != testIssuer {
		t.Errorf("iss %v", claims["iss"])
	}
	return h.KeyID, claims
}

func TestTokensVerifyWithGoJoseAcrossAKeyRotation(t *testing.T) {
	f := newFixture(t)
	h := f.srv.Handler()
	first, err := f.srv.Issue(t.Context(), accesstoken.IssueRequest{ClientID: "team-a.alpha", Scopes: []string{"mcp"}, TTL: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	kid1, claims := joseVerify(t, fetchJWKS(t, h), first.Raw)
	for _, k := range []string{"sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "username", "user_type", "roles", "token_type", "session_id"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("claim %s missing", k)
		}
	}
	if _, isList := claims["aud"].([]any); !isList {
		t.Errorf("aud is not an array: %v", claims["aud"])
	}

	// 29 days later the next key is published but does not sign yet.
	f.clock.Step(29*24*time.Hour + time.Hour)
	if changed, err := f.ring.Maintain(); err != nil || !changed {
		t.Fatalf("maintain: %v %v", changed, err)
	}
	if n := len(fetchJWKS(t, h).Keys); n != 2 {
		t.Fatalf("JWKS holds %d keys during pre-publication, want 2", n)
	}
	pre, _ := f.srv.Issue(t.Context(), accesstoken.IssueRequest{ClientID: "team-a.alpha", Scopes: []string{"mcp"}})
	if pre.KeyID != kid1 {
		t.Errorf("the next key signed before its activation")
	}

	// After activation the new key signs; the old token still verifies.
	f.clock.Step(24 * time.Hour)
	second, _ := f.srv.Issue(t.Context(), accesstoken.IssueRequest{ClientID: "team-a.alpha", Scopes: []string{"mcp"}})
	set := fetchJWKS(t, h)
	kid2, _ := joseVerify(t, set, second.Raw)
	if kid2 == kid1 {
		t.Fatalf("new token has the old kid")
	}
	if !f.srv.KeyRetired(kid1) || f.srv.KeyRetired(kid2) {
		t.Errorf("KeyRetired: old %v new %v", f.srv.KeyRetired(kid1), f.srv.KeyRetired(kid2))
	}
	joseVerify(t, set, pre.Raw)

	// Once every token of the old key expired, it is dropped.
	f.clock.Step(25 * time.Hour)
	if _, err := f.ring.Maintain(); err != nil {
		t.Fatal(err)
	}
	set = fetchJWKS(t, h)
	if len(set.Key(kid1)) != 0 || len(set.Key(kid2)) != 1 {
		t.Errorf("after retirement the JWKS holds %d keys", len(set.Keys))
	}
}

func TestMetadataNamesEveryEndpoint(t *testing.T) {
	f := newFixture(t)
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, PathMetadata, nil))
	var md map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &md); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"issuer": testIssuer, "token_endpoint": testIssuer + PathToken, "jwks_uri": testIssuer + PathJWKS,
		"introspection_endpoint": testIssuer + PathIntrospect, "revocation_endpoint": testIssuer + PathRevoke,
		"authorization_endpoint": testIssuer + PathAuthorize,
	}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("%s = %v, want %s", k, md[k], v)
		}
	}
	for _, k := range []string{"grant_types_supported", "token_endpoint_auth_methods_supported", "scopes_supported", "response_types_supported"} {
		if _, ok := md[k].([]any); !ok {
			t.Errorf("%s is not a list: %v", k, md[k])
		}
	}
}
