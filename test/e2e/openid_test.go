package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// nodeClient applies the Node.js clients' manifest once per test and
// returns the credentials of e2e-node/node-client.
func (h *harness) nodeClient(t *testing.T) creds {
	t.Helper()
	h.apply(t, "node-clients.yaml", h.vars())
	h.waitReady(t, "e2e-node", "oauthclient/node-client")
	h.waitReady(t, "e2e-node", "gatewayroute/node-api")
	h.waitRoute(t, "/e2e/node/api")
	return h.credentials(t, "e2e-node", "node-client")
}

func TestOpenIDClient(t *testing.T) {
	h := env(t)
	c := h.nodeClient(t)
	for _, method := range []string{"basic", "post"} {
		t.Run("openid-client discovers, fetches, introspects and revokes with client_secret_"+method, func(t *testing.T) {
			var res struct {
				Metadata      map[string]any `json:"metadata"`
				GrantedScope  string         `json:"grantedScope"`
				Introspection map[string]any `json:"introspection"`
				RevokedToken  string         `json:"revokedToken"`
			}
			runNode(t, "openid_client.mjs", map[string]any{
				"issuer": h.issuer, "clientId": c.ClientID, "clientSecret": c.ClientSecret,
				"scope": "mcp a2a", "authMethod": method,
			}, &res)
			if got := strings.Fields(res.GrantedScope); !sameSet(got, []string{"mcp", "a2a"}) {
				t.Errorf("e2e: openid-client grant: scope %q, want mcp a2a", res.GrantedScope)
			}
			if !containsAny(res.Metadata["grant_types_supported"], "client_credentials") {
				t.Errorf("e2e: metadata grant_types_supported %v lacks client_credentials", res.Metadata["grant_types_supported"])
			}
			if !containsAny(res.Metadata["token_endpoint_auth_methods_supported"], "client_secret_basic") ||
				!containsAny(res.Metadata["token_endpoint_auth_methods_supported"], "client_secret_post") {
				t.Errorf("e2e: metadata token_endpoint_auth_methods_supported %v", res.Metadata["token_endpoint_auth_methods_supported"])
			}
			in := res.Introspection
			if in["iss"] != h.issuer || in["client_id"] != c.ClientID || in["sub"] == nil || in["jti"] == nil {
				t.Errorf("e2e: introspection %v: want iss %s, client_id %s, sub and jti", in, h.issuer, c.ClientID)
			}
			// The token openid-client revoked is refused by the gateway
			// within 2 s (SPEC §5).
			deadline := time.Now().Add(2 * time.Second)
			var last gatewayResponse
			for {
				r, err := h.gateway(http.MethodGet, "/e2e/node/api/revoked", res.RevokedToken)
				if err == nil {
					last = r
					if r.Status == http.StatusUnauthorized && bearerError(r.Header) == "invalid_token" {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("e2e: gateway still answers %s to the token openid-client revoked, 2 s later", last)
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

func TestOAuth4WebAPIValidatesTokensAndDiscoversTheResource(t *testing.T) {
	h := env(t)
	c := h.nodeClient(t)
	tok := h.token(t, c, "mcp", nil)
	resource := h.gatewayURL + "/e2e/node/api"
	var res struct {
		Claims           map[string]any `json:"claims"`
		ResourceMetadata map[string]any `json:"resourceMetadata"`
	}
	runNode(t, "oauth4webapi.mjs", map[string]any{
		"issuer": h.issuer, "accessToken": tok, "audience": "api", "resource": resource,
	}, &res)
	if res.Claims["client_id"] != c.ClientID || res.Claims["scope"] != "mcp" {
		t.Errorf("e2e: validateJwtAccessToken claims %v: want client_id %s, scope mcp", res.Claims, c.ClientID)
	}
	if res.ResourceMetadata["resource"] != resource {
		t.Errorf("e2e: RFC 9728 resource %v, want %s", res.ResourceMetadata["resource"], resource)
	}
	if !containsAny(res.ResourceMetadata["scopes_supported"], "mcp") {
		t.Errorf("e2e: RFC 9728 scopes_supported %v lacks the route's scope mcp", res.ResourceMetadata["scopes_supported"])
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// containsAny reports whether a JSON array (decoded as []any) holds s.
func containsAny(v any, s string) bool {
	arr, ok := v.([]any)
	if !ok {
		return false
	}
	for _, x := range arr {
		if x == s {
			return true
		}
	}
	return false
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
