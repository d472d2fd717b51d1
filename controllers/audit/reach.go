package audit

import (
	"slices"
	"sort"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/scope"
)

// MaxListedRoutes caps OAuthClient.status.reachableRoutes.
const MaxListedRoutes = 50

// Route is the part of a GatewayRoute that decides which tokens it
// accepts, as the gateway's route table holds it: key, cleaned prefix,
// protocol (HTTP when unset), required scopes and how they match,
// audiences, anonymous access and the rate limit. The GatewayRoute
// controller adds the resolved backend to it for the table; the audit
// applies the gateway's own rule to it (gateway.Reaches), so what status
// says a client can reach is what the gateway lets through.
func Route(gr *scopegatev1alpha1.GatewayRoute) *gateway.Route {
	s := gr.Spec
	rt := &gateway.Route{
		Key:               gr.Namespace + "/" + gr.Name,
		PathPrefix:        gateway.CleanPrefix(s.PathPrefix),
		Protocol:          gateway.Protocol(s.Protocol),
		RequiredScopes:    scopegatev1alpha1.ScopeStrings(s.RequiredScopes),
		ScopeMatchAll:     s.ScopeMatch == scopegatev1alpha1.ScopeMatchAll,
		Audiences:         scopegatev1alpha1.AudienceStrings(s.Audiences),
		AllowAnonymous:    s.AllowAnonymous,
		RequireDPoP:       s.RequireDPoP,
		CreationTimestamp: gr.CreationTimestamp.Time,
	}
	if rt.Protocol == "" {
		rt.Protocol = gateway.ProtocolHTTP
	}
	if s.RateLimit != nil {
		rt.RateLimit = rateLimit(s.RateLimit)
	}
	rt.Items = itemPolicy(rt.Protocol, s)
	if rt.Protocol == gateway.ProtocolA2A && s.A2A != nil {
		for _, sk := range s.A2A.Skills {
			rt.Skills = append(rt.Skills, gateway.SkillScopes{ID: sk.ID,
				RequiredScopes: scopegatev1alpha1.ScopeStrings(sk.RequiredScopes), ScopeMatchAll: sk.ScopeMatch == scopegatev1alpha1.ScopeMatchAll})
		}
	}
	return rt
}

func rateLimit(l *scopegatev1alpha1.RateLimit) *registry.RateLimit {
	if l == nil {
		return nil
	}
	return &registry.RateLimit{RequestsPerSecond: float64(l.RequestsPerSecond), Burst: l.EffectiveBurst()}
}

// itemPolicy is the route's item rules as the gateway applies them: spec.mcp
// on an MCP route, spec.a2a on an A2A route (admission refuses either on
// another protocol; a policy that slipped through is ignored rather than
// applied to a protocol it was not written for).
func itemPolicy(p gateway.Protocol, s scopegatev1alpha1.GatewayRouteSpec) *gateway.ItemPolicy {
	req := func(r scopegatev1alpha1.ItemRequirement) gateway.ItemRule {
		return gateway.ItemRule{RequiredScopes: scopegatev1alpha1.ScopeStrings(r.RequiredScopes),
			ScopeMatchAll: r.ScopeMatch == scopegatev1alpha1.ScopeMatchAll, RateLimit: rateLimit(r.RateLimit)}
	}
	switch {
	case p == gateway.ProtocolMCP && s.MCP != nil:
		out := &gateway.ItemPolicy{DenyUnlisted: s.MCP.Unlisted == scopegatev1alpha1.UnlistedDeny, Hide: s.MCP.DenialMode == scopegatev1alpha1.DenialHide}
		for _, r := range s.MCP.Rules {
			rule := req(r.ItemRequirement)
			rule.Tools, rule.Prompts, rule.Resources = slices.Clone(r.Tools), slices.Clone(r.Prompts), slices.Clone(r.Resources)
			out.Rules = append(out.Rules, rule)
		}
		return out
	case p == gateway.ProtocolA2A && s.A2A != nil:
		out := &gateway.ItemPolicy{DenyUnlisted: s.A2A.Unlisted == scopegatev1alpha1.UnlistedDeny}
		for _, r := range s.A2A.Rules {
			rule := req(r.ItemRequirement)
			rule.Methods = slices.Clone(r.Methods)
			out.Rules = append(out.Rules, rule)
		}
		return out
	}
	return nil
}

// Declared is what an OAuthClient declares that decides which routes it
// reaches. A client being deleted counts as suspended: it takes no part.
func Declared(c *scopegatev1alpha1.OAuthClient) gateway.Declared {
	return gateway.Declared{
		Scopes:    scopegatev1alpha1.ScopeStrings(c.Spec.Scopes),
		Audiences: scopegatev1alpha1.AudienceStrings(c.Spec.Audiences),
		Suspended: c.Spec.Suspended || !c.DeletionTimestamp.IsZero(),
	}
}

// Reaches reports whether client c, as declared, may hold a token that
// route r accepts (gateway.Reaches): c is not suspended, its allowed scopes
// satisfy r's required scopes (an anonymous route needs none), and c may
// obtain one of r's audiences (any, when c has no audience allow-list).
func Reaches(c *scopegatev1alpha1.OAuthClient, r *scopegatev1alpha1.GatewayRoute, gatewayURL string) bool {
	if !r.DeletionTimestamp.IsZero() {
		return false
	}
	return gateway.Reaches(Route(r), gatewayURL, Declared(c))
}

// ReachableRoutes lists the routes c reaches, sorted by namespace/name and
// capped at MaxListedRoutes, and how many there are in all.
func ReachableRoutes(c *scopegatev1alpha1.OAuthClient, routes []scopegatev1alpha1.GatewayRoute, gatewayURL string) ([]scopegatev1alpha1.RouteReference, int32) {
	var out []scopegatev1alpha1.RouteReference
	for i := range routes {
		r := &routes[i]
		if Reaches(c, r, gatewayURL) {
			out = append(out, scopegatev1alpha1.RouteReference{Namespace: r.Namespace, Name: r.Name, PathPrefix: r.Spec.PathPrefix})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	n := int32(len(out))
	if len(out) > MaxListedRoutes {
		out = out[:MaxListedRoutes]
	}
	return out, n
}

// UnusedScopes are c's allowed scopes that satisfy no scope any route
// requires, itself or in one of its item rules, in c's order.
func UnusedScopes(c *scopegatev1alpha1.OAuthClient, routes []scopegatev1alpha1.GatewayRoute) []string {
	var required []string
	for i := range routes {
		if routes[i].DeletionTimestamp.IsZero() {
			required = append(required, scopegatev1alpha1.ScopeStrings(routes[i].Spec.RequiredScopes)...)
			if items := Route(&routes[i]).Items; items != nil {
				for _, r := range items.Rules {
					required = append(required, r.RequiredScopes...)
				}
			}
		}
	}
	var out []string
	for _, s := range scopegatev1alpha1.ScopeStrings(c.Spec.Scopes) {
		if !slices.ContainsFunc(required, func(r string) bool { return scope.Implies(s, r) }) {
			out = append(out, s)
		}
	}
	return out
}

// AuthorizedClients counts the clients that reach r (Reaches, with r as
// the table holds it built once, not once per client).
func AuthorizedClients(r *scopegatev1alpha1.GatewayRoute, clients []*scopegatev1alpha1.OAuthClient, gatewayURL string) int32 {
	if !r.DeletionTimestamp.IsZero() {
		return 0
	}
	rt := Route(r)
	var n int32
	for i := range clients {
		if gateway.Reaches(rt, gatewayURL, Declared(clients[i])) {
			n++
		}
	}
	return n
}
