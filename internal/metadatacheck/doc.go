// Package metadatacheck validates OAuth metadata documents against the
// REQUIRED and MUST rules of the RFCs that define them: authorization-server
// metadata (RFC 8414 §2, §3.2, §3.3, with the DPoP member of RFC 9449 §5.1)
// and protected-resource metadata (RFC 9728 §2, §3.2, §3.3). It is what a
// strict client library checks before it trusts a document; the token
// server's and the gateway's tests run their documents through it.
package metadatacheck
