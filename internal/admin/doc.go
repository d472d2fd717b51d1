// Package admin is scopegate's read-only admin API, served on the gateway's
// port under /admin/v1/: who can reach what, and why a request would be
// refused.
//
//	GET  /admin/v1/clients      OAuthClients: scopes, audiences, suspension, authentication, token Secret status
//	GET  /admin/v1/routes       GatewayRoutes: prefix, protocol, required scopes, audiences, rate limit, backend readiness
//	GET  /admin/v1/keys         signing keys: kid, state and lifetime (public data only)
//	GET  /admin/v1/revocations  how many revocations are held and the oldest expiry
//	POST /admin/v1/explain      the gateway's decision about a request, check by check
//
// Every call needs a bearer token that scopegate issued, holding the admin
// scope and the audience admin (RFC 6750 errors otherwise). Lists are
// sorted by namespace/name and paginated with limit and continue, as the
// Kubernetes API is. No answer ever holds a client secret, a digest, a
// private key or a token.
package admin
