package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// publishedKids lists the kids of the token server's JWKS.
func (h *harness) publishedKids(t *testing.T) []string {
	t.Helper()
	res, err := h.http.Get(h.issuer + "/.well-known/jwks.json")
	if err != nil {
		t.Fatalf("e2e: GET JWKS: %v", err)
	}
	defer res.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("e2e: GET JWKS: %s, decode error %v", res.Status, err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	slices.Sort(kids)
	return kids
}

// waitMetric polls the manager's /metrics until a sample of name carries
// every label given (as `key="value"`), and returns that line.
func (h *harness) waitMetric(t *testing.T, name string, labels ...string) string {
	t.Helper()
	var found string
	eventually(t, "metric "+name+"{"+strings.Join(labels, ",")+"} on "+h.metricsURL+"/metrics", defaultWait, pollInterval, func() (bool, string) {
		res, err := h.http.Get(h.metricsURL + "/metrics")
		if err != nil {
			return false, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
				continue
			}
			ok := true
			for _, l := range labels {
				ok = ok && strings.Contains(line, l)
			}
			if ok {
				found = line
				return true, ""
			}
		}
		return false, res.Status + ": no such sample"
	})
	return found
}

// TestStateSurvivesAManagerRestart stops the manager with SIGTERM and starts
// it again with the same flags: clients, signing keys and revocations live in
// the cluster, and the token Secret is not re-issued.
func TestStateSurvivesAManagerRestart(t *testing.T) {
	h := env(t)
	h.apply(t, "restart.yaml", h.vars())
	h.waitReady(t, "e2e-restart", "oauthclient/survivor")
	h.waitReady(t, "e2e-restart", "gatewayroute/restart-echo")
	h.waitRoute(t, "/e2e/restart/echo")
	c := h.credentials(t, "e2e-restart", "survivor")
	kept, revoked := h.token(t, c, "mcp", nil), h.token(t, c, "mcp", nil)
	if r, err := h.postForm("/oauth/revoke", c, url.Values{"token": {revoked}}); err != nil || r.Status != http.StatusOK {
		t.Fatalf("e2e: revoke before the restart: %v %s", err, r)
	}
	h.expectGateway(t, "revoked token before the restart", "/e2e/restart/echo/x", revoked, http.StatusUnauthorized)
	tokSecret := h.secret(t, "e2e-restart", "survivor-token", func(s *corev1.Secret) (bool, string) {
		return len(s.Data["access_token"]) > 0, "no access_token yet"
	})
	kids := h.publishedKids(t)

	if err := h.manager.stop(30 * time.Second); err != nil {
		t.Fatalf("e2e: stop the manager with SIGTERM: %v", err)
	}
	if err := h.manager.waitErr(); err != nil {
		t.Errorf("e2e: manager exit after SIGTERM: %v, want a clean exit", err)
	}
	if err := h.startManager(); err != nil {
		t.Fatalf("e2e: restart the manager: %v", err)
	}
	h.waitRoute(t, "/e2e/restart/echo")

	if got := h.publishedKids(t); !slices.Equal(got, kids) {
		t.Errorf("e2e: JWKS kids after the restart %v, want the same %v", got, kids)
	}
	r := h.expectGateway(t, "token issued before the restart", "/e2e/restart/echo/kept", kept, http.StatusOK)
	_ = r
	rr := h.expectGateway(t, "token revoked before the restart", "/e2e/restart/echo/revoked", revoked, http.StatusUnauthorized)
	if got := bearerError(rr.Header); got != "invalid_token" {
		t.Errorf("e2e: revoked token after the restart: %s", rr)
	}
	if in := h.introspect(t, c, revoked); in.active() {
		t.Errorf("e2e: introspection of a token revoked before the restart: %s, want active false", in)
	}
	h.expectGateway(t, "new token after the restart", "/e2e/restart/echo/new", h.token(t, c, "mcp", nil), http.StatusOK)

	// Once the restarted manager exports the token Secret's expiry (SPEC §7),
	// its controller has reconciled the client; the token Secret must still
	// be the one issued before.
	h.waitMetric(t, "scopegate_token_secret_expiration_timestamp_seconds", `namespace="e2e-restart"`, `name="survivor"`)
	h.waitReady(t, "e2e-restart", "oauthclient/survivor")
	after := h.secret(t, "e2e-restart", "survivor-token", nil)
	if after.Annotations[scopegatev1alpha1.AnnotationRevision] != tokSecret.Annotations[scopegatev1alpha1.AnnotationRevision] ||
		string(after.Data["access_token"]) != string(tokSecret.Data["access_token"]) {
		t.Errorf("e2e: token Secret re-issued by the restart: revision %s → %s (access_token changed: %v)",
			tokSecret.Annotations[scopegatev1alpha1.AnnotationRevision], after.Annotations[scopegatev1alpha1.AnnotationRevision],
			string(after.Data["access_token"]) != string(tokSecret.Data["access_token"]))
	}
	h.expectGateway(t, "token Secret after the restart", "/e2e/restart/echo/secret", string(after.Data["access_token"]), http.StatusOK)
}
