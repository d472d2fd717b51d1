// Package keys owns the token server's ES256 signing keys (RFC 7518 §3.4):
// the key set and its rotation policy, an in-memory Ring that signs and
// verifies on the hot path, and the Secret that shares the set among all
// manager replicas.
//
// Rotation is time based, so that replicas agree without talking to each
// other: every key carries the instant it starts signing (ActivateAt). The
// leader adds the next key to the Secret PrePublish before it activates, so
// relying parties see it in the JWKS (RFC 7517) before any token carries its
// kid; at ActivateAt every replica switches to it on its own clock. A key
// replaced by a newer one stays published for RetireAfter (the longest token
// lifetime plus leeway) after its successor activated, then the leader drops
// it.
package keys
