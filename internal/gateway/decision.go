package gateway

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/dpop"
	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/registry"
)

// facts are what the gateway's decision reads from a request. ServeHTTP takes
// them from the request; explain from an ExplainRequest.
type facts struct {
	method string
	// path is the request path as received (URL.Path), before cleaning.
	path string
	// upgrade: the request asks for a protocol upgrade (WebSocket).
	upgrade bool
	// preflight: a CORS preflight (OPTIONS with Origin and
	// Access-Control-Request-Method).
	preflight bool
	creds     Credentials
	// token is the access token when creds is Bearer or DPoP.
	token string
	// rawPath is the path as the client sent it (escaped), for a DPoP
	// proof's htu.
	rawPath string
	// proof is the DPoP header's proof ("" when none), proofErr why the
	// header itself is refused (two of them, empty).
	proof    string
	proofErr error
	// certThumbprint is the x5t#S256 of the verified client certificate
	// of the connection ("" when none, and when explaining).
	certThumbprint string
	// hypothetical, when set, stands for a token instead of verifying one:
	// explain's "what could this client do" (claims of a token the client
	// could hold, or the error a registry lookup ended in).
	hypothetical *hypotheticalToken
	// req is the request itself, read for its source address when an
	// anonymous bucket applies and for its body on a route with item
	// rules; nil when explaining.
	req *http.Request
	// header is the request's header, read on routes with item rules
	// (Mcp-Method, Mcp-Name, Mcp-Protocol-Version).
	header http.Header
	// contentLength and chunked say whether the request declares a body.
	contentLength int64
	chunked       bool
	// body is the request body once read (readBody), or as given to
	// explain; bodyKnown says it is.
	body      []byte
	bodyKnown bool
}

// requestFacts reads the facts of r.
func requestFacts(r *http.Request) facts {
	f := facts{method: r.Method, path: r.URL.Path, rawPath: r.URL.EscapedPath(), upgrade: r.Header.Get("Upgrade") != "", preflight: isCORSPreflight(r),
		header: r.Header, contentLength: r.ContentLength, chunked: len(r.TransferEncoding) > 0}
	f.token, f.creds = BearerToken(r)
	f.certThumbprint = clientCertThumbprint(r)
	if f.creds == DPoP || len(r.Header[dpopHeader]) > 0 {
		f.proof, f.proofErr = dpop.FromHeader(r.Header)
	}
	return f
}

type hypotheticalToken struct {
	claims *accesstoken.Claims
	err    error
	detail string
}

// limitMode says what the decision does with the rate-limit buckets.
type limitMode int

const (
	// takeTokens takes one token from each bucket (ServeHTTP).
	takeTokens limitMode = iota
	// peekTokens reads the buckets without taking (explain).
	peekTokens
)

// verdict is the gateway's decision about one request: what it answers and
// why, and for explain the checks in the order they ran.
type verdict struct {
	// entry is the matched route (nil when none matched).
	entry *entry
	// clean and trailing are the cleaned request path and whether it ended
	// in a slash.
	clean    string
	trailing bool

	allowed bool
	// reason is the reason code (Reasons).
	reason string
	// err is the answer of a refusal.
	err *gatewayError
	// metadata: serve the route's RFC 9728 document.
	metadata bool
	// agentCard: the request reads an A2A agent card, rewritten on its
	// way back.
	agentCard bool
	// claims are the verified claims of an authorized request, nil for a
	// public one.
	claims *accesstoken.Claims

	// rate is the state of the most constrained bucket of an allowed
	// request, for its RateLimit-* fields (rate.known false: none applied).
	rate limitVerdict

	// lists are the list requests of an allowed body on a route with item
	// rules, whose answers are filtered; itemBuckets the rate-limit
	// buckets of the rules its items fall under.
	lists       []listRequest
	itemBuckets []bucketRef
	// listsByShape: filter every list answer of an event stream, whatever
	// request it answers (an MCP GET stream); listsPrivate: mark filtered
	// lists cacheScope "private" (filter.go).
	listsByShape, listsPrivate bool
	// ctx is the request's context, for the rate-limit store (decide's
	// ctx, kept here for the one call that needs it).
	ctx context.Context
	// call is what the inspected body asked for (rpclabels.go).
	call rpcCall
	// llm is what an LLM route's request asks for (llmdecide.go).
	llm *llmCall

	// explain records checks; checks are the steps that ran.
	explain bool
	checks  []Check
	// nearest is, when no route matched and explaining, the route prefix
	// sharing the most leading segments with the path.
	nearest string
}

