package audit

import (
	"sort"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/gateway"
)

// MaxListedTools caps the allowed and denied tool lists of one route in
// OAuthClient.status.mcpTools.
const MaxListedTools = 20

// ItemRules returns how many item rules the gateway applies to r and the
// indexes of those no client in clients can satisfy
// (gateway.ReachesItemRule): no client that reaches the route may also
// hold scopes satisfying the rule. A rule requiring no scope on an
// anonymous route is satisfiable with no client at all.
func ItemRules(r *scopegatev1alpha1.GatewayRoute, clients []*scopegatev1alpha1.OAuthClient, gatewayURL string) (count int32, unsatisfiable []int32) {
	rt := Route(r)
	if rt.Items == nil {
		return 0, nil
	}
	declared := make([]gateway.Declared, len(clients))
	for i := range clients {
		declared[i] = Declared(clients[i])
	}
	for i := range rt.Items.Rules {
		if rt.AllowAnonymous && len(rt.Items.Rules[i].RequiredScopes) == 0 {
			continue
		}
		ok := false
		for _, c := range declared {
			if gateway.ReachesItemRule(rt, i, gatewayURL, c) {
				ok = true
				break
			}
		}
		if !ok {
			unsatisfiable = append(unsatisfiable, int32(i))
		}
	}
	return int32(len(rt.Items.Rules)), unsatisfiable
}

// MCPTools says, for each MCP route c reaches (sorted by namespace/name,
// capped at MaxListedRoutes), which tool names and globs of its rules c
// may call. A name or glob is decided by the first rule that lists it, as
// at the gateway; a later duplicate is not listed again.
func MCPTools(c *scopegatev1alpha1.OAuthClient, routes []scopegatev1alpha1.GatewayRoute, gatewayURL string) []scopegatev1alpha1.MCPToolAccess {
	d := Declared(c)
	var out []scopegatev1alpha1.MCPToolAccess
	for i := range routes {
		r := &routes[i]
		if !r.DeletionTimestamp.IsZero() || r.Spec.Protocol != scopegatev1alpha1.ProtocolMCP {
			continue
		}
		rt := Route(r)
		if !gateway.Reaches(rt, gatewayURL, d) {
			continue
		}
		out = append(out, toolAccess(r, rt, gatewayURL, d))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	if len(out) > MaxListedRoutes {
		out = out[:MaxListedRoutes]
	}
	return out
}

func toolAccess(r *scopegatev1alpha1.GatewayRoute, rt *gateway.Route, gatewayURL string, d gateway.Declared) scopegatev1alpha1.MCPToolAccess {
	a := scopegatev1alpha1.MCPToolAccess{Namespace: r.Namespace, Name: r.Name, UnlistedTools: scopegatev1alpha1.ToolAllowed}
	if rt.Items == nil {
		return a
	}
	if rt.Items.DenyUnlisted {
		a.UnlistedTools = scopegatev1alpha1.ToolDenied
	}
	seen := map[string]bool{}
	for i, rule := range rt.Items.Rules {
		if len(rule.Tools) == 0 {
			continue
		}
		allowed := gateway.ReachesItemRule(rt, i, gatewayURL, d)
		for _, t := range rule.Tools {
			if seen[t] {
				continue
			}
			seen[t] = true
			if allowed {
				a.AllowedToolCount++
				if len(a.AllowedTools) < MaxListedTools {
					a.AllowedTools = append(a.AllowedTools, t)
				}
			} else {
				a.DeniedToolCount++
				if len(a.DeniedTools) < MaxListedTools {
					a.DeniedTools = append(a.DeniedTools, t)
				}
			}
		}
	}
	return a
}
