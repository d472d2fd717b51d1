package tokenserver

import (
	"crypto/x509"
	"errors"
	"net/http"

	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/servingcert"
	"github.com/scopegate/scopegate/internal/tlsclientauth"
)

// authMethodTLS is RFC 8705 §2.1's PKI method: the client authenticates
// with a certificate from scopegate's CA naming its OAuthClient's UID
// (tlsClientAuth), or from the CA its OAuthClient references carrying its
// registered subject (tlsClientCertificate).
const authMethodTLS = "tls_client_auth"

// clientChain is the certificate chain r's TLS connection presented, the
// leaf first; nil without one. The listeners request certificates without
// verifying them (servingcert.Source.TLSConfig): the handshake has proven
// only that the client holds the leaf's private key. Whether the chain is
// a client's is checkCert's question, asked with that client's CA.
func (s *Server) clientChain(r *http.Request) []*x509.Certificate {
	if !s.opts.ClientCertificates || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return nil
	}
	return r.TLS.PeerCertificates
}

// checkCert reports why chain is not a client certificate of c, nil when
// it is: with tlsClientAuth it chains to scopegate's CA for client
// authentication and names c's UID; with a referenced CA
// (CertificateTrust) it chains to that CA and carries c's registered
// subject. Both are checked at the server's time.
func (s *Server) checkCert(chain []*x509.Certificate, c *registry.Client) error {
	switch {
	case len(chain) == 0:
		return errors.New("no client certificate")
	case c == nil:
		return errors.New("no client")
	case c.TLSClientAuth:
		if s.opts.ClientCAs == nil {
			return errors.New("scopegate's CA signs no client certificates outside --tls-mode=auto")
		}
		if c.UID == "" || servingcert.ClientUID(chain[0]) != c.UID {
			return errors.New("the certificate does not name the client's UID")
		}
		return tlsclientauth.VerifyChain(chain, s.opts.ClientCAs(), s.now())
	case c.CertificateTrust != nil:
		return c.CertificateTrust.Check(chain, s.now())
	}
	return errors.New("the client authenticates with no certificate")
}

// certificateClient authenticates client_id id by the connection's
// certificate (tls_client_auth; RFC 8705 §2 requires the client_id).
func (s *Server) certificateClient(r *http.Request, id string) (authenticated, bool) {
	c, ok := s.opts.Registry.Get(id)
	if !ok {
		return authenticated{}, false
	}
	chain := s.clientChain(r)
	if err := s.checkCert(chain, c); err != nil {
		s.opts.Log.V(1).Info("Client certificate refused", "clientID", c.ID, "reason", err.Error())
		return authenticated{}, false
	}
	return authenticated{Client: c, x5t: servingcert.Thumbprint(chain[0])}, true
}

// certBinding is the x5t#S256 a token for c is bound to (RFC 8705 §3): the
// thumbprint of the connection's certificate when it is one of c's, ""
// otherwise (a bearer token, or DPoP-bound only). A client that
// authenticated otherwise (a secret) over a connection presenting its
// certificate gets a bound token too.
func (s *Server) certBinding(r *http.Request, c authenticated) string {
	if c.x5t != "" {
		return c.x5t
	}
	chain := s.clientChain(r)
	if s.checkCert(chain, c.Client) != nil {
		return ""
	}
	return servingcert.Thumbprint(chain[0])
}
