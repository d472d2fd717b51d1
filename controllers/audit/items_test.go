package audit

import (
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
