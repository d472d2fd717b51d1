// Package gateway is scopegate's embedded API gateway (SPEC §6): a reverse
// proxy that matches a request to a GatewayRoute by longest path prefix,
// authenticates its bearer token (RFC 6750) through a tokenserver.TokenVerifier,
// enforces the route's scopes, audiences and rate limits, and forwards it to
// one of the route's ready backend endpoints with the seed's identity headers.
//
// The route table (Table) is fed by the GatewayRoute controller on every
// manager replica; lookups are lock-free reads of an immutable snapshot.
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
//   - Rate limits are token buckets per replica (SPEC §8).
package gateway
