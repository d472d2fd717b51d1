// Package tlsclientauth owns RFC 8705 §2.1's PKI method for client
// certificates that scopegate did not issue: which certificate subject a
// client registered (the subject distinguished name or one subject
// alternative name, RFC 8705 §2.1.2), and whether a chain a TLS client
// presented authenticates that client (it verifies against the CA bundle
// the client references, for client authentication, at the given time, and
// its leaf carries the registered subject).
//
// It knows nothing of Kubernetes or HTTP: the OAuthClient controllers build
// a Trust from the spec and the referenced bundle, the token endpoint asks
// it about the connection's chain. The TLS handshake has already proven
// that the peer holds the leaf's private key; this package decides whose
// key it is. Nothing here logs.
package tlsclientauth
