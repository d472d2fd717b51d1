package e2e

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

func TestKubectlAppliesTheSamplesAndTheyBecomeReady(t *testing.T) {
	h := env(t)
	h.mustKubectl(t, "apply config/samples", "apply", "-k", "config/samples")
	h.waitReady(t, "default", "oauthclient/demo-agent")
	h.waitReady(t, "default", "oauthclient/reporting-job")
	h.waitReady(t, "default", "gatewayroute/echo")

	tok := h.secret(t, "default", "demo-agent-token", func(s *corev1.Secret) (bool, string) {
		return len(s.Data["access_token"]) > 0, "no access_token yet"
	})
	// The sample route's backend is `make run`'s echo server on
	// 127.0.0.1:3001. Normally nothing listens there during the suite: an
	// authorised call then passes the gateway's checks and ends at the dead
	// backend, which the gateway reports as 502/503 with a JSON body (SPEC §6).
	if c, err := net.DialTimeout("tcp", "127.0.0.1:3001", time.Second); err == nil {
		_ = c.Close()
		h.expectGateway(t, "sample demo-agent token on /mcp/echo (a backend listens on 3001)", "/mcp/echo/", string(tok.Data["access_token"]), http.StatusOK)
	} else {
		r := h.expectGatewayAny(t, "sample demo-agent token on /mcp/echo", "/mcp/echo/", string(tok.Data["access_token"]),
			http.StatusBadGateway, http.StatusServiceUnavailable)
		if !strings.Contains(r.Header.Get("Content-Type"), "json") {
			t.Errorf("e2e: gateway error for a dead backend: Content-Type %q, want JSON (SPEC §6); got %s", r.Header.Get("Content-Type"), r)
		}
	}
	// reporting-job holds only reports:read: 403 insufficient_scope naming mcp.
	rj := h.credentials(t, "default", "reporting-job")
	forbidden := h.expectGateway(t, "sample reporting-job token on /mcp/echo", "/mcp/echo/", h.token(t, rj, "reports:read", url.Values{"audience": {"mcp"}}), http.StatusForbidden)
	if got := bearerError(forbidden.Header); got != "insufficient_scope" || !strings.Contains(forbidden.Header.Get("WWW-Authenticate"), `scope="mcp"`) {
		t.Errorf("e2e: reporting-job on /mcp/echo: error %q, want insufficient_scope with scope=\"mcp\"; got %s", got, forbidden)
	}
}

func TestKubectlWaitsForReadyOnBothKindsByShortName(t *testing.T) {
	h := env(t)
	h.apply(t, "kubectl.yaml", h.vars())
	h.waitReady(t, "e2e-kubectl", "oac/inventory-agent")
	h.waitReady(t, "e2e-kubectl", "gwr/inventory")

	out := h.mustKubectl(t, "list OAuthClients", "get", "oac", "-n", "e2e-kubectl")
	for _, col := range []string{"READY", "CLIENT-ID", "SCOPES", "TOKEN-EXPIRES", "AGE", "e2e-kubectl.inventory-agent"} {
		if !strings.Contains(out, col) {
			t.Errorf("e2e: kubectl get oac: output lacks %q:\n%s", col, out)
		}
	}
	c := h.oauthClient(t, "e2e-kubectl", "inventory-agent")
	if c.Status.ClientID != "e2e-kubectl.inventory-agent" {
		t.Errorf("e2e: status.clientID = %q, want e2e-kubectl.inventory-agent", c.Status.ClientID)
	}
	for _, typ := range []string{scopegatev1alpha1.ConditionReady, scopegatev1alpha1.ConditionCredentialsReady, scopegatev1alpha1.ConditionTokenReady} {
		if !hasTrueCondition(c.Status.Conditions, typ, c.Generation) {
			t.Errorf("e2e: OAuthClient inventory-agent: condition %s is not True for generation %d: %+v", typ, c.Generation, c.Status.Conditions)
		}
	}

	// The token Secret's token carries the custom scope and reaches the
	// backend under the route's backend path.
	tok := h.secret(t, "e2e-kubectl", "inventory-agent-token", func(s *corev1.Secret) (bool, string) {
		return len(s.Data["access_token"]) > 0, "no access_token yet"
	})
	if tok.Type != scopegatev1alpha1.SecretTypeAccessToken {
		t.Errorf("e2e: token Secret type %q, want %s", tok.Type, scopegatev1alpha1.SecretTypeAccessToken)
	}
	if got := string(tok.Data["scope"]); got != "mcp:inventory:read" {
		t.Errorf("e2e: token Secret scope %q, want mcp:inventory:read", got)
	}
	h.expectGateway(t, "inventory-agent token Secret on /e2e/kubectl/inventory", "/e2e/kubectl/inventory/items", string(tok.Data["access_token"]), http.StatusOK)
	if _, err := h.echo.received("/inventory/items"); err != nil {
		t.Errorf("e2e: gateway did not replace the prefix by backend.path: %v", err)
	}
}

func TestKubectlRefusesInvalidManifestsNamingTheField(t *testing.T) {
	h := env(t)
	cases := []struct {
		name, file, kindName string
		wants                []string
	}{
		{"An OAuthClient whose tokenSecret.scopes are not a subset of scopes is refused",
			"invalid/oauthclient-token-scopes.yaml", "oauthclient/e2e-invalid-token-scopes", []string{"spec.tokenSecret.scopes"}},
		{"An OAuthClient with a malformed scope is refused",
			"invalid/oauthclient-scope.yaml", "oauthclient/e2e-invalid-scope", []string{"spec.scopes[1]"}},
		{"An OAuthClient whose renewBefore is not shorter than duration is refused",
			"invalid/oauthclient-renew-before.yaml", "oauthclient/e2e-invalid-renew-before", []string{"spec.tokenSecret.renewBefore"}},
		{"A GatewayRoute whose pathPrefix contains .. is refused",
			"invalid/gatewayroute-dotdot.yaml", "gatewayroute/e2e-invalid-dotdot", []string{"spec.pathPrefix"}},
		{"A GatewayRoute with both backend.service and backend.url is refused",
			"invalid/gatewayroute-two-backends.yaml", "gatewayroute/e2e-invalid-two-backends", []string{"spec.backend"}},
		{"A GatewayRoute with an unknown protocol is refused",
			"invalid/gatewayroute-protocol.yaml", "gatewayroute/e2e-invalid-protocol", []string{"spec.protocol"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := h.kubectlIn(h.manifest(t, c.file, nil), "apply", "-f", "-")
			if err == nil {
				t.Fatalf("e2e: kubectl apply -f testdata/%s succeeded, want a refusal: %s", c.file, oneLine(out))
			}
			for _, w := range c.wants {
				if !strings.Contains(out, w) {
					t.Errorf("e2e: kubectl apply -f testdata/%s: refusal does not name %q: %s", c.file, w, oneLine(out))
				}
			}
			if got, err := h.kubectlIn("", "-n", "default", "get", c.kindName); err == nil {
				t.Errorf("e2e: refused object %s exists after all: %s", c.kindName, oneLine(got))
			}
		})
	}
}
