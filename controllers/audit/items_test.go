package audit

import (
	"fmt"
	"reflect"
	"testing"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/registry"
)

func TestRouteCarriesItemRules(t *testing.T) {
	mcp := route("tools", "/mcp/tools", "MCP", []string{"mcp"}, func(gr *scopegatev1alpha1.GatewayRoute) {
		gr.Spec.MCP = &scopegatev1alpha1.MCPPolicy{Unlisted: scopegatev1alpha1.UnlistedDeny, DenialMode: scopegatev1alpha1.DenialHide,
			Rules: []scopegatev1alpha1.MCPRule{{Tools: []string{"delete_*"}, Resources: []string{"file:///"},
				ItemRequirement: scopegatev1alpha1.ItemRequirement{RequiredScopes: []scopegatev1alpha1.Scope{"mcp:x:write"},
					ScopeMatch: scopegatev1alpha1.ScopeMatchAll, RateLimit: &scopegatev1alpha1.RateLimit{RequestsPerSecond: 2}}}}}
	})
	want := &gateway.ItemPolicy{DenyUnlisted: true, Hide: true, Rules: []gateway.ItemRule{{Tools: []string{"delete_*"}, Resources: []string{"file:///"},
		RequiredScopes: []string{"mcp:x:write"}, ScopeMatchAll: true, RateLimit: &registry.RateLimit{RequestsPerSecond: 2, Burst: 2}}}}
	if got := Route(&mcp).Items; !reflect.DeepEqual(got, want) {
		t.Errorf("MCP items %+v, want %+v", got, want)
	}

	a2a := route("agent", "/a2a/agent", "A2A", nil, func(gr *scopegatev1alpha1.GatewayRoute) {
		gr.Spec.A2A = &scopegatev1alpha1.A2APolicy{Rules: []scopegatev1alpha1.A2ARule{{Methods: []string{"message/send"}}}}
	})
	if got := Route(&a2a).Items; got == nil || got.DenyUnlisted || got.Hide || !reflect.DeepEqual(got.Rules[0].Methods, []string{"message/send"}) {
		t.Errorf("A2A items %+v", got)
	}

	skills := route("agent", "/a2a/agent", "A2A", []string{"a2a"}, func(gr *scopegatev1alpha1.GatewayRoute) {
		gr.Spec.A2A = &scopegatev1alpha1.A2APolicy{Skills: []scopegatev1alpha1.A2ASkill{
			{ID: "delete", RequiredScopes: []scopegatev1alpha1.Scope{"a2a:write"}, ScopeMatch: scopegatev1alpha1.ScopeMatchAll}}}
	})
	if got := Route(&skills).Skills; !reflect.DeepEqual(got, []gateway.SkillScopes{{ID: "delete", RequiredScopes: []string{"a2a:write"}, ScopeMatchAll: true}}) {
		t.Errorf("A2A skills %+v", got)
	}

	plain := route("plain", "/mcp/plain", "MCP", []string{"mcp"})
	if got := Route(&plain).Items; got != nil {
		t.Errorf("a route without rules has items %+v: its bodies would be read", got)
	}
	wrong := route("wrong", "/api", "HTTP", nil, func(gr *scopegatev1alpha1.GatewayRoute) {
		gr.Spec.MCP = &scopegatev1alpha1.MCPPolicy{}
	})
	if got := Route(&wrong).Items; got != nil {
		t.Errorf("mcp rules on an HTTP route were applied: %+v", got)
	}
}

// toolRules gives an MCP route the rules of the README's notes server:
// read tools for mcp:notes:read, delete_note for mcp:notes:write.
func toolRules(unlisted scopegatev1alpha1.UnlistedPolicy, rules ...scopegatev1alpha1.MCPRule) func(*scopegatev1alpha1.GatewayRoute) {
	return func(gr *scopegatev1alpha1.GatewayRoute) {
		gr.Spec.MCP = &scopegatev1alpha1.MCPPolicy{Unlisted: unlisted, Rules: rules}
	}
}

func mcpRule(tools []string, scopes ...string) scopegatev1alpha1.MCPRule {
	r := scopegatev1alpha1.MCPRule{Tools: tools}
	for _, s := range scopes {
		r.RequiredScopes = append(r.RequiredScopes, scopegatev1alpha1.Scope(s))
	}
	return r
}