// check records a step when explaining. The Check is built only then, so
// the request path pays for no strings.
func (v *verdict) check(build func() Check) {
	if v.explain {
		v.checks = append(v.checks, build())
	}
}

func (v *verdict) deny(e *gatewayError) {
	v.allowed, v.reason, v.err = false, e.Reason, e
}

func (v *verdict) allow(reason string) {
	v.allowed, v.reason, v.err = true, reason, nil
}

// decide is the gateway's decision, the one place it is written. It runs
// the checks in order — path, route, the public answers (RFC 9728 metadata,
// agent cards, CORS preflights), credentials, token, scopes, audience, the
// JSON-RPC items of routes with item rules, rate limits, backend — and
// stops at the first that fails. ServeHTTP runs it
// and then forwards or answers; explain runs it with peekTokens and
// reports the checks. It reads the route table, the token verifier (a cache
// of the token server's keys, revocations and clients), the registry and
// the clock; with takeTokens it also takes from the rate-limit buckets.
func (g *Gateway) decide(ctx context.Context, f *facts, mode limitMode, explain bool) verdict {
	v := verdict{explain: explain, ctx: ctx}
	if ambiguousPath(f.path) {
		v.check(func() Check {
			return Check{Name: "path", Detail: "the path is ambiguous (encoded separators or dot segments)"}
		})
		v.deny(ambiguous())
		return v
	}
	if p := f.path; p == WellKnownProtectedResource || strings.HasPrefix(p, WellKnownProtectedResource+"/") {
		g.decideMetadata(&v, f)
		return v
	}
	v.clean, v.trailing = cleanRequestPath(f.path)
	v.entry = g.table.match(v.clean)
	if v.entry == nil {
		v.check(func() Check { return Check{Name: "route", Detail: "no route's pathPrefix matches " + v.clean} })
		if explain {
			v.nearest = g.nearestPrefix(v.clean)
		}
		v.deny(notFound())
		return v
	}
	rt := v.entry.route
	v.check(func() Check {
		return Check{Name: "route", Passed: true, Detail: "matched " + rt.PathPrefix + " (" + rt.Key + ")"}
	})

	// The public answers below never carry a protocol upgrade: a WebSocket
	// opened on an agent card's path or by a preflight would be a
	// connection nobody authenticated.
	public := !f.upgrade
	if rt.Protocol == ProtocolLLM {
		llmAPIKeyToken(f)
	}
	if public && rt.Protocol == ProtocolA2A && isAgentCardRequest(f.method, rt.PathPrefix, v.clean) {
		// Agent cards are public (see the package documentation).
		v.check(func() Check { return Check{Name: "token", Passed: true, Detail: "agent cards are public"} })
		v.agentCard = true
		g.decideAnonymous(&v, f, mode, ReasonAgentCard)
		return v
	}
	if f.creds == MalformedBearer {
		v.check(func() Check {
			return Check{Name: "token", Detail: "the Authorization header is malformed (RFC 6750 §2.1)"}
		})
		v.deny(g.malformedRequest(rt))
		return v
	}
	hasToken := f.creds == Bearer || f.creds == DPoP
	if !hasToken && public && f.preflight {
		// Browsers never send credentials on a CORS preflight (Fetch
		// standard, CORS-preflight request), so demanding a token would
		// break browser-based MCP clients. The backend answers it without
		// identity headers, rate limited like an anonymous request.
		v.check(func() Check {
			return Check{Name: "token", Passed: true, Detail: "CORS preflights carry no credentials and pass as anonymous requests"}
		})
		g.decideAnonymous(&v, f, mode, ReasonCORSPreflight)
		return v
	}
	if !hasToken {
		if !rt.AllowAnonymous {
			v.check(func() Check {
				return Check{Name: "token", Detail: "no bearer token, and the route does not allow anonymous requests"}
			})
			v.deny(g.missingToken(rt))
			return v
		}
		v.check(func() Check {
			return Check{Name: "token", Passed: true, Detail: "anonymous requests are allowed (rate limited per source address)"}
		})
		g.decideAnonymous(&v, f, mode, ReasonAnonymous)
		return v
	}

	claims, ok := g.decideToken(ctx, &v, f, rt)
	if !ok || !g.decideBinding(&v, f, rt, claims, mode) {
		return v
	}
	if !g.decideScopes(&v, rt, claims) || !g.decideAudience(&v, v.entry, claims) {
		return v
	}
	v.claims = claims
	// Routes without item rules never get here with a body read: their
	// requests cost nothing more for the feature.
	if rt.Items != nil && !g.decideItems(&v, f, rt, claims) {
		return v
	}
	if rt.LLM != nil && !g.decideLLM(&v, f, rt, claims) {
		return v
	}
	buckets := g.clientBuckets(rt, claims.ClientID)
	for _, b := range v.itemBuckets {
		buckets.add(b)
	}
	if !g.decideLimits(&v, mode, "client", buckets) {
		return v
	}
	if v.llm != nil {
		g.decideLLMBackend(&v)
		return v
	}
	g.decideBackend(&v, ReasonAuthorized)
	return v
}

