package tokenserver

import (
	"crypto/x509"
	"net/http"

	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/servingcert"
)

// authMethodTLS is RFC 8705 §2.1's PKI method: the client authenticates
// with a certificate from scopegate's CA naming its OAuthClient's UID.
const authMethodTLS = "tls_client_auth"

// clientCert is the client certificate of r's connection when the
// listener verified one against scopegate's CA (Options.ClientCertificates),
// else nil.
func (s *Server) clientCert(r *http.Request) *x509.Certificate {
	if !s.opts.ClientCertificates || r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil
	}
	return r.TLS.VerifiedChains[0][0]
}

// certAuthenticates reports whether cert is a client certificate of c: c
// has tlsClientAuth and cert names its UID.
func certAuthenticates(cert *x509.Certificate, c *registry.Client) bool {
	return cert != nil && c != nil && c.TLSClientAuth && c.UID != "" && servingcert.ClientUID(cert) == c.UID
}

// certificateClient authenticates client_id id by the connection's
// certificate (tls_client_auth; RFC 8705 §2 requires the client_id).
func (s *Server) certificateClient(r *http.Request, id string) (authenticated, bool) {
	c, ok := s.opts.Registry.Get(id)
	if !ok || !certAuthenticates(s.clientCert(r), c) {
		return authenticated{}, false
	}
	return authenticated{Client: c}, true
}

// certBinding is the x5t#S256 a token for c is bound to (RFC 8705 §3): the
// thumbprint of the connection's certificate when it is one of c's, ""
// otherwise (a bearer token, or DPoP-bound only).
func (s *Server) certBinding(r *http.Request, c authenticated) string {
	cert := s.clientCert(r)
	if !certAuthenticates(cert, c.Client) {
		return ""
	}
	return servingcert.Thumbprint(cert)
}
