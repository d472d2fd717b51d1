package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	corev1 "k8s.io/api/core/v1"
)

const (
	assertionTypeJWT   = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeJWT       = "urn:ietf:params:oauth:token-type:jwt"
)

// serviceAccountToken asks the API server for a projected token of the
// ServiceAccount ns/name with the issuer as audience, with kubectl as the
// README shows (a pod gets the same from a projected volume).
func (h *harness) serviceAccountToken(t *testing.T, ns, name string) string {
	t.Helper()
	out := h.mustKubectl(t, "create token", "create", "token", name, "-n", ns, "--audience", h.issuer, "--duration", "10m")
	return strings.TrimSpace(out)
}

// TestWorkloadIdentity: a pod's ServiceAccount token, and no secret, gets
// access tokens from x/oauth2 (client assertion and token exchange) and from
// the MCP SDK (its static private_key_jwt provider), which then call routes
// through the gateway.
func TestWorkloadIdentity(t *testing.T) {
	h := env(t)
	port := startNodeUpstream(t, "server-everything",
		"node_modules/@modelcontextprotocol/server-everything/dist/index.js", "streamableHttp")
	h.apply(t, "workload.yaml", h.vars("MCP_URL", fmt.Sprintf("http://127.0.0.1:%d", port)))
	h.waitReady(t, "e2e-wl", "oauthclient/wl-agent")
	h.waitReady(t, "e2e-wl", "gatewayroute/wl-echo")
	h.waitReady(t, "e2e-wl", "gatewayroute/wl-everything")
	h.waitRoute(t, "/e2e/wl/echo")
	h.waitRoute(t, "/mcp/wl")

	creds := h.secret(t, "e2e-wl", "wl-agent-credentials", func(s *corev1.Secret) (bool, string) {
		return len(s.Data["ca.crt"]) > 0, "no ca.crt yet"
	})
	if _, ok := creds.Data["client_secret"]; ok {
		t.Fatalf("e2e: the credentials Secret of a secretless client holds a client_secret")
	}
	clientID, tokenURL := string(creds.Data["client_id"]), string(creds.Data["token_url"])
	saToken := h.serviceAccountToken(t, "e2e-wl", "wl-agent")
	// Trust scopegate through the Secret's ca.crt only, as the pod would.
	hc, err := h.clientTrusting(creds.Data["ca.crt"])
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)

	t.Run("x/oauth2 with the ServiceAccount token as client assertion calls the gateway", func(t *testing.T) {
		cfg := clientcredentials.Config{
			ClientID: clientID, TokenURL: tokenURL, Scopes: []string{"mcp:wl:read"}, AuthStyle: oauth2.AuthStyleInParams,
			EndpointParams: url.Values{"client_assertion_type": {assertionTypeJWT}, "client_assertion": {saToken}, "audience": {"api"}},
		}
		tok, err := cfg.Token(ctx)
		if err != nil {
			t.Fatalf("e2e: x/oauth2 client assertion at %s: %v", tokenURL, err)
		}
		claims := claimsOf(t, tok.AccessToken)
		if claims["client_id"] != clientID || claims["service_account"] != "system:serviceaccount:e2e-wl:wl-agent" || claims["scope"] != "mcp:wl:read" {
			t.Errorf("e2e: claims %v", claims)
		}
		r := h.expectGateway(t, "a token from a client assertion on /e2e/wl/echo", "/e2e/wl/echo/assertion", tok.AccessToken, http.StatusOK)
		got, err := h.echo.received("/wl/assertion")
		if err != nil {
			t.Fatalf("e2e: gateway answered %s but: %v", r, err)
		}
		checkIdentityHeaders(t, got.Headers, clientID, "mcp:wl:read")
	})

	t.Run("x/oauth2 exchanges the ServiceAccount token (RFC 8693) for an access token", func(t *testing.T) {
		cfg := clientcredentials.Config{
			ClientID: clientID, TokenURL: tokenURL, Scopes: []string{"mcp:wl:read"}, AuthStyle: oauth2.AuthStyleInParams,
			EndpointParams: url.Values{"grant_type": {grantTokenExchange}, "subject_token": {saToken},
				"subject_token_type": {tokenTypeJWT}, "audience": {"api"}},
		}
		tok, err := cfg.Token(ctx)
		if err != nil {
			t.Fatalf("e2e: x/oauth2 token exchange at %s: %v", tokenURL, err)
		}
		if got := tok.Extra("issued_token_type"); got != "urn:ietf:params:oauth:token-type:access_token" {
			t.Errorf("e2e: issued_token_type %v", got)
		}
		h.expectGateway(t, "an exchanged token on /e2e/wl/echo", "/e2e/wl/echo/x", tok.AccessToken, http.StatusOK)
	})

	t.Run("A token for another audience, or no assertion at all, is refused with invalid_client", func(t *testing.T) {
		wrong := strings.TrimSpace(h.mustKubectl(t, "create token", "create", "token", "wl-agent", "-n", "e2e-wl", "--audience", "https://elsewhere.example"))
		for what, params := range map[string]url.Values{
			"another audience": {"client_assertion_type": {assertionTypeJWT}, "client_assertion": {wrong}},
			"no assertion":     nil,
		} {
			cfg := clientcredentials.Config{ClientID: clientID, TokenURL: tokenURL, Scopes: []string{"mcp"}, AuthStyle: oauth2.AuthStyleInParams, EndpointParams: params}
			_, err := cfg.Token(ctx)
			re, ok := err.(*oauth2.RetrieveError)
			if !ok || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
				t.Errorf("e2e: %s: err %v, want 401 invalid_client", what, err)
			}
		}
	})

	t.Run("The MCP SDK's static private_key_jwt provider calls an MCP route with the ServiceAccount token", func(t *testing.T) {
		var res struct {
			Tools []string `json:"tools"`
			Echo  string   `json:"echo"`
		}
		runNode(t, "mcp_client.mjs", map[string]any{
			"url": h.gatewayURL + "/mcp/wl", "issuer": h.issuer, "clientId": clientID, "assertion": saToken,
			"scope": "mcp", "expect": "ok", "message": "secretless through scopegate",
		}, &res)
		if !strings.Contains(res.Echo, "secretless through scopegate") {
			t.Errorf("e2e: echo answered %q", res.Echo)
		}
	})
}
