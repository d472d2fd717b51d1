package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestA2AClientTalksToAnAgentThroughTheGateway runs an @a2a-js/sdk agent
// behind an A2A route; the SDK client resolves the agent card through the
// gateway and sends a message with a bearer token.
func TestA2AClientTalksToAnAgentThroughTheGateway(t *testing.T) {
	h := env(t)
	port := startNodeUpstream(t, "a2a-agent", "clients/a2a_agent.mjs")
	h.apply(t, "a2a.yaml", h.vars("A2A_URL", fmt.Sprintf("http://127.0.0.1:%d", port)))
	h.waitReady(t, "e2e-a2a", "oauthclient/a2a-caller")
	h.waitReady(t, "e2e-a2a", "gatewayroute/echo-agent")
	h.waitRoute(t, "/a2a/echo-agent")
	c := h.credentials(t, "e2e-a2a", "a2a-caller")
	base := h.gatewayURL + "/a2a/echo-agent"

	var res struct {
		Interfaces []string `json:"interfaces"`
		Reply      struct {
			Echo    string            `json:"echo"`
			Headers map[string]string `json:"headers"`
		} `json:"reply"`
		Anonymous struct {
			Status          int    `json:"status"`
			WWWAuthenticate string `json:"wwwAuthenticate"`
		} `json:"anonymous"`
	}
	runNode(t, "a2a_client.mjs", map[string]any{
		"baseUrl": base, "gatewayUrl": h.gatewayURL, "token": h.token(t, c, "a2a", nil), "message": "ping through scopegate",
	}, &res)
	for _, u := range res.Interfaces {
		if !strings.HasPrefix(u, base+"/") && u != base {
			t.Errorf("e2e: agent card interface %q is not under the gateway route %s", u, base)
		}
	}
	hdr := res.Reply.Headers
	if hdr["authorization"] != "absent" || hdr["x-client-id"] != c.ClientID || hdr["x-proxy-verified"] != "true" ||
		!strings.Contains(hdr["x-user-permissions"], "a2a") {
		t.Errorf("e2e: the agent received %v: want no Authorization, x-client-id %s, x-proxy-verified true, x-user-permissions with a2a", hdr, c.ClientID)
	}
	if res.Anonymous.Status != 401 || !strings.Contains(res.Anonymous.WWWAuthenticate, "resource_metadata=") {
		t.Errorf("e2e: anonymous A2A call: %+v, want 401 with a resource_metadata challenge", res.Anonymous)
	}
}
