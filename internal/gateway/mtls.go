package gateway

import (
	"net/http"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/servingcert"
)

// clientCertThumbprint is the x5t#S256 of the client certificate r's TLS
// connection presented, "" when none. The listener requests certificates
// without verifying their chain (servingcert.Source.TLSConfig); the
// handshake has proven that the client holds the certificate's private
// key, which is what RFC 8705 §3 binds a token to. The chain was verified
// with the client's CA when the token endpoint bound the token to this
// thumbprint, so a certificate no CA vouches for matches no token.
func clientCertThumbprint(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	return servingcert.Thumbprint(r.TLS.PeerCertificates[0])
}

// decideCertBinding applies RFC 8705 §3 to a verified token: a token bound
// to a client certificate (cnf.x5t#S256) is accepted only over a
// connection that presented that certificate; anything else is 401
// invalid_token (certificate_mismatch). A hypothetical token (explain's
// "what could this client do") passes: its client could hold the
// certificate. Explaining a real token sees no connection, so it reports
// the certificate missing.
func (g *Gateway) decideCertBinding(v *verdict, f *facts, rt *Route, c *accesstoken.Claims) bool {
	if c.Confirmation == nil || c.Confirmation.X5TS256 == "" || f.hypothetical != nil {
		return true
	}
	if f.certThumbprint == c.Confirmation.X5TS256 {
		v.check(func() Check {
			return Check{Name: "clientCertificate", Passed: true, Detail: "the connection presented the client certificate the token is bound to (cnf.x5t#S256)"}
		})
		return true
	}
	detail := "the token is bound to a client certificate (cnf.x5t#S256) and the connection presented none"
	if f.certThumbprint != "" {
		detail = "the token is bound to another client certificate than the connection presented (cnf.x5t#S256)"
	}
	v.check(func() Check { return Check{Name: "clientCertificate", Detail: detail} })
	v.deny(g.invalidToken(rt, "the token is bound to a client certificate: present it on the connection", ReasonCertificateMismatch))
	return false
}
