package gateway

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/scope"
)

// ExplainRequest asks what the gateway would do with a request: with an
// access token, or for a hypothetical client holding Scopes and Audiences.
type ExplainRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Token is an access token, as a client would send it.
	Token string `json:"token,omitempty"`
	// ClientID, Scopes and Audiences describe a hypothetical token of a
	// registered client (no token is checked).
	ClientID  string   `json:"clientId,omitempty"`
	Scopes    []string `json:"scopes,omitempty"`
	Audiences []string `json:"audiences,omitempty"`
}

// Check is one step of the gateway's decision, in the order it runs.
type Check struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
	// Required and Held are the scopes or audiences compared.
	Required []string `json:"required,omitempty"`
	Held     []string `json:"held,omitempty"`
	// SatisfiedBy maps each satisfied required scope to the held scope
	// that satisfies it (itself, a built-in of a higher level, or admin).
	SatisfiedBy map[string]string `json:"satisfiedBy,omitempty"`
}

// ExplainedRoute is the route a request matched.
type ExplainedRoute struct {
	Key            string   `json:"key"`
	PathPrefix     string   `json:"pathPrefix"`
	Protocol       string   `json:"protocol"`
	RequiredScopes []string `json:"requiredScopes"`
	ScopeMatch     string   `json:"scopeMatch"`
	Audiences      []string `json:"audiences"`
	AllowAnonymous bool     `json:"allowAnonymous"`
}

// Explanation is the gateway's decision about an ExplainRequest. It never
// holds the token.
type Explanation struct {
	Route *ExplainedRoute `json:"route"`
	// NearestPrefix is, when no route matched, the route prefix sharing
	// the most leading path segments with the request.
	NearestPrefix string  `json:"nearestPrefix,omitempty"`
	ClientID      string  `json:"clientId,omitempty"`
	Checks        []Check `json:"checks"`
	// Decision is allow or deny; Reason the reason code of the decision
	// log and of scopegate_gateway_requests_total's decisions.
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	// Status is what the gateway answers; for an allowed request, what it
	// forwards to answers instead (200 stands for that).
	Status          int    `json:"status"`
	WWWAuthenticate string `json:"wwwAuthenticate,omitempty"`
	RetryAfter      string `json:"retryAfter,omitempty"`
}

// ErrBadExplainRequest is returned for a request that cannot be explained.
var ErrBadExplainRequest = errors.New("bad explain request")