// decideMetadata decides a request for RFC 9728 protected-resource
// metadata: public, for routes whose prefix is exactly the rest of the
// path (§3.3 requires the document's resource to equal the identifier the
// URL was formed from), GET or HEAD only.
func (g *Gateway) decideMetadata(v *verdict, f *facts) {
	prefix := CleanPrefix(strings.TrimPrefix(f.path, WellKnownProtectedResource))
	v.entry = g.table.exact(prefix)
	if v.entry == nil {
		v.check(func() Check { return Check{Name: "route", Detail: "no route has the pathPrefix " + prefix} })
		v.deny(notFound())
		return
	}
	v.check(func() Check {
		return Check{Name: "route", Passed: true, Detail: "protected-resource metadata (RFC 9728) of " + v.entry.route.Key + " is public"}
	})
	if f.method != http.MethodGet && f.method != http.MethodHead {
		v.check(func() Check { return Check{Name: "method", Detail: "metadata is read with GET or HEAD"} })
		v.deny(methodNotAllowed())
		return
	}
	v.metadata = true
	v.allow(ReasonResourceMetadata)
}

// decideToken verifies the bearer token (or takes the hypothetical one).
// Any failure (bad signature, expired, revoked, foreign issuer, deleted or
// suspended client) is 401 error="invalid_token" (RFC 6750 §3.1); the
// reason goes to the decision log and metrics only, the answer is the same
// for all.
func (g *Gateway) decideToken(ctx context.Context, v *verdict, f *facts, rt *Route) (*accesstoken.Claims, bool) {
	var claims *accesstoken.Claims
	var err error
	if h := f.hypothetical; h != nil {
		v.check(func() Check { return Check{Name: "token", Passed: true, Detail: "hypothetical token: not checked"} })
		claims, err = h.claims, h.err
		if err == nil {
			v.check(func() Check { return Check{Name: "client", Passed: true, Detail: h.detail} })
		} else {
			v.check(func() Check { return Check{Name: "client", Detail: h.detail} })
		}
	} else {
		claims, err = g.verifier.Verify(ctx, f.token)
		if err != nil {
			v.check(func() Check { ck, _ := tokenCheck(err); return ck })
		} else {
			v.check(func() Check {
				return Check{Name: "token", Passed: true, Detail: "signature, issuer, type (at+jwt) and lifetime verified"}
			})
			v.check(func() Check { return Check{Name: "revocation", Passed: true, Detail: "the token is not revoked"} })
			v.check(func() Check {
				return Check{Name: "client", Passed: true, Detail: "client " + claims.ClientID + " exists and is not suspended"}
			})
		}
	}
	if err != nil {
		_, reason := tokenCheck(err)
		v.deny(g.invalidToken(rt, "the access token is invalid, expired or revoked", reason))
		return nil, false
	}
	return claims, true
}

// decideScopes applies the route's required scopes: the granted scopes must
// satisfy them (scopeMatch Any or All, with the built-in level implication
// and admin satisfying anything, SPEC §3), else 403
// error="insufficient_scope" naming them (RFC 6750 §3.1).
func (g *Gateway) decideScopes(v *verdict, rt *Route, c *accesstoken.Claims) bool {
	// The granted scopes, split into an array on the stack: Scopes()
	// allocates a slice per request.
	var buf [8]string
	held := buf[:0]
	for sc := range strings.FieldsSeq(c.Scope) {
		held = append(held, sc)
	}
	ok := ScopesSatisfied(held, rt)
	v.check(func() Check { return scopeCheck(rt, c.Scopes(), ok) })
	if !ok {
		v.deny(g.insufficient(rt, "the token lacks a scope this route requires", ReasonInsufficientScope))
	}
	return ok
}

