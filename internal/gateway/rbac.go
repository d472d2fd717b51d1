package gateway

import (
	"net/http"
	"strings"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/scope"
)

// authorize applies the route's RBAC to verified claims: the granted scopes
// must satisfy requiredScopes (scopeMatch Any or All, with the seed's
// built-in level implication and admin satisfying anything, SPEC §3), and the
// token's aud must hold one of the route's audiences. Either failure is 403
// error="insufficient_scope" naming the required scopes (RFC 6750 §3.1).
func (g *Gateway) authorize(rt *Route, c *accesstoken.Claims) *gatewayError {
	if !scope.Satisfies(c.Scopes(), rt.RequiredScopes, rt.ScopeMatchAll) {
		return g.insufficient(rt, "the token lacks a scope this route requires", "insufficient_scope")
	}
	if !audienceAllowed(c.Audience, g.routeAudiences(rt)) {
		return g.insufficient(rt, "the token is not meant for this route (audience)", "audience_mismatch")
	}
	return nil
}

// routeAudiences is what a token's aud must hold one of: the route's
// audiences, or when it names none the protocol's default audience and the
// route's resource URL (RFC 8707 resource indicator).
func (g *Gateway) routeAudiences(rt *Route) []string {
	if len(rt.Audiences) > 0 {
		return rt.Audiences
	}
	return []string{DefaultAudience(rt.Protocol), g.resourceURL(rt.PathPrefix)}
}

func audienceAllowed(aud, accepted []string) bool {
	for _, a := range aud {
		for _, want := range accepted {
			// Resource URLs are compared without a trailing slash: RFC 3986
			// §6.2.3 treats an empty path and "/" as equivalent.
			if a == want || strings.TrimSuffix(a, "/") == strings.TrimSuffix(want, "/") && strings.Contains(want, "://") {
				return true
			}
		}
	}
	return false
}

func (g *Gateway) insufficient(rt *Route, desc, reason string) *gatewayError {
	return &gatewayError{
		Status:      http.StatusForbidden,
		Code:        "insufficient_scope",
		Description: desc,
		Reason:      reason,
		Challenge: challenge(
			[2]string{"error", "insufficient_scope"},
			[2]string{"error_description", desc},
			[2]string{"scope", strings.Join(rt.RequiredScopes, " ")},
			[2]string{"resource_metadata", g.metadataURL(rt.PathPrefix)},
		),
	}
}
