package e2e

import (
	"fmt"
	"strings"
	"testing"
)

type mcpExchange struct {
	Method          string `json:"method"`
	URL             string `json:"url"`
	Status          int    `json:"status"`
	WWWAuthenticate string `json:"wwwAuthenticate"`
}

// TestMCPClientFindsItsWayThroughTheGateway runs
// @modelcontextprotocol/server-everything (streamable HTTP) behind an MCP
// route and points the MCP SDK client, with its client-credentials provider,
// at the bare gateway URL.
func TestMCPClientFindsItsWayThroughTheGateway(t *testing.T) {
	h := env(t)
	port := startNodeUpstream(t, "server-everything",
		"node_modules/@modelcontextprotocol/server-everything/dist/index.js", "streamableHttp")
	h.apply(t, "mcp.yaml", h.vars("MCP_URL", fmt.Sprintf("http://127.0.0.1:%d", port)))
	h.waitReady(t, "e2e-mcp", "oauthclient/mcp-agent")
	h.waitReady(t, "e2e-mcp", "oauthclient/mcp-outsider")
	h.waitReady(t, "e2e-mcp", "gatewayroute/everything")
	h.waitRoute(t, "/mcp/everything")
	url := h.gatewayURL + "/mcp/everything"

	t.Run("A client holding mcp discovers the token server, lists tools and calls echo", func(t *testing.T) {
		agent := h.credentials(t, "e2e-mcp", "mcp-agent")
		var res struct {
			Tools []string      `json:"tools"`
			Echo  string        `json:"echo"`
			Trace []mcpExchange `json:"trace"`
		}
		runNode(t, "mcp_client.mjs", map[string]any{
			"url": url, "issuer": h.issuer, "clientId": agent.ClientID, "clientSecret": agent.ClientSecret,
			"scope": "mcp", "expect": "ok", "message": "hello through scopegate",
		}, &res)
		// The SDK must have walked 401 → RFC 9728 → RFC 8414 → token → retry.
		steps := []struct {
			what  string
			match func(mcpExchange) bool
		}{
			{"POST to the MCP endpoint answered 401 with resource_metadata", func(e mcpExchange) bool {
				return e.Method == "POST" && e.URL == url && e.Status == 401 &&
					strings.Contains(e.WWWAuthenticate, h.gatewayURL+"/.well-known/oauth-protected-resource/mcp/everything")
			}},
			{"GET of the protected-resource metadata", func(e mcpExchange) bool {
				return e.URL == h.gatewayURL+"/.well-known/oauth-protected-resource/mcp/everything" && e.Status == 200
			}},
			{"GET of the authorization-server metadata", func(e mcpExchange) bool {
				return e.URL == h.issuer+"/.well-known/oauth-authorization-server" && e.Status == 200
			}},
			{"POST to the token endpoint", func(e mcpExchange) bool {
				return e.Method == "POST" && e.URL == h.issuer+"/oauth/token" && e.Status == 200
			}},
			{"POST to the MCP endpoint with the token", func(e mcpExchange) bool {
				return e.Method == "POST" && e.URL == url && e.Status == 200
			}},
		}
		i := 0
		for _, e := range res.Trace {
			if i < len(steps) && steps[i].match(e) {
				i++
			}
		}
		if i < len(steps) {
			t.Errorf("e2e: MCP SDK discovery: missing step %q in this order; trace: %s", steps[i].what, mustJSON(res.Trace))
		}
		if !strings.Contains(res.Echo, "hello through scopegate") {
			t.Errorf("e2e: echo answered %q", res.Echo)
		}
	})

	t.Run("A client without mcp ends in 403 insufficient_scope", func(t *testing.T) {
		outsider := h.credentials(t, "e2e-mcp", "mcp-outsider")
		var res struct {
			Refused bool        `json:"refused"`
			Last    mcpExchange `json:"last"`
		}
		runNode(t, "mcp_client.mjs", map[string]any{
			"url": url, "issuer": h.issuer, "clientId": outsider.ClientID, "clientSecret": outsider.ClientSecret,
			"scope": "reports:read", "expect": "insufficient_scope",
		}, &res)
		if !res.Refused || res.Last.Status != 403 || !strings.Contains(res.Last.WWWAuthenticate, `scope="mcp"`) {
			t.Errorf("e2e: outsider: last MCP answer %+v, want 403 insufficient_scope naming scope mcp", res.Last)
		}
	})
}
