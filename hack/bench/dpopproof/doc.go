// Package dpopproof signs DPoP proofs (RFC 9449 §4.2) for the benchmark
// harness's load generator: one ES256 key per target, a fresh proof per
// request (a unique jti, iat now, htm the request's method, htu fixed, ath
// the SHA-256 of the DPoP access token the request carries). The key is a
// throwaway: the harness makes it, writes it next to the plan (PEM, 0600)
// and the load generator reads it.
//
// It is not internal/dpop/dpoptest, which is for tests only; it signs with
// golang-jwt as a client library would.
package dpopproof
