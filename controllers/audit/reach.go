package audit

import (
	"slices"
	"sort"
	"strings"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/scope"
)

// MaxListedRoutes caps OAuthClient.status.reachableRoutes.
const MaxListedRoutes = 50

// RouteAudiences are the audiences a route accepts: its spec.audiences, or
// the protocol's default audience and the route's resource URL.
func RouteAudiences(r *scopegatev1alpha1.GatewayRoute, gatewayURL string) []string {
	if aud := scopegatev1alpha1.AudienceStrings(r.Spec.Audiences); len(aud) > 0 {
		return aud
	}
	p := gateway.Protocol(r.Spec.Protocol)
	if p == "" {
		p = gateway.ProtocolHTTP
	}
	return []string{gateway.DefaultAudience(p), strings.TrimSuffix(gatewayURL, "/") + gateway.CleanPrefix(r.Spec.PathPrefix)}
}

// live reports whether an object takes part: not being deleted.
func live(c *scopegatev1alpha1.OAuthClient) bool {
	return c.DeletionTimestamp.IsZero() && !c.Spec.Suspended
}

// Reaches reports whether client c, as declared, may hold a token that
// route r accepts: c is not suspended, its allowed scopes satisfy r's
// required scopes (an anonymous route or one requiring none needs no
// scope), and c may obtain one of r's audiences (any, when c has no
// audience allow-list).
func Reaches(c *scopegatev1alpha1.OAuthClient, r *scopegatev1alpha1.GatewayRoute, gatewayURL string) bool {
	if !live(c) || !r.DeletionTimestamp.IsZero() {
		return false
	}
	required := scopegatev1alpha1.ScopeStrings(r.Spec.RequiredScopes)
	if !r.Spec.AllowAnonymous && len(required) > 0 &&
		!scope.Satisfies(scopegatev1alpha1.ScopeStrings(c.Spec.Scopes), required, r.Spec.ScopeMatch == scopegatev1alpha1.ScopeMatchAll) {
		return false
	}
	allowed := scopegatev1alpha1.AudienceStrings(c.Spec.Audiences)
	if len(allowed) == 0 || r.Spec.AllowAnonymous {
		return true
	}
	for _, a := range RouteAudiences(r, gatewayURL) {
		if slices.Contains(allowed, a) {
			return true
		}
	}
	return false
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
// requires, in c's order.
func UnusedScopes(c *scopegatev1alpha1.OAuthClient, routes []scopegatev1alpha1.GatewayRoute) []string {
	var required []string
	for i := range routes {
		if routes[i].DeletionTimestamp.IsZero() {
			required = append(required, scopegatev1alpha1.ScopeStrings(routes[i].Spec.RequiredScopes)...)
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

// AuthorizedClients counts the clients that reach r.
func AuthorizedClients(r *scopegatev1alpha1.GatewayRoute, clients []scopegatev1alpha1.OAuthClient, gatewayURL string) int32 {
	var n int32
	for i := range clients {
		if Reaches(&clients[i], r, gatewayURL) {
			n++
		}
	}
	return n
}
