// Package servingcert owns the TLS serving certificates of the token server
// and the gateway and their reload, in four modes (--tls-mode):
//
//   - auto: scopegate runs its own small CA (ECDSA P-256). The leader keeps
//     the CA set in a Secret next to the signing keys (scopegate-ca) and
//     issues the serving certificate into a kubernetes.io/tls Secret
//     (scopegate-tls) whose ca.crt is the CA bundle. Every replica follows
//     that Secret with a watch and hot-reloads it. The serving certificate
//     is renewed at 2/3 of its lifetime, as cert-manager does; a new CA is
//     published in the bundle Overlap before it signs anything, and a
//     replaced CA stays in the bundle for Overlap after its successor
//     started signing, as trust-manager keeps old and new roots during a
//     rotation.
//   - secret: the certificate comes from a kubernetes.io/tls Secret written
//     by someone else (cert-manager), followed with a watch.
//   - files: the certificate comes from files, polled for changes.
//   - off: plain HTTP.
//
// Whether to re-issue the serving certificate, and how the CA set evolves,
// are decided by pure functions of the stored state and the time
// (policy.go), table-tested with a fake clock. A Source holds what every
// listener serves; tls.Config.GetCertificate reads it on each handshake, so
// a new certificate applies to new connections at once while open ones keep
// theirs, and no listener restarts.
//
// In auto mode the CA also signs the client certificates of OAuthClients
// with tlsClientAuth (clientcert.go, RFC 8705). In every mode the
// listeners ask for an optional client certificate without verifying it in
// the handshake; the token endpoint verifies it per client, against this
// CA (ClientCAs) or the CA an OAuthClient references
// (spec.tlsClientCertificate, internal/tlsclientauth).
package servingcert