func TestItemRules(t *testing.T) {
	notes := toolRules("", mcpRule([]string{"delete_note"}, "mcp:notes:write"), mcpRule([]string{"*"}, "mcp:notes:read"))
	cases := []struct {
		name          string
		r             scopegatev1alpha1.GatewayRoute
		clients       []scopegatev1alpha1.OAuthClient
		count         int32
		unsatisfiable []int32
	}{
		{"a route without rules has none to flag", route("plain", "/mcp/plain", "MCP", []string{"mcp"}), nil, 0, nil},
		{"a rule whose scope no client holds is flagged by index",
			route("notes", "/mcp/notes", "MCP", []string{"mcp"}, notes),
			[]scopegatev1alpha1.OAuthClient{*client([]string{"mcp", "mcp:notes:read"}, nil)}, 2, []int32{0}},
		{"a client with both scopes satisfies every rule",
			route("notes", "/mcp/notes", "MCP", []string{"mcp"}, notes),
			[]scopegatev1alpha1.OAuthClient{*client([]string{"mcp", "mcp:notes:read"}, nil), *client([]string{"mcp", "mcp:notes:write", "mcp:notes:read"}, nil)}, 2, nil},
		{"a client with the rule's scope but not the route's does not count",
			route("notes", "/mcp/notes", "MCP", []string{"mcp"}, notes),
			[]scopegatev1alpha1.OAuthClient{*client([]string{"mcp:notes:write", "mcp:notes:read"}, nil)}, 2, []int32{0, 1}},
		{"a suspended client does not count",
			route("notes", "/mcp/notes", "MCP", []string{"mcp"}, notes),
			[]scopegatev1alpha1.OAuthClient{*client([]string{"mcp", "mcp:notes:write", "mcp:notes:read"}, nil, func(c *scopegatev1alpha1.OAuthClient) { c.Spec.Suspended = true })}, 2, []int32{0, 1}},
		{"a client whose audiences the route does not accept does not count",
			route("notes", "/mcp/notes", "MCP", []string{"mcp"}, notes),
			[]scopegatev1alpha1.OAuthClient{*client([]string{"mcp", "mcp:notes:write", "mcp:notes:read"}, []string{"api"})}, 2, []int32{0, 1}},
		{"admin satisfies every rule through implication",
			route("notes", "/mcp/notes", "MCP", []string{"mcp"}, notes),
			[]scopegatev1alpha1.OAuthClient{*client([]string{"admin"}, nil)}, 2, nil},
		{"an All rule needs one client holding every scope",
			route("notes", "/mcp/notes", "MCP", []string{"mcp"}, toolRules("", func() scopegatev1alpha1.MCPRule {
				r := mcpRule([]string{"purge"}, "mcp:notes:write", "mcp:notes:audit")
				r.ScopeMatch = scopegatev1alpha1.ScopeMatchAll
				return r
			}())),
			[]scopegatev1alpha1.OAuthClient{*client([]string{"mcp", "mcp:notes:write"}, nil), *client([]string{"mcp", "mcp:notes:audit"}, nil)}, 1, []int32{0}},
		{"a rule requiring nothing on an anonymous route needs no client",
			route("open", "/mcp/open", "MCP", nil, func(gr *scopegatev1alpha1.GatewayRoute) { gr.Spec.AllowAnonymous = true },
				toolRules("", mcpRule([]string{"echo"}), mcpRule([]string{"delete_note"}, "mcp:notes:write"))),
			nil, 2, []int32{1}},
		{"A2A method rules are counted and checked alike",
			route("agent", "/a2a/agent", "A2A", []string{"a2a"}, func(gr *scopegatev1alpha1.GatewayRoute) {
				gr.Spec.A2A = &scopegatev1alpha1.A2APolicy{Rules: []scopegatev1alpha1.A2ARule{
					{Methods: []string{"tasks/cancel"}, ItemRequirement: scopegatev1alpha1.ItemRequirement{RequiredScopes: []scopegatev1alpha1.Scope{"a2a:agent:cancel"}}},
					{Methods: []string{"message/send"}}}}
			}),
			[]scopegatev1alpha1.OAuthClient{*client([]string{"a2a"}, nil)}, 2, []int32{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			count, unsat := ItemRules(&tc.r, pointers(tc.clients), gw)
			if count != tc.count || !reflect.DeepEqual(unsat, tc.unsatisfiable) {
				t.Errorf("ItemRules = %d %v, want %d %v", count, unsat, tc.count, tc.unsatisfiable)
			}
		})
	}
}