// Explain runs the gateway's checks for req in the order ServeHTTP runs them,
// without forwarding anything and without taking from any rate-limit
// bucket.
func (g *Gateway) Explain(ctx context.Context, req ExplainRequest) (*Explanation, error) {
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	if !strings.HasPrefix(req.Path, "/") {
		return nil, fmt.Errorf("%w: path must start with /", ErrBadExplainRequest)
	}
	if req.Token != "" && req.ClientID != "" {
		return nil, fmt.Errorf("%w: give a token or a clientId, not both", ErrBadExplainRequest)
	}
	x := &Explanation{Checks: []Check{}}
	path := req.Path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if ambiguousPath(path) {
		return x.deny(Check{Name: "path", Detail: "the path is ambiguous (encoded separators or dot segments)"},
			&gatewayError{Status: http.StatusBadRequest, Reason: "ambiguous_path"}), nil
	}
	if path == WellKnownProtectedResource || strings.HasPrefix(path, WellKnownProtectedResource+"/") {
		x.Checks = append(x.Checks, Check{Name: "route", Passed: true, Detail: "protected-resource metadata (RFC 9728) is public"})
		return x.allow("resource_metadata"), nil
	}
	clean, _ := cleanRequestPath(path)
	e := g.table.match(clean)
	if e == nil {
		x.NearestPrefix = g.nearestPrefix(clean)
		return x.deny(Check{Name: "route", Detail: "no route's pathPrefix matches " + clean}, notFound()), nil
	}
	rt := e.route
	x.Route = explainedRoute(rt)
	x.Checks = append(x.Checks, Check{Name: "route", Passed: true, Detail: "matched " + rt.PathPrefix + " (" + rt.Key + ")"})

	probe, err := http.NewRequestWithContext(ctx, req.Method, "http://gateway"+path, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadExplainRequest, err)
	}
	if rt.Protocol == ProtocolA2A && isAgentCardRequest(probe, rt.PathPrefix, clean) {
		x.Checks = append(x.Checks, Check{Name: "token", Passed: true, Detail: "agent cards are public"})
		return x.forwarded(e, "agent_card"), nil
	}

	var claims *accesstoken.Claims
	switch {
	case req.Token != "":
		c, err := g.verifier.Verify(ctx, req.Token)
		if err != nil {
			check, reason := tokenCheck(err)
			return x.deny(check, g.invalidToken(rt, "the access token is invalid, expired or revoked", reason)), nil
		}
		claims = c
		x.Checks = append(x.Checks,
			Check{Name: "token", Passed: true, Detail: "signature, issuer, type (at+jwt) and lifetime verified"},
			Check{Name: "revocation", Passed: true, Detail: "the token is not revoked"},
			Check{Name: "client", Passed: true, Detail: "client " + c.ClientID + " exists and is not suspended"})
	case req.ClientID != "":
		c, check, gerr := g.hypothetical(rt, req)
		x.Checks = append(x.Checks, Check{Name: "token", Passed: true, Detail: "hypothetical token: not checked"})
		if gerr != nil {
			return x.deny(check, gerr), nil
		}
		x.Checks = append(x.Checks, check)
		claims = c
	default:
		if !rt.AllowAnonymous {
			return x.deny(Check{Name: "token", Detail: "no bearer token, and the route does not allow anonymous requests"}, g.missingToken(rt)), nil
		}
		x.Checks = append(x.Checks, Check{Name: "token", Passed: true, Detail: "anonymous requests are allowed (rate limited per source address)"})
		return x.forwarded(e, "anonymous"), nil
	}
	x.ClientID = claims.ClientID

	scopes := g.scopeCheck(rt, claims)
	x.Checks = append(x.Checks, scopes)
	if !scopes.Passed {
		return x.deny(Check{}, g.insufficient(rt, "the token lacks a scope this route requires", "insufficient_scope")), nil
	}
	accepted := g.routeAudiences(rt)
	aud := Check{Name: "audience", Required: accepted, Held: claims.Audience}
	if aud.Passed = audienceAllowed(claims.Audience, accepted); !aud.Passed {
		aud.Detail = "the token's aud holds none of the route's audiences"
		return x.deny(aud, g.insufficient(rt, "the token is not meant for this route (audience)", "audience_mismatch")), nil
	}
	aud.Detail = "the token's aud holds one of the route's audiences"
	x.Checks = append(x.Checks, aud)

	check, ok, retry := g.peekLimits(rt, claims.ClientID)
	if !ok {
		x.RetryAfter = seconds(retry)
		return x.deny(check, &gatewayError{Status: http.StatusTooManyRequests, Reason: "rate_limited"}), nil
	}
	x.Checks = append(x.Checks, check)
	return x.forwarded(e, "authorized"), nil
}

// tokenCheck names why Verify refused a token.
func tokenCheck(err error) (Check, string) {
	switch {
	case errors.Is(err, accesstoken.ErrRevoked):
		return Check{Name: "revocation", Detail: "the token was revoked"}, "revoked"
	case errors.Is(err, accesstoken.ErrClientDeleted):
		return Check{Name: "client", Detail: "the token's client no longer exists"}, "client_deleted"
	case errors.Is(err, accesstoken.ErrClientSuspended):
		return Check{Name: "client", Detail: "the token's client is suspended"}, "client_suspended"
	case errors.Is(err, jwt.ErrTokenExpired):
		return Check{Name: "token", Detail: "the token has expired"}, "expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return Check{Name: "token", Detail: "the token is not valid yet"}, "not_yet_valid"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return Check{Name: "token", Detail: "the token is from another issuer"}, "foreign_issuer"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return Check{Name: "token", Detail: "the signature does not verify against a published key, or the header is refused"}, "bad_signature"
	}
	return Check{Name: "token", Detail: "the token is malformed or refused"}, "invalid_token"
}

// hypothetical builds the claims of a token the client could hold: the
// given scopes and audiences (default: the client's allowed scopes, its
// audience allow-list or else the route protocol's default audience).
func (g *Gateway) hypothetical(rt *Route, req ExplainRequest) (*accesstoken.Claims, Check, *gatewayError) {
	if g.registry == nil {
		return nil, Check{Name: "client", Detail: "no client registry"}, g.invalidToken(rt, "the access token is invalid, expired or revoked", "client_deleted")
	}
	c, ok := g.registry.Get(req.ClientID)
	if !ok {
		return nil, Check{Name: "client", Detail: "no client " + req.ClientID}, g.invalidToken(rt, "the access token is invalid, expired or revoked", "client_deleted")
	}
	if c.Suspended {
		return nil, Check{Name: "client", Detail: "client " + c.ID + " is suspended"}, g.invalidToken(rt, "the access token is invalid, expired or revoked", "client_suspended")
	}
	scopes := req.Scopes
	if len(scopes) == 0 {
		scopes = c.Scopes
	}
	// A token never holds more than the client is allowed.
	scopes = scope.Intersect(scopes, c.Scopes)
	aud := req.Audiences
	if len(aud) == 0 {
		aud = c.Audiences
	}
	if len(aud) == 0 {
		aud = []string{DefaultAudience(rt.Protocol)}
	}
	claims := &accesstoken.Claims{ClientID: c.ID, Scope: strings.Join(scopes, " ")}
	claims.Audience = aud
	return claims, Check{Name: "client", Passed: true, Detail: "client " + c.ID + " exists and is not suspended"}, nil
}