// decideAudience requires the token's aud to hold one of the route's
// audiences (RouteAudiences), else 403 error="insufficient_scope".
func (g *Gateway) decideAudience(v *verdict, e *entry, c *accesstoken.Claims) bool {
	rt, accepted := e.route, e.acceptedAudiences(g.gatewayURL)
	ok := AudienceAllowed(c.Audience, accepted)
	v.check(func() Check {
		ck := Check{Name: "audience", Passed: ok, Required: accepted, Held: c.Audience,
			Detail: "the token's aud holds one of the route's audiences"}
		if !ok {
			ck.Detail = "the token's aud holds none of the route's audiences"
		}
		return ck
	})
	if !ok {
		v.deny(g.insufficient(rt, "the token is not meant for this route (audience)", ReasonAudienceMismatch))
	}
	return ok
}

// decideAnonymous finishes a request that passes without a token: the
// route's limit per source address, then the backend.
func (g *Gateway) decideAnonymous(v *verdict, f *facts, mode limitMode, reason string) {
	rt := v.entry.route
	if reason == ReasonAnonymous && rt.Items != nil && !g.decideItems(v, f, rt, nil) {
		return
	}
	buckets := g.sourceBuckets(rt, f)
	for _, b := range v.itemBuckets {
		buckets.add(b)
	}
	if g.decideLimits(v, mode, "source address", buckets) {
		g.decideBackend(v, reason)
	}
}

// decideBackend allows the request if the route has a ready endpoint, else
// answers 503.
func (g *Gateway) decideBackend(v *verdict, reason string) {
	n := len(v.entry.route.Endpoints)
	if n == 0 {
		v.check(func() Check { return Check{Name: "backend", Detail: "the route has no ready backend endpoints"} })
		v.deny(noBackend())
		return
	}
	v.check(func() Check {
		return Check{Name: "backend", Passed: true, Detail: fmt.Sprintf("%d ready endpoint(s)", n)}
	})
	v.allow(reason)
}

// decideLimits takes from (or, explaining, reads) every bucket that
// applies. A refusal is 429 with Retry-After (RFC 6585 §4, RFC 9110
// §10.2.3) and the RateLimit-* fields (draft-ietf-httpapi-ratelimit-headers:
// limit = bucket size, remaining, reset = seconds until the next request can
// pass). A store that does not answer (Redis down) lets the request pass
// uncounted (failure mode open) or refuses it with 503 and Retry-After
// (closed).
func (g *Gateway) decideLimits(v *verdict, mode limitMode, who string, set bucketSet) bool {
	buckets := set.list()
	if set.overflow {
		// Taken apart, the buckets would not be all or none.
		v.check(func() Check {
			return Check{Name: "rateLimit", Detail: fmt.Sprintf("the body's items fall under more rate-limited rules than one request may take from (%d buckets at most)", ratelimit.MaxBuckets)}
		})
		v.deny(&gatewayError{Status: http.StatusBadRequest, Code: "invalid_request",
			Description: "the batch names items under too many rate-limited rules; send them in smaller batches", Reason: ReasonJSONRPCInvalid})
		return false
	}
	if len(buckets) == 0 {
		v.check(func() Check { return Check{Name: "rateLimit", Passed: true, Detail: "no rate limit applies"} })
		return true
	}
	ctx := v.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	now := g.now()
	var res limitVerdict
	var state ratelimit.Result
	var err error
	if mode == takeTokens {
		res, state, err = g.takeFrom(ctx, buckets, now)
	} else {
		res, state, err = g.peekAt(ctx, buckets, now)
	}
	if err != nil {
		return g.limitStoreFailed(v, mode, buckets, err)
	}
	v.check(func() Check { return g.limitCheckOf(buckets, state, res.allowed) })
	if res.allowed {
		v.rate = res
		return true
	}
	retry := seconds(res.retryAfter)
	v.deny(&gatewayError{
		Status:      http.StatusTooManyRequests,
		Code:        "rate_limited",
		Description: "rate limit exceeded for this " + who,
		Reason:      ReasonRateLimited,
		Headers: http.Header{
			"Retry-After":         {retry},
			"Ratelimit-Limit":     {strconv.Itoa(res.limit)},
			"Ratelimit-Remaining": {"0"},
			"Ratelimit-Reset":     {retry},
		},
	})
	return false
}

// limitStoreFailed decides a request whose rate-limit store did not
// answer, by the failure mode: open lets it pass (counted in
// scopegate_gateway_rate_limit_unchecked_total), closed refuses it with
// 503 and Retry-After.
func (g *Gateway) limitStoreFailed(v *verdict, mode limitMode, buckets []bucketRef, err error) bool {
	kind := buckets[0].store.Kind()
	if !g.limitFailClosed {
		if mode == takeTokens {
			g.limitMetrics.unchecked.WithLabelValues(kind).Inc()
		}
		v.check(func() Check {
			return Check{Name: "rateLimit", Passed: true, Detail: "the " + kind + " rate-limit store did not answer (" + err.Error() + "); the request passes unchecked (--rate-limit-failure-mode=open)"}
		})
		return true
	}
	v.check(func() Check {
		return Check{Name: "rateLimit", Detail: "the " + kind + " rate-limit store did not answer (" + err.Error() + "); the request is refused (--rate-limit-failure-mode=closed)"}
	})
	v.deny(&gatewayError{
		Status:      http.StatusServiceUnavailable,
		Code:        "temporarily_unavailable",
		Description: "the rate limit cannot be checked right now",
		Reason:      ReasonRateLimitUnavailable,
		Headers:     http.Header{"Retry-After": {"1"}},
	})
	return false
}