func TestMCPTools(t *testing.T) {
	reader := client([]string{"mcp", "mcp:notes:read"}, nil)
	notes := route("notes", "/mcp/notes", "MCP", []string{"mcp"},
		toolRules("", mcpRule([]string{"delete_note"}, "mcp:notes:write"), mcpRule([]string{"list_notes", "get_note", "delete_note"}, "mcp:notes:read")))
	strict := route("strict", "/mcp/strict", "MCP", []string{"mcp"},
		toolRules(scopegatev1alpha1.UnlistedDeny, mcpRule([]string{"search_*"}, "mcp:notes:read")))
	skills := route("agent", "/a2a/agent", "A2A", []string{"a2a"}, func(gr *scopegatev1alpha1.GatewayRoute) {
		gr.Spec.A2A = &scopegatev1alpha1.A2APolicy{Skills: []scopegatev1alpha1.A2ASkill{
			{ID: "delete", RequiredScopes: []scopegatev1alpha1.Scope{"a2a:write"}, ScopeMatch: scopegatev1alpha1.ScopeMatchAll}}}
	})
	if got := Route(&skills).Skills; !reflect.DeepEqual(got, []gateway.SkillScopes{{ID: "delete", RequiredScopes: []string{"a2a:write"}, ScopeMatchAll: true}}) {
		t.Errorf("A2A skills %+v", got)
	}

	plain := route("plain", "/mcp/plain", "MCP", []string{"mcp"})
	other := route("api", "/api", "HTTP", []string{"mcp"})
	unreachable := route("admin", "/mcp/admin", "MCP", []string{"mcp:admin"})

	got := MCPTools(reader, []scopegatev1alpha1.GatewayRoute{strict, other, notes, unreachable, plain}, gw)
	want := []scopegatev1alpha1.MCPToolAccess{
		// The later delete_note is decided by the first rule: denied, listed once.
		{Namespace: "team-a", Name: "notes", AllowedTools: []string{"list_notes", "get_note"}, AllowedToolCount: 2,
			DeniedTools: []string{"delete_note"}, DeniedToolCount: 1, UnlistedTools: scopegatev1alpha1.ToolAllowed},
		{Namespace: "team-a", Name: "plain", UnlistedTools: scopegatev1alpha1.ToolAllowed},
		{Namespace: "team-a", Name: "strict", AllowedTools: []string{"search_*"}, AllowedToolCount: 1, UnlistedTools: scopegatev1alpha1.ToolDenied},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("MCPTools =\n%+v\nwant\n%+v", got, want)
	}

	writer := client([]string{"mcp", "mcp:notes:write", "mcp:notes:read"}, nil)
	if got := MCPTools(writer, []scopegatev1alpha1.GatewayRoute{notes}, gw); got[0].AllowedToolCount != 3 || got[0].DeniedToolCount != 0 {
		t.Errorf("a writer's access to notes: %+v", got[0])
	}
	suspended := client([]string{"admin"}, nil, func(c *scopegatev1alpha1.OAuthClient) { c.Spec.Suspended = true })
	if got := MCPTools(suspended, []scopegatev1alpha1.GatewayRoute{notes, plain}, gw); got != nil {
		t.Errorf("a suspended client has tool access %+v", got)
	}

	var many []string
	for i := range MaxListedTools + 5 {
		many = append(many, fmt.Sprintf("tool_%02d", i))
	}
	big := route("big", "/mcp/big", "MCP", []string{"mcp"}, toolRules("", mcpRule(many, "mcp:notes:read")))
	if got := MCPTools(reader, []scopegatev1alpha1.GatewayRoute{big}, gw)[0]; len(got.AllowedTools) != MaxListedTools || got.AllowedToolCount != int32(len(many)) {
		t.Errorf("listed %d of %d allowed tools, want %d of %d", len(got.AllowedTools), got.AllowedToolCount, MaxListedTools, len(many))
	}
}
