package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// adminCall sends a request to the admin API with token.
func (h *harness) adminCall(t *testing.T, method, path, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, h.gatewayURL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := h.http.Do(req)
	if err != nil {
		t.Fatalf("e2e: %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := map[string]any{}
	_ = json.Unmarshal(b, &out)
	return res.StatusCode, res.Header, out
}

// TestAdminAPI follows the README's "Who can reach what": an admin client,
// the admin API's lists, explain agreeing with the gateway, and the audit
// in status.
func TestAdminAPI(t *testing.T) {
	h := env(t)
	h.apply(t, "admin.yaml", h.vars())
	h.waitReady(t, "e2e-admin", "oauthclient/platform-admin")
	h.waitReady(t, "e2e-admin", "oauthclient/reader")
	h.waitReady(t, "e2e-admin", "gatewayroute/adm-echo")
	h.waitRoute(t, "/e2e/admin/echo")

	admin := h.token(t, h.credentials(t, "e2e-admin", "platform-admin"), "admin", url.Values{"audience": {"admin"}})
	reader := h.credentials(t, "e2e-admin", "reader")

	t.Run("Without an admin token the admin API answers 401, with a token of another scope 403", func(t *testing.T) {
		if code, hdr, _ := h.adminCall(t, "GET", "/admin/v1/clients", "", ""); code != 401 || !strings.Contains(hdr.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("e2e: no token: %d %q", code, hdr.Get("WWW-Authenticate"))
		}
		tok := h.token(t, reader, "mcp:adm:read", nil)
		if code, hdr, _ := h.adminCall(t, "GET", "/admin/v1/clients", tok, ""); code != 403 || !strings.Contains(hdr.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Errorf("e2e: reader token: %d %q", code, hdr.Get("WWW-Authenticate"))
		}
	})

	t.Run("The admin API lists clients, routes, keys and revocations", func(t *testing.T) {
		code, _, body := h.adminCall(t, "GET", "/admin/v1/clients?limit=500", admin, "")
		if code != 200 || !strings.Contains(mustJSON(body), `"clientId":"e2e-admin.reader"`) {
			t.Fatalf("e2e: clients: %d %s", code, mustJSON(body))
		}
		for _, p := range []string{"/admin/v1/routes", "/admin/v1/keys", "/admin/v1/revocations"} {
			if code, _, body := h.adminCall(t, "GET", p, admin, ""); code != 200 || strings.Contains(mustJSON(body), "client_secret") {
				t.Errorf("e2e: %s: %d %s", p, code, mustJSON(body))
			}
		}
	})

	t.Run("Explain says why a token is refused, as the gateway then refuses it", func(t *testing.T) {
		tok := h.token(t, reader, "reports:read", url.Values{"audience": {"mcp"}})
		req := fmt.Sprintf(`{"method":"GET","path":"/e2e/admin/echo/x","token":%q}`, tok)
		code, _, x := h.adminCall(t, "POST", "/admin/v1/explain", admin, req)
		if code != 200 || x["decision"] != "deny" || x["reason"] != "insufficient_scope" || x["status"] != 403.0 {
			t.Fatalf("e2e: explain: %d %s", code, mustJSON(x))
		}
		if strings.Contains(mustJSON(x), tok) {
			t.Errorf("e2e: explain echoed the token")
		}
		r := h.expectGateway(t, "the token explain refused", "/e2e/admin/echo/x", tok, http.StatusForbidden)
		if got := r.Header.Get("WWW-Authenticate"); got != x["wwwAuthenticate"] {
			t.Errorf("e2e: the gateway sent %q, explain said %q", got, x["wwwAuthenticate"])
		}
	})

	t.Run("The audit in status: the reader reaches the route and does not use reports:read", func(t *testing.T) {
		eventually(t, "reader's audit", defaultWait, pollInterval, func() (bool, string) {
			st := h.oauthClient(t, "e2e-admin", "reader").Status
			ok := st.ReachableRouteCount >= 1 && len(st.UnusedScopes) == 1 && st.UnusedScopes[0] == "reports:read"
			return ok, fmt.Sprintf("reachable %d %v unused %v", st.ReachableRouteCount, st.ReachableRoutes, st.UnusedScopes)
		})
		out := h.mustKubectl(t, "get gwr", "get", "gwr", "adm-echo", "-n", "e2e-admin", "-o", "jsonpath={.status.authorizedClients}")
		if strings.TrimSpace(out) == "" || strings.TrimSpace(out) == "0" {
			t.Errorf("e2e: adm-echo authorizedClients %q", out)
		}
	})

}
