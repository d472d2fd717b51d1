package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"golang.org/x/oauth2"
	corev1 "k8s.io/api/core/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// lifecycle applies the lifecycle manifest and waits for the clients a test
// needs plus the auditor and the route.
func (h *harness) lifecycle(t *testing.T, clients ...string) {
	t.Helper()
	h.apply(t, "lifecycle.yaml", h.vars())
	for _, c := range append([]string{"auditor"}, clients...) {
		h.waitReady(t, "e2e-life", "oauthclient/"+c)
	}
	h.waitReady(t, "e2e-life", "gatewayroute/life-echo")
	h.waitRoute(t, "/e2e/life/echo")
}

func TestARevokedTokenIsRefusedWithinTwoSeconds(t *testing.T) {
	h := env(t)
	h.lifecycle(t, "revoker")
	c, auditor := h.credentials(t, "e2e-life", "revoker"), h.credentials(t, "e2e-life", "auditor")
	tok := h.token(t, c, "mcp", nil)
	h.expectGateway(t, "fresh token", "/e2e/life/echo/revoke", tok, http.StatusOK)

	r, err := h.postForm("/oauth/revoke", c, url.Values{"token": {tok}, "token_type_hint": {"access_token"}})
	if err != nil || r.Status != http.StatusOK {
		t.Fatalf("e2e: POST /oauth/revoke as %s: %v %s, want 200", c.ClientID, err, r)
	}
	revokedAt := time.Now()
	var last gatewayResponse
	for {
		g, err := h.gateway(http.MethodGet, "/e2e/life/echo/revoke", tok)
		if err == nil {
			last = g
			if g.Status == http.StatusUnauthorized && bearerError(g.Header) == "invalid_token" {
				break
			}
		}
		if time.Since(revokedAt) > 2*time.Second {
			t.Fatalf("e2e: gateway still answers %s to a token revoked 2 s ago", last)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if in := h.introspect(t, auditor, tok); in.active() {
		t.Errorf("e2e: introspection of a revoked token: %s, want active false", in)
	}
	// A fresh token of the same client still works: only the jti is revoked.
	h.expectGateway(t, "new token after a revocation", "/e2e/life/echo/revoke", h.token(t, c, "mcp", nil), http.StatusOK)
}

func TestASuspendedClientIsRefusedEverywhere(t *testing.T) {
	h := env(t)
	h.lifecycle(t, "suspendee")
	c, auditor := h.credentials(t, "e2e-life", "suspendee"), h.credentials(t, "e2e-life", "auditor")
	tok := h.token(t, c, "mcp", nil)
	h.expectGateway(t, "token before suspension", "/e2e/life/echo/suspend", tok, http.StatusOK)

	h.mustKubectl(t, "suspend the client", "-n", "e2e-life", "patch", "oauthclient", "suspendee", "--type=merge", "-p", `{"spec":{"suspended":true}}`)
	h.expectRefusedEverywhere(t, "suspended", "/e2e/life/echo/suspend", c, auditor, tok)

	h.mustKubectl(t, "resume the client", "-n", "e2e-life", "patch", "oauthclient", "suspendee", "--type=merge", "-p", `{"spec":{"suspended":false}}`)
	eventually(t, "token request after resuming the client", defaultWait, pollInterval, func() (bool, string) {
		tok, err := h.tokenWith(c, "mcp", nil, oauth2.AuthStyleInHeader)
		if err != nil {
			return false, err.Error()
		}
		g, err := h.gateway(http.MethodGet, "/e2e/life/echo/suspend", tok.AccessToken)
		if err != nil {
			return false, err.Error()
		}
		return g.Status == http.StatusOK, "gateway: " + g.String()
	})
}

func TestADeletedClientIsRefusedEverywhere(t *testing.T) {
	h := env(t)
	h.lifecycle(t, "deletee")
	c, auditor := h.credentials(t, "e2e-life", "deletee"), h.credentials(t, "e2e-life", "auditor")
	tok := h.token(t, c, "mcp", nil)
	h.expectGateway(t, "token before deletion", "/e2e/life/echo/delete", tok, http.StatusOK)

	h.mustKubectl(t, "delete the client", "-n", "e2e-life", "delete", "oauthclient", "deletee", "--wait=true", "--timeout=60s")
	h.expectRefusedEverywhere(t, "deleted", "/e2e/life/echo/delete", c, auditor, tok)
}

// expectRefusedEverywhere checks that a client that is now state (suspended
// or deleted) is refused everywhere: its token at the gateway (401
// invalid_token) and at introspection (inactive, asked by auditor), and its
// token requests (invalid_client).
func (h *harness) expectRefusedEverywhere(t *testing.T, state, path string, c, auditor creds, tok string) {
	t.Helper()
	r := h.expectGateway(t, "token of a "+state+" client", path, tok, http.StatusUnauthorized)
	if got := bearerError(r.Header); got != "invalid_token" {
		t.Errorf("e2e: %s client's token at the gateway: error %q, want invalid_token; got %s", state, got, r)
	}
	if in := h.introspect(t, auditor, tok); in.active() {
		t.Errorf("e2e: introspection of a %s client's token: %s, want active false", state, in)
	}
	h.expectInvalidClient(t, "token request of a "+state+" client", c)
}

// expectInvalidClient polls (the registry follows the cluster) until a token
// request of c is refused with 401 invalid_client. Each try is a failed
// authentication, which the token server rate-limits per source address, so
// it polls slowly.
func (h *harness) expectInvalidClient(t *testing.T, step string, c creds) {
	t.Helper()
	eventually(t, step+": 401 invalid_client", defaultWait, time.Second, func() (bool, string) {
		r, err := h.postForm("/oauth/token", c, url.Values{"grant_type": {"client_credentials"}, "scope": {"mcp"}})
		if err != nil {
			return false, err.Error()
		}
		return r.Status == http.StatusUnauthorized && r.Body["error"] == "invalid_client", r.String()
	})
}

func TestRotatedCredentialsKeepTheOldSecretWorkingDuringTheGracePeriod(t *testing.T) {
	h := env(t)
	h.lifecycle(t, "rotator")
	old := h.credentials(t, "e2e-life", "rotator")
	value := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	h.mustKubectl(t, "rotate the credentials", "-n", "e2e-life", "annotate", "oauthclient", "rotator",
		scopegatev1alpha1.AnnotationRotateCredentials+"="+value, "--overwrite")
	s := h.secret(t, "e2e-life", "rotator-credentials", func(s *corev1.Secret) (bool, string) {
		return string(s.Data["client_secret"]) != old.ClientSecret, "client_secret unchanged"
	})
	fresh := old
	fresh.ClientSecret = string(s.Data["client_secret"])
	eventually(t, "token request with the new secret", defaultWait, pollInterval, func() (bool, string) {
		_, err := h.tokenWith(fresh, "mcp", nil, oauth2.AuthStyleInHeader)
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if _, err := h.tokenWith(old, "mcp", nil, oauth2.AuthStyleInHeader); err != nil {
		t.Errorf("e2e: token request with the rotated-out secret within its 10 min grace period: %v", err)
	}
	tok := h.token(t, fresh, "mcp", nil)
	h.expectGateway(t, "token from the new secret", "/e2e/life/echo/rotate", tok, http.StatusOK)
	// The status is patched at the end of the pass that wrote the Secret.
	eventually(t, "status.credentials.rotation", defaultWait, pollInterval, func() (bool, string) {
		got := h.oauthClient(t, "e2e-life", "rotator").Status.Credentials
		return got != nil && got.Rotation == value, fmt.Sprintf("status.credentials %+v, want rotation %q", got, value)
	})
}

func TestATokenSecretIsRenewedAndTheNewTokenWorks(t *testing.T) {
	h := env(t)
	h.lifecycle(t, "renewer")
	first := h.secret(t, "e2e-life", "renewer-token", func(s *corev1.Secret) (bool, string) {
		return len(s.Data["access_token"]) > 0 && s.Annotations[scopegatev1alpha1.AnnotationRevision] != "", "no token yet"
	})
	rev1, err := strconv.Atoi(first.Annotations[scopegatev1alpha1.AnnotationRevision])
	if err != nil {
		t.Fatalf("e2e: token Secret revision %q: %v", first.Annotations[scopegatev1alpha1.AnnotationRevision], err)
	}
	h.expectGateway(t, "token Secret before renewal", "/e2e/life/echo/renew", string(first.Data["access_token"]), http.StatusOK)

	// duration 60s, renewBefore 30s: renewed ~30 s after issuance.
	var (
		second *corev1.Secret
		rev2   int
	)
	eventually(t, "token Secret renewal (revision > "+strconv.Itoa(rev1)+")", 75*time.Second, 500*time.Millisecond, func() (bool, string) {
		s := h.secret(t, "e2e-life", "renewer-token", nil)
		rev, _ := strconv.Atoi(s.Annotations[scopegatev1alpha1.AnnotationRevision])
		if rev <= rev1 {
			return false, "revision " + s.Annotations[scopegatev1alpha1.AnnotationRevision]
		}
		second, rev2 = s, rev
		return true, ""
	})
	if string(second.Data["access_token"]) == string(first.Data["access_token"]) {
		t.Errorf("e2e: token Secret revision advanced but access_token is unchanged")
	}
	h.expectGateway(t, "renewed token Secret", "/e2e/life/echo/renew", string(second.Data["access_token"]), http.StatusOK)
	// The status is patched at the end of the pass that wrote the Secret, so it
	// may trail the Secret by a moment; it must catch up.
	eventually(t, "status.token.revision >= "+strconv.Itoa(rev2), defaultWait, pollInterval, func() (bool, string) {
		st := h.oauthClient(t, "e2e-life", "renewer").Status.Token
		return st != nil && st.Revision >= int64(rev2), fmt.Sprintf("status.token %+v does not follow the Secret's revision %d", st, rev2)
	})
}