// limitCheckOf describes the buckets for explain: what each had left, and
// where the buckets are.
func (g *Gateway) limitCheckOf(buckets []bucketRef, state ratelimit.Result, passed bool) Check {
	b, store := g.limitBatch(buckets)
	parts := make([]string, 0, len(buckets)+1)
	for i, r := range buckets {
		parts = append(parts, fmt.Sprintf("%s: %d of %d requests left", r.what, int(math.Max(0, math.Floor(state.Tokens[i]))), b.Buckets[i].Limit.Burst))
	}
	parts = append(parts, g.storeDetail(store))
	return Check{Name: "rateLimit", Passed: passed, Detail: strings.Join(parts, "; ")}
}

// scopeCheck describes the scope comparison for explain.
func scopeCheck(rt *Route, held []string, passed bool) Check {
	ck := Check{Name: "scopes", Passed: passed, Required: rt.RequiredScopes, Held: held, SatisfiedBy: satisfiedBy(held, rt.RequiredScopes)}
	match := "any"
	if rt.ScopeMatchAll {
		match = "all"
	}
	switch {
	case len(rt.RequiredScopes) == 0:
		ck.Detail = "the route requires no scope"
	case passed:
		ck.Detail = "the held scopes satisfy " + match + " of the required ones"
	default:
		ck.Detail = "the held scopes do not satisfy " + match + " of the required ones"
	}
	return ck
}

// bucketSet holds the buckets a request takes from: at most
// ratelimit.MaxBuckets (the route's and the client's, and room for more),
// in an array so the request path does not allocate a slice for them: the
// route's, the client's, and those of the item rules a body's items fall
// under. Every bucket of a set is in one store.
type bucketSet struct {
	refs [ratelimit.MaxBuckets]bucketRef
	n    int
	// overflow: more buckets than one decision takes (a batch whose items
	// fall under more rate-limited rules than fit).
	overflow bool
}

func (s *bucketSet) add(b bucketRef) {
	if s.n == len(s.refs) {
		s.overflow = true
		return
	}
	s.refs[s.n] = b
	s.n++
}

func (s *bucketSet) list() []bucketRef { return s.refs[:s.n] }

// bucketRef is one rate-limit bucket a request takes from.
type bucketRef struct {
	what  string
	store ratelimit.Store
	key   string
	limit registry.RateLimit
	// n is how many tokens the request takes (0 means 1): a batch takes
	// one per item of the rule.
	n int
}

// count is how many tokens the request takes from b.
func (b *bucketRef) count() int { return max(b.n, 1) }

// clientBuckets are the buckets of clientID's requests on rt: the route's
// limit per client, and the client's own (OAuthClient spec.rateLimit), in
// that order.
func (g *Gateway) clientBuckets(rt *Route, clientID string) bucketSet {
	var s bucketSet
	if l, ok := normLimit(rt.RateLimit); ok {
		s.add(bucketRef{what: "route limit", store: g.clientStore(), key: "route\x00" + rt.Key + "\x00" + clientID, limit: l})
	}
	if g.registry != nil {
		if c, found := g.registry.Get(clientID); found {
			if l, ok := normLimit(c.RateLimit); ok {
				s.add(bucketRef{what: "client limit", store: g.clientStore(), key: "client\x00" + clientID, limit: l})
			}
		}
	}
	return s
}

// sourceBuckets is the bucket of a request without a token: the route's
// limit per source address. Explaining (no request), the source is unknown
// and the bucket read is a fresh one.
func (g *Gateway) sourceBuckets(rt *Route, f *facts) bucketSet {
	var s bucketSet
	if l, ok := normLimit(rt.RateLimit); ok {
		src := ""
		if f.req != nil {
			src = sourceKey(g.clientAddr(f.req))
		}
		s.add(bucketRef{what: "source address limit", store: g.sourceStore(), key: "addr\x00" + rt.Key + "\x00" + src, limit: l})
	}
	return s
}
