// Package gateway is scopegate's embedded API gateway (SPEC §6): a reverse
// proxy that matches a request to a GatewayRoute by longest path prefix,
// authenticates its bearer token (RFC 6750) through an accesstoken.Verifier,
// enforces the route's scopes, audiences and rate limits, and forwards it to
// one of the route's ready backend endpoints with the seed's identity headers.
//
// The route table (Table) is fed by the GatewayRoute controller on every
// manager replica; lookups are lock-free reads of an immutable snapshot.
//
// The decision is written once, in decision.go (decide): ServeHTTP runs it
// and forwards, Explain runs it without taking from the rate-limit buckets,
// and the rule "which tokens does a route accept" (reach.go) is the scope
// audit's rule too (controllers/audit). Reason codes are in reasons.go.
//
// Choices the SPEC leaves open, decided here:
//
//   - x-user-permissions carries the granted scopes comma-separated, the
//     ordinary list syntax of HTTP fields (RFC 9110 §5.3); scope tokens never
//     hold commas (RFC 6749 §3.3).
//   - On an allowAnonymous route a request without a token passes without
//     identity headers (x-proxy-verified is absent); a request that does
//     present a token gets it checked in full, scopes and audiences included,
//     so a backend never sees identity headers from an unchecked token.
//   - A2A agent cards (GET <pathPrefix>/.well-known/agent-card.json, and the
//     older agent.json) are public: A2A clients read a card to learn which
//     security schemes to use before they hold a token. They are rate limited
//     per source address like anonymous requests.
//   - CORS preflights (OPTIONS with Origin and Access-Control-Request-Method)
//     pass without a token, as anonymous requests: browsers never send
//     credentials on them, and the backend owns its CORS policy.
//   - A backend that does not answer is 502, a route without ready endpoints
//     503, and a request that exceeds the route's timeout 504.
//   - Rate limits are token buckets behind a ratelimit.Store: this
//     replica's memory, enforcing its share of each limit among the
//     replicas counted (Options.Replicas), or Redis, shared and exact
//     (Options.RateLimitStore), with the same answers. Anonymous requests
//     are keyed by source address, an IPv6 source by its /64; locally,
//     their buckets are held apart from the clients' buckets. A store that
//     does not answer lets the request pass counted or answers 503
//     (Options.RateLimitFailureMode). LLM token quotas follow the same
//     store: this replica's share of each window in memory, or counters
//     in Redis (ratelimit.Counters) read before the call and charged
//     after it (llmquota.go).
//   - Bearer credentials that break RFC 6750 §2.1 (no token, a token
//     outside b64token, two Authorization fields) are 400
//     error="invalid_request" (RFC 6750 §3.1).
//   - A request path that backends may read differently from path cleaning
//     (a backslash, a dot-segment with ";" parameters, a control
//     character; encoded or not) is 400 invalid_request rather than
//     forwarded, as Traefik refuses such encoded characters by default.
//   - Agent cards and CORS preflights are public only without an Upgrade
//     header: a WebSocket is never opened without a token on a route that
//     needs one.
//   - A route's timeout bounds a WebSocket upgrade until the backend
//     switches protocols; the upgraded connection is not cut.
//   - Routes with item rules (Route.Items: GatewayRoute spec.mcp, spec.a2a)
//     have their JSON-RPC bodies read after the token, scopes and audience
//     pass (inspect.go), and their list answers filtered (filter.go: by
//     request id on a POST's answer, by shape on an MCP GET stream, which
//     may replay earlier POSTs' answers; resource templates by the literal
//     text before their first '{', items.go); other
//     routes never have a body read, so they pay nothing for it. A refused
//     item is a 403 scope challenge naming the route's and the rule's
//     scopes, or in hide mode the MCP SDK's unknown-item error; WebSocket
//     upgrades are refused on such routes, since the gateway would not see
//     their messages.
//   - X-Forwarded-* and X-Real-Ip are passed on only from trusted proxies
//     (and only in their canonical spelling); otherwise the gateway sets
//     X-Forwarded-For, -Host and -Proto itself.
package gateway
