// Package dpop verifies DPoP proofs (RFC 9449): the JWTs a client sends in
// the DPoP header to show that it holds the private key its access token is
// bound to. It owns the proof checks of RFC 9449 §4.3 (typ, alg, a public
// jwk, the signature, htm, htu, iat, ath, nonce), the RFC 7638 thumbprint
// that binds a token to the key (cnf.jkt, §6), the per-replica replay cache
// of proof jti values (§11.1) and the server nonces of §8.
//
// It knows nothing of HTTP handlers or OAuth error answers: the token
// endpoint, and later the gateway and introspection, map its errors onto
// invalid_dpop_proof and use_dpop_nonce themselves. Nothing here logs, and
// no error message quotes a proof.
package dpop
