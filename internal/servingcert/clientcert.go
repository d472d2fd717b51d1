package servingcert

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// ClientURIPrefix starts the URI SAN of a client certificate; the rest is
// the OAuthClient's UID, so a client deleted and created again under the
// same name does not accept its predecessor's certificates.
const ClientURIPrefix = "urn:scopegate:oauthclient:"

// ErrNoClientCA: client certificates are issued only in auto mode, once
// this replica's issuer has read the CA set (it runs on the leader).
var ErrNoClientCA = errors.New("no CA to sign client certificates: they need --tls-mode=auto and the leader's CA set")

// IssueClientLeaf signs a TLS client certificate (RFC 8705 §2.1) for the
// OAuthClient clientID with UID uid: the common name is the client_id, the
// only URI SAN ClientURIPrefix+uid. It is valid from now for lifetime, never
// past the CA's expiry.
func IssueClientLeaf(ca CA, clientID, uid string, now time.Time, lifetime time.Duration) (Leaf, error) {
	if uid == "" {
		return Leaf{}, errors.New("issue client certificate: the client has no UID")
	}
	san, err := url.Parse(ClientURIPrefix + uid)
	if err != nil {
		return Leaf{}, fmt.Errorf("issue client certificate: %w", err)
	}
	return signLeaf(ca, "client", now, lifetime, &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"scopegate"}, CommonName: clientID},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:        []*url.URL{san},
	})
}

// ClientUID is the OAuthClient UID a client certificate names, "" when it
// is not a scopegate client certificate.
func ClientUID(cert *x509.Certificate) string {
	if len(cert.URIs) != 1 {
		return ""
	}
	uid, ok := strings.CutPrefix(cert.URIs[0].String(), ClientURIPrefix)
	if !ok {
		return ""
	}
	return uid
}

// Thumbprint is a certificate's x5t#S256 (RFC 8705 §3.1): the base64url
// SHA-256 of its DER encoding.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
