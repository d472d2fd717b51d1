package oauthclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/servingcert"
)

// Keys of the client certificate in the credentials Secret (spec.tlsClientAuth).
const (
	KeyTLSCert = corev1.TLSCertKey       // tls.crt
	KeyTLSKey  = corev1.TLSPrivateKeyKey // tls.key
)

// ClientCertIssuer signs the client certificates of clients with
// spec.tlsClientAuth (servingcert.Source in auto mode).
type ClientCertIssuer interface {
	IssueClientCertificate(clientID, uid string) (certPEM, keyPEM []byte, err error)
}

// convergeClientCert keeps tls.crt and tls.key in the credentials Secret s
// of c: present and current when c has tlsClientAuth and an issuer exists,
// absent otherwise. A certificate is re-issued when it is missing, does not
// match its key, names another UID, no longer chains to the CA bundle, or
// has passed two thirds of its lifetime. It reports whether s changed and
// when the certificate is due for renewal (zero: none).
func convergeClientCert(s *corev1.Secret, c *scopegatev1alpha1.OAuthClient, o *Options, now time.Time) (changed bool, renewAt time.Time, err error) {
	if !c.Spec.TLSClientAuth || o.ClientCerts == nil {
		_, hadCert := s.Data[KeyTLSCert]
		_, hadKey := s.Data[KeyTLSKey]
		delete(s.Data, KeyTLSCert)
		delete(s.Data, KeyTLSKey)
		return hadCert || hadKey, time.Time{}, nil
	}
	if at, ok := currentClientCert(s, string(c.UID), o.bundle(), now); ok {
		return false, at, nil
	}
	certPEM, keyPEM, err := o.ClientCerts.IssueClientCertificate(c.ClientID(), string(c.UID))
	if err != nil {
		return false, time.Time{}, fmt.Errorf("issue the client certificate of %s: %w", c.ClientID(), err)
	}
	s.Data[KeyTLSCert], s.Data[KeyTLSKey] = certPEM, keyPEM
	at, _ := currentClientCert(s, string(c.UID), nil, now)
	return true, at, nil
}

// currentClientCert reports whether s holds a usable client certificate
// for uid (chaining to bundle when one is given), and when it is due for
// renewal: at two thirds of its lifetime.
func currentClientCert(s *corev1.Secret, uid string, bundle []byte, now time.Time) (time.Time, bool) {
	pair, err := tls.X509KeyPair(s.Data[KeyTLSCert], s.Data[KeyTLSKey])
	if err != nil || pair.Leaf == nil {
		return time.Time{}, false
	}
	leaf := pair.Leaf
	if servingcert.ClientUID(leaf) != uid {
		return time.Time{}, false
	}
	renewAt := leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore) * 2 / 3)
	if !now.Before(renewAt) {
		return time.Time{}, false
	}
	if len(bundle) > 0 {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(bundle)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			return time.Time{}, false
		}
	}
	return renewAt, true
}
