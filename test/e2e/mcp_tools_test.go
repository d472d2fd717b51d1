package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

type toolsResult struct {
	Tools     []string `json:"tools"`
	Templates []string `json:"templates"`
	Calls     []struct {
		Name  string `json:"name"`
		Text  string `json:"text"`
		Error string `json:"error"`
		Code  any    `json:"code"`
	} `json:"calls"`
	Trace []struct {
		Method          string `json:"method"`
		URL             string `json:"url"`
		Status          int    `json:"status"`
		WWWAuthenticate string `json:"wwwAuthenticate"`
		Scope           string `json:"scope"`
	} `json:"trace"`
}

// TestMCPToolRules runs an MCP server built with the MCP SDK behind routes
// with tool rules and drives it with the SDK's client: a reader sees two of
// three tools, gets the 403 scope challenge on the third (and the SDK runs
// its step-up path once) and sees only the resource template it may read,
// a writer sees and calls all three and sees both templates, and in hide
// mode the refused tool is an unknown tool.
func TestMCPToolRules(t *testing.T) {
	h := env(t)
	port := startNodeUpstream(t, "mcp-tools-server", "clients/mcp_tools_server.mjs")
	h.apply(t, "mcp-tools.yaml", h.vars("MCP_URL", fmt.Sprintf("http://127.0.0.1:%d", port)))
	h.waitReady(t, "e2e-mcp-tools", "oauthclient/reader")
	h.waitReady(t, "e2e-mcp-tools", "oauthclient/writer")
	h.waitReady(t, "e2e-mcp-tools", "gatewayroute/notes")
	h.waitReady(t, "e2e-mcp-tools", "gatewayroute/notes-hidden")
	h.waitRoute(t, "/e2e/mcp/notes")
	h.waitRoute(t, "/e2e/mcp/notes-hidden")
	calls := []map[string]any{
		{"name": "echo", "arguments": map[string]any{"message": "hi"}},
		{"name": "delete_note", "arguments": map[string]any{"id": "n1"}},
	}
	drive := func(t *testing.T, client, scope, path string) toolsResult {
		c := h.credentials(t, "e2e-mcp-tools", client)
		var res toolsResult
		runNode(t, "mcp_tools_client.mjs", map[string]any{
			"url": h.gatewayURL + path, "issuer": h.issuer, "clientId": c.ClientID, "clientSecret": c.ClientSecret,
			"scope": scope, "call": calls, "templates": true,
		}, &res)
		return res
	}

	t.Run("A reader lists two of three tools and is challenged on the third", func(t *testing.T) {
		res := drive(t, "reader", "mcp", "/e2e/mcp/notes")
		slices.Sort(res.Tools)
		if !slices.Equal(res.Tools, []string{"add", "echo"}) {
			t.Errorf("e2e: tools/list showed %v, want [add echo]", res.Tools)
		}
		if !slices.Equal(res.Templates, []string{"notes://public/{id}"}) {
			t.Errorf("e2e: resources/templates/list showed %v, want [notes://public/{id}]", res.Templates)
		}
		if len(res.Calls) != 2 || res.Calls[0].Text != "hi" {
			t.Fatalf("e2e: echo: %+v", res.Calls)
		}
		if res.Calls[1].Error == "" || res.Calls[1].Text != "" {
			t.Errorf("e2e: delete_note reached the tool: %+v", res.Calls[1])
		}
		// The SDK's step-up path reruns the token flow on the challenge.
		// Its client-credentials provider (SDK 1.32.2) requests its own
		// configured scope rather than the challenged one (fetchToken reads
		// clientMetadata.scope), so the retry is challenged again and the
		// SDK surfaces the 403 instead of looping.
		challenged, steppedUp, challenges := false, false, 0
		for _, e := range res.Trace {
			if e.Status == 403 {
				challenges++
			}
			if e.Method == "POST" && e.URL == h.gatewayURL+"/e2e/mcp/notes" && e.Status == 403 &&
				strings.Contains(e.WWWAuthenticate, `error="insufficient_scope"`) && strings.Contains(e.WWWAuthenticate, `scope="mcp mcp:notes:write"`) &&
				strings.Contains(e.WWWAuthenticate, `resource_metadata="`+h.gatewayURL+`/.well-known/oauth-protected-resource/e2e/mcp/notes"`) {
				challenged = true
			}
			if challenged && e.URL == h.issuer+"/oauth/token" && e.Status == 200 {
				steppedUp = true
			}
		}
		if !challenged {
			t.Errorf("e2e: no 403 challenge naming mcp mcp:notes:write; trace: %s", mustJSON(res.Trace))
		}
		if !steppedUp || challenges != 2 {
			t.Errorf("e2e: want one step-up token request after the challenge and the retry challenged once more; trace: %s", mustJSON(res.Trace))
		}
		if !strings.Contains(res.Calls[1].Error, "403") {
			t.Errorf("e2e: the SDK surfaced %q for delete_note, want the 403", res.Calls[1].Error)
		}
	})

	t.Run("A writer lists and calls all three tools", func(t *testing.T) {
		res := drive(t, "writer", "mcp mcp:notes:write", "/e2e/mcp/notes")
		slices.Sort(res.Tools)
		if !slices.Equal(res.Tools, []string{"add", "delete_note", "echo"}) {
			t.Errorf("e2e: tools/list showed %v", res.Tools)
		}
		if slices.Sort(res.Templates); !slices.Equal(res.Templates, []string{"notes://private/{id}", "notes://public/{id}"}) {
			t.Errorf("e2e: resources/templates/list showed %v", res.Templates)
		}
		if len(res.Calls) != 2 || res.Calls[1].Text != "deleted n1" {
			t.Errorf("e2e: delete_note: %+v", res.Calls)
		}
	})

	t.Run("In hide mode the refused tool is an unknown tool", func(t *testing.T) {
		res := drive(t, "reader", "mcp", "/e2e/mcp/notes-hidden")
		if slices.Contains(res.Tools, "delete_note") {
			t.Errorf("e2e: tools/list showed %v", res.Tools)
		}
		if len(res.Calls) != 2 || !strings.Contains(res.Calls[1].Error, "Tool delete_note not found") || fmt.Sprint(res.Calls[1].Code) != "-32602" {
			t.Errorf("e2e: delete_note in hide mode: %+v", res.Calls)
		}
		for _, e := range res.Trace {
			if e.Status == 403 {
				t.Errorf("e2e: hide mode answered 403: %+v", e)
			}
		}
	})
}