// scopeCheck compares the route's required scopes with the held ones.
func (g *Gateway) scopeCheck(rt *Route, c *accesstoken.Claims) Check {
	held := c.Scopes()
	ck := Check{Name: "scopes", Required: rt.RequiredScopes, Held: held, SatisfiedBy: map[string]string{}}
	for _, r := range rt.RequiredScopes {
		for _, h := range held {
			if scope.Implies(h, r) {
				ck.SatisfiedBy[r] = h
				break
			}
		}
	}
	ck.Passed = scope.Satisfies(held, rt.RequiredScopes, rt.ScopeMatchAll)
	match := "any"
	if rt.ScopeMatchAll {
		match = "all"
	}
	switch {
	case len(rt.RequiredScopes) == 0:
		ck.Detail = "the route requires no scope"
	case ck.Passed:
		ck.Detail = "the held scopes satisfy " + match + " of the required ones"
	default:
		ck.Detail = "the held scopes do not satisfy " + match + " of the required ones"
	}
	if len(ck.SatisfiedBy) == 0 {
		ck.SatisfiedBy = nil
	}
	return ck
}

// peekLimits reads the client's buckets on this route without taking a
// token: ok is false when one of them is empty, and retry is then how long
// until the emptiest serves again.
func (g *Gateway) peekLimits(rt *Route, clientID string) (ck Check, ok bool, retry time.Duration) {
	now := g.now()
	ck = Check{Name: "rateLimit", Passed: true, Detail: "no rate limit applies"}
	limits, n := g.clientLimits(rt, clientID)
	var parts []string
	for _, cl := range limits[:n] {
		tokens := g.limiters.peek(cl.key, cl.limit, now)
		parts = append(parts, fmt.Sprintf("%s: %d of %d requests left", cl.what, int(math.Max(0, math.Floor(tokens))), cl.limit.Burst))
		if tokens < 1 {
			ck.Passed = false
			retry = max(retry, time.Duration((1-tokens)/cl.limit.RequestsPerSecond*float64(time.Second)))
		}
	}
	if len(parts) > 0 {
		ck.Detail = strings.Join(parts, "; ")
	}
	return ck, ck.Passed, retry
}

// nearestPrefix is the route prefix sharing the most leading segments with
// p ("" when none shares any).
func (g *Gateway) nearestPrefix(p string) string {
	best, bestN := "", 0
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for _, rt := range g.table.Routes() {
		rs := strings.Split(strings.Trim(rt.PathPrefix, "/"), "/")
		n := 0
		for n < len(rs) && n < len(segs) && rs[n] == segs[n] && rs[n] != "" {
			n++
		}
		if n > bestN || n == bestN && n > 0 && rt.PathPrefix < best {
			best, bestN = rt.PathPrefix, n
		}
	}
	return best
}

func explainedRoute(rt *Route) *ExplainedRoute {
	match := "Any"
	if rt.ScopeMatchAll {
		match = "All"
	}
	return &ExplainedRoute{Key: rt.Key, PathPrefix: rt.PathPrefix, Protocol: string(rt.Protocol),
		RequiredScopes: slices.Clone(rt.RequiredScopes), ScopeMatch: match, Audiences: slices.Clone(rt.Audiences), AllowAnonymous: rt.AllowAnonymous}
}

// deny records a failed check (if named) and the answer of e.
func (x *Explanation) deny(failed Check, e *gatewayError) *Explanation {
	if failed.Name != "" {
		x.Checks = append(x.Checks, failed)
	}
	x.Decision, x.Reason, x.Status, x.WWWAuthenticate = decisionDeny, e.Reason, e.Status, e.Challenge
	return x
}

func (x *Explanation) allow(reason string) *Explanation {
	x.Decision, x.Reason, x.Status = decisionAllow, reason, http.StatusOK
	return x
}

// forwarded is an allowed request, unless the route has no endpoint.
func (x *Explanation) forwarded(e *entry, reason string) *Explanation {
	if len(e.route.Endpoints) == 0 {
		return x.deny(Check{Name: "backend", Detail: "the route has no ready backend endpoints"},
			&gatewayError{Status: http.StatusServiceUnavailable, Reason: "no_ready_endpoints"})
	}
	x.Checks = append(x.Checks, Check{Name: "backend", Passed: true, Detail: fmt.Sprintf("%d ready endpoint(s)", len(e.route.Endpoints))})
	return x.allow(reason)
}
