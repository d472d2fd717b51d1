package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// TestGoClientCredentials drives the token server and the gateway with
// golang.org/x/oauth2/clientcredentials, configured only from the
// credentials Secret the controller wrote.
func TestGoClientCredentials(t *testing.T) {
	h := env(t)
	h.apply(t, "go-client.yaml", h.vars())
	h.waitReady(t, "e2e-go", "oauthclient/go-client")
	h.waitReady(t, "e2e-go", "oauthclient/go-reader")
	h.waitReady(t, "e2e-go", "gatewayroute/go-echo")
	unauth := h.waitRoute(t, "/e2e/go/echo")

	c := h.credentials(t, "e2e-go", "go-client")
	t.Run("The credentials Secret names the client, the issuer and the token endpoint", func(t *testing.T) {
		if c.ClientID != "e2e-go.go-client" {
			t.Errorf("e2e: client_id %q, want e2e-go.go-client", c.ClientID)
		}
		if c.Issuer != h.issuer {
			t.Errorf("e2e: issuer %q, want %q", c.Issuer, h.issuer)
		}
		if c.TokenURL != h.issuer+"/oauth/token" {
			t.Errorf("e2e: token_url %q, want %q", c.TokenURL, h.issuer+"/oauth/token")
		}
		if len(c.ClientSecret) < 43 || strings.Trim(c.ClientSecret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("e2e: client_secret: %d characters, want 43+ from the URL-safe alphabet", len(c.ClientSecret))
		}
	})

	styles := []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"client_secret_basic", oauth2.AuthStyleInHeader},
		{"client_secret_post", oauth2.AuthStyleInParams},
	}
	for _, s := range styles {
		t.Run("A token fetched with "+s.name+" is accepted by the gateway", func(t *testing.T) {
			tok, err := h.tokenWith(c, "mcp", nil, s.style)
			if err != nil {
				t.Fatalf("e2e: x/oauth2 clientcredentials (%s) against %s: %v", s.name, c.TokenURL, err)
			}
			if !strings.EqualFold(tok.TokenType, "Bearer") {
				t.Errorf("e2e: token_type %q, want Bearer", tok.TokenType)
			}
			hdr, claims := headerOf(t, tok.AccessToken), claimsOf(t, tok.AccessToken)
			if hdr["typ"] != "at+jwt" || hdr["alg"] != "ES256" || hdr["kid"] == nil {
				t.Errorf("e2e: token header %v, want typ at+jwt, alg ES256 and a kid", hdr)
			}
			if claims["iss"] != h.issuer || claims["client_id"] != c.ClientID || claims["scope"] != "mcp" {
				t.Errorf("e2e: token claims iss %v client_id %v scope %v, want %s %s mcp", claims["iss"], claims["client_id"], claims["scope"], h.issuer, c.ClientID)
			}
			r := h.expectGateway(t, "x/oauth2 token ("+s.name+")", "/e2e/go/echo/"+s.name, tok.AccessToken, http.StatusOK)
			got, err := h.echo.received("/go/" + s.name)
			if err != nil {
				t.Fatalf("e2e: gateway answered %s but: %v", r, err)
			}
			checkIdentityHeaders(t, got.Headers, c.ClientID, "mcp")
		})
	}

	t.Run("The token Secret's access_token is accepted by the gateway", func(t *testing.T) {
		s := h.secret(t, "e2e-go", "go-client-token", func(s *corev1.Secret) (bool, string) {
			return len(s.Data["access_token"]) > 0, "no access_token yet"
		})
		if s.Type != scopegatev1alpha1.SecretTypeAccessToken {
			t.Errorf("e2e: token Secret type %q, want %s", s.Type, scopegatev1alpha1.SecretTypeAccessToken)
		}
		for _, k := range []string{"access_token", "token_type", "expires_at", "scope", "audience", "issuer", "token.json"} {
			if len(s.Data[k]) == 0 {
				t.Errorf("e2e: token Secret lacks key %s", k)
			}
		}
		for _, a := range []string{scopegatev1alpha1.AnnotationClient, scopegatev1alpha1.AnnotationRevision, scopegatev1alpha1.AnnotationNotAfter, scopegatev1alpha1.AnnotationRenewalTime} {
			if s.Annotations[a] == "" {
				t.Errorf("e2e: token Secret lacks annotation %s", a)
			}
		}
		h.expectGateway(t, "token Secret access_token", "/e2e/go/echo/from-secret", string(s.Data["access_token"]), http.StatusOK)
	})

	t.Run("A call without a token gets 401 pointing at the resource metadata", func(t *testing.T) {
		w := unauth.Header.Get("WWW-Authenticate")
		want := `resource_metadata="` + h.gatewayURL + `/.well-known/oauth-protected-resource/e2e/go/echo"`
		if !strings.HasPrefix(w, "Bearer ") || !strings.Contains(w, want) {
			t.Errorf("e2e: WWW-Authenticate %q, want Bearer with %s", w, want)
		}
	})

	t.Run("A client without the route's scope gets 403 insufficient_scope", func(t *testing.T) {
		reader := h.credentials(t, "e2e-go", "go-reader")
		r := h.expectGateway(t, "go-reader token", "/e2e/go/echo/", h.token(t, reader, "reports:read", nil), http.StatusForbidden)
		if got := bearerError(r.Header); got != "insufficient_scope" {
			t.Errorf("e2e: error %q, want insufficient_scope; got %s", got, r)
		}
		if !strings.Contains(r.Header.Get("WWW-Authenticate"), `scope="mcp"`) {
			t.Errorf(`e2e: 403 challenge lacks scope="mcp": %s`, r)
		}
	})

	t.Run("The metrics count the issued tokens and the gateway's decisions", func(t *testing.T) {
		h.waitMetric(t, "scopegate_tokens_issued_total")
		h.waitMetric(t, "scopegate_token_requests_total", `outcome="issued"`)
		h.waitMetric(t, "scopegate_gateway_requests_total", `route="e2e-go/go-echo"`, `decision="allow"`, `code="200"`)
		h.waitMetric(t, "scopegate_gateway_requests_total", `route="e2e-go/go-echo"`, `decision="deny"`, `code="403"`)
	})
}

// checkIdentityHeaders checks what the gateway forwarded (SPEC §6): no
// Authorization, the seed's identity headers.
func checkIdentityHeaders(t *testing.T, hdr http.Header, clientID, scope string) {
	t.Helper()
	if v := hdr.Get("Authorization"); v != "" {
		t.Errorf("e2e: backend received an Authorization header (token passthrough)")
	}
	if v := hdr.Get("X-Client-Id"); v != clientID {
		t.Errorf("e2e: backend x-client-id %q, want %q", v, clientID)
	}
	if v := hdr.Get("X-Proxy-Verified"); v != "true" {
		t.Errorf("e2e: backend x-proxy-verified %q, want true", v)
	}
	if v := hdr.Get("X-User-Id"); v == "" {
		t.Errorf("e2e: backend received no x-user-id")
	}
	if v := hdr.Get("X-User-Permissions"); !slices.Contains(strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }), scope) {
		t.Errorf("e2e: backend x-user-permissions %q lacks %s", v, scope)
	}
}
