package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/scope"
)

// ExplainRequest asks what the gateway would do with a request: with an
// access token, or for a hypothetical client holding Scopes and Audiences.
type ExplainRequest struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Token is an access token, as a client would send it.
	Token string `json:"token,omitempty"`
	// Headers are other request headers that take part in the decision:
	// Authorization (instead of Token), Upgrade, and a CORS preflight's
	// Origin and Access-Control-Request-Method.
	Headers map[string]string `json:"headers,omitempty"`
	// ClientID, Scopes and Audiences describe a hypothetical token of a
	// registered client (no token is checked).
	ClientID  string   `json:"clientId,omitempty"`
	Scopes    []string `json:"scopes,omitempty"`
	Audiences []string `json:"audiences,omitempty"`
	// JSONRPCMethod and Item describe the JSON-RPC request of the body on
	// a route with item rules: the method (tools/call, message/send, ...)
	// and the tool or prompt name or resource URI it names. Body instead
	// gives the body itself. Method defaults to POST with either.
	JSONRPCMethod string `json:"jsonrpcMethod,omitempty"`
	Item          string `json:"item,omitempty"`
	Body          string `json:"body,omitempty"`
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
	RequireDPoP    bool     `json:"requireDPoP,omitempty"`
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

// Explain runs the gateway's decision (decide) for req, without forwarding
// anything and without taking from any rate-limit bucket, and reports the
// checks it ran.
func (g *Gateway) Explain(ctx context.Context, req ExplainRequest) (*Explanation, error) {
	if req.Body != "" && req.JSONRPCMethod != "" {
		return nil, fmt.Errorf("%w: give a body or a jsonrpcMethod, not both", ErrBadExplainRequest)
	}
	body, hasBody := explainBody(req)
	if req.Method == "" && hasBody {
		req.Method = http.MethodPost
	}
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	if !strings.HasPrefix(req.Path, "/") {
		return nil, fmt.Errorf("%w: path must start with /", ErrBadExplainRequest)
	}
	if req.Token != "" && req.ClientID != "" {
		return nil, fmt.Errorf("%w: give a token or a clientId, not both", ErrBadExplainRequest)
	}
	path := req.Path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	// The facts come from a request built as a client would send it, read
	// by the same code as ServeHTTP's.
	probe, err := http.NewRequestWithContext(ctx, req.Method, "http://gateway"+path, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadExplainRequest, err)
	}
	for k, val := range req.Headers {
		probe.Header.Set(k, val)
	}
	if probe.Header.Get("Authorization") != "" && (req.Token != "" || req.ClientID != "") {
		return nil, fmt.Errorf("%w: give an Authorization header, a token or a clientId, not two", ErrBadExplainRequest)
	}
	if req.Token != "" {
		probe.Header.Set("Authorization", "Bearer "+req.Token)
	}
	f := requestFacts(probe)
	if hasBody {
		f.body, f.bodyKnown = body, true
	}
	if req.ClientID != "" {
		f.creds = Bearer
		f.hypothetical = g.hypothetical(path, req)
	}
	v := g.decide(ctx, &f, peekTokens, true)
	x := &Explanation{Checks: v.checks, NearestPrefix: v.nearest, Reason: v.reason}
	if x.Checks == nil {
		x.Checks = []Check{}
	}
	if v.entry != nil {
		x.Route = explainedRoute(v.entry.route)
	}
	if v.claims != nil {
		x.ClientID = v.claims.ClientID
	} else if f.hypothetical != nil && f.hypothetical.claims != nil {
		x.ClientID = f.hypothetical.claims.ClientID
	}
	if v.allowed {
		// For a forwarded request the backend answers; 200 stands for it.
		x.Decision, x.Status = decisionAllow, http.StatusOK
		return x, nil
	}
	x.Decision, x.Status, x.WWWAuthenticate = decisionDeny, v.err.Status, v.err.Challenge
	x.RetryAfter = v.err.Headers.Get("Retry-After")
	return x, nil
}

// explainBody is the request body an ExplainRequest stands for: its Body,
// or one JSON-RPC request built from JSONRPCMethod and Item, naming the
// item where the MCP method reads it (params.name, or params.uri for
// resources).
func explainBody(req ExplainRequest) ([]byte, bool) {
	if req.Body != "" {
		return []byte(req.Body), true
	}
	if req.JSONRPCMethod == "" {
		return nil, false
	}
	msg := map[string]any{"jsonrpc": "2.0", "id": 1, "method": req.JSONRPCMethod}
	if req.Item != "" {
		key := "name"
		if strings.HasPrefix(req.JSONRPCMethod, "resources/") {
			key = "uri"
		}
		msg["params"] = map[string]any{key: req.Item}
	}
	b, _ := json.Marshal(msg)
	return b, true
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
// audience allow-list or else the matched route protocol's default
// audience), or the verification error such a token would end in.
func (g *Gateway) hypothetical(path string, req ExplainRequest) *hypotheticalToken {
	var c *registry.Client
	if g.registry != nil {
		c, _ = g.registry.Get(req.ClientID)
	}
	switch {
	case c == nil:
		return &hypotheticalToken{err: fmt.Errorf("%w: %w", accesstoken.ErrInvalidToken, accesstoken.ErrClientDeleted), detail: "no client " + req.ClientID}
	case c.Suspended:
		return &hypotheticalToken{err: fmt.Errorf("%w: %w", accesstoken.ErrInvalidToken, accesstoken.ErrClientSuspended), detail: "client " + c.ID + " is suspended"}
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
		p := ProtocolHTTP
		if clean, _ := cleanRequestPath(path); !ambiguousPath(path) {
			if e := g.table.match(clean); e != nil {
				p = e.route.Protocol
			}
		}
		aud = []string{DefaultAudience(p)}
	}
	claims := &accesstoken.Claims{ClientID: c.ID, Scope: strings.Join(scopes, " ")}
	claims.Audience = aud
	return &hypotheticalToken{claims: claims, detail: "client " + c.ID + " exists and is not suspended"}
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
		RequiredScopes: slices.Clone(rt.RequiredScopes), ScopeMatch: match, Audiences: slices.Clone(rt.Audiences), AllowAnonymous: rt.AllowAnonymous,
		RequireDPoP: rt.RequireDPoP}
}
