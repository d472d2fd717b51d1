// Package tokenserver is scopegate's OAuth 2.0 authorization server for
// machines: the client_credentials token endpoint (RFC 6749 §4.4) issuing
// JWT access tokens (RFC 9068), the JWKS (RFC 7517), authorization-server
// metadata (RFC 8414), introspection (RFC 7662) and revocation (RFC 7009).
//
// Its subpackages hold the parts that other components share: registry (the
// client index the OAuthClient controller feeds), scope (the scope model of
// SPEC §3), keys (signing keys kept in a Secret), revocation (revoked jtis
// kept in the cluster) and gateway (the embedded reverse proxy).
package tokenserver
