package gateway

import (
	"strings"

	"github.com/scopegate/scopegate/internal/scope"
)

// This file holds the rule "which tokens does a route accept", shared by the
// gateway's decision and the scope audit (controllers/audit), so that what
// status says a client can reach is what the gateway lets through.

// ScopesSatisfied reports whether held scopes satisfy the route's required
// scopes (scopeMatch Any or All, with the built-in level implication and
// admin satisfying anything, SPEC §3). A route requiring none is satisfied
// by anything.
func ScopesSatisfied(held []string, rt *Route) bool {
	return scope.Satisfies(held, rt.RequiredScopes, rt.ScopeMatchAll)
}

// satisfiedBy maps each satisfied required scope to the held scope that
// satisfies it (itself, a built-in of a higher level, or admin); nil when
// none is.
func satisfiedBy(held, required []string) map[string]string {
	var out map[string]string
	for _, r := range required {
		for _, h := range held {
			if scope.Implies(h, r) {
				if out == nil {
					out = map[string]string{}
				}
				out[r] = h
				break
			}
		}
	}
	return out
}

// RouteAudiences is what a token's aud must hold one of: the route's
// audiences, or when it names none the protocol's default audience and the
// route's resource URL <gatewayURL><pathPrefix> (RFC 8707 resource
// indicator).
func RouteAudiences(rt *Route, gatewayURL string) []string {
	if len(rt.Audiences) > 0 {
		return rt.Audiences
	}
	return []string{DefaultAudience(rt.Protocol), strings.TrimSuffix(gatewayURL, "/") + rt.PathPrefix}
}

// AudienceAllowed reports whether one of aud is one of accepted. Resource
// URLs are compared without a trailing slash: RFC 3986 §6.2.3 treats an
// empty path and "/" as equivalent.
func AudienceAllowed(aud, accepted []string) bool {
	for _, a := range aud {
		for _, want := range accepted {
			if a == want || strings.TrimSuffix(a, "/") == strings.TrimSuffix(want, "/") && strings.Contains(want, "://") {
				return true
			}
		}
	}
	return false
}

// Declared is what a client declares that decides which routes it can
// reach: its allowed scopes, its audience allow-list (empty: any audience)
// and whether it is suspended.
type Declared struct {
	Scopes    []string
	Audiences []string
	Suspended bool
}

// Reaches reports whether a client, as declared, may hold a token that rt
// accepts: it is not suspended, its allowed scopes satisfy the route's
// (ScopesSatisfied; an anonymous route needs none), and it may obtain one of
// the route's audiences (AudienceAllowed; any, when it has no allow-list).
// It is the gateway's scope and audience checks applied to the best token
// the client could obtain. A route's requireDPoP does not change it: any
// client may send a DPoP proof with its token request and get a bound token.
func Reaches(rt *Route, gatewayURL string, c Declared) bool {
	if c.Suspended {
		return false
	}
	if rt.AllowAnonymous {
		return true
	}
	if !ScopesSatisfied(c.Scopes, rt) {
		return false
	}
	return len(c.Audiences) == 0 || AudienceAllowed(c.Audiences, RouteAudiences(rt, gatewayURL))
}

// ReachesItemRule reports whether a client, as declared, may hold a token
// that rt accepts and that satisfies rule i of rt.Items: Reaches, plus the
// rule's own requiredScopes as the decision checks them. A rule requiring
// no scope is reached by every client that reaches the route.
func ReachesItemRule(rt *Route, i int, gatewayURL string, c Declared) bool {
	if !Reaches(rt, gatewayURL, c) {
		return false
	}
	r := &rt.Items.Rules[i]
	if len(r.RequiredScopes) == 0 {
		return true
	}
	// On an anonymous route Reaches skipped the audience: a token with
	// the rule's scopes must still be one the route accepts.
	if len(c.Audiences) > 0 && !AudienceAllowed(c.Audiences, RouteAudiences(rt, gatewayURL)) {
		return false
	}
	return r.satisfied(c.Scopes)
}
