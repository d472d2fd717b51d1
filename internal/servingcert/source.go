package servingcert

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
)

// Source holds the serving certificate every TLS listener presents and the
// CA bundle clients should trust. Loaders write it; handshakes read it
// without locking.
type Source struct {
	cert   atomic.Pointer[tls.Certificate]
	bundle atomic.Pointer[[]byte]
	// clientCAs is the bundle as a pool, verifying client certificates;
	// issuer, set in auto mode only, signs them.
	clientCAs atomic.Pointer[x509.CertPool]
	issuer    *Issuer

	mu   sync.Mutex
	subs []chan struct{}
}

// NewSource returns an empty Source: handshakes fail until a certificate
// is loaded, and /readyz says so.
func NewSource() *Source { return &Source{} }

// errNotLoaded is the handshake error before the first certificate.
var errNotLoaded = errors.New("serving certificate not loaded yet")

// GetCertificate is tls.Config.GetCertificate: the current certificate.
func (s *Source) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := s.cert.Load()
	if c == nil {
		return nil, errNotLoaded
	}
	return c, nil
}

// Bundle is the PEM CA bundle published to clients (ca.crt), nil when there
// is none (a certificate from a public CA, or files mode without a CA file).
func (s *Source) Bundle() []byte {
	b := s.bundle.Load()
	if b == nil {
		return nil
	}
	return *b
}

// Ready is a healthz.Checker: a replica serves only once it has a
// certificate.
func (s *Source) Ready(*http.Request) error {
	if s.cert.Load() == nil {
		return errNotLoaded
	}
	return nil
}

// Subscribe returns a channel that receives a value after the bundle
// changed. Changes that come while the last one is unread are merged.
func (s *Source) Subscribe() <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.subs = append(s.subs, ch)
	s.mu.Unlock()
	return ch
}

// Load parses a PEM certificate chain and key and makes them, with bundle,
// what the listeners serve. It reports whether the certificate or the
// bundle changed. A pair that does not parse or match is refused and the
// current one kept.
func (s *Source) Load(certPEM, keyPEM, bundle []byte) (certChanged, bundleChanged bool, err error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, false, fmt.Errorf("load serving certificate: %w", err)
	}
	if len(bundle) > 0 {
		if _, err := ParseCerts(bundle); err != nil {
			return false, false, fmt.Errorf("load CA bundle: %w", err)
		}
	}
	if old := s.cert.Load(); old == nil || !sameChain(old, &pair) {
		s.cert.Store(&pair)
		certChanged = true
	}
	if !bytes.Equal(s.Bundle(), bundle) {
		b := bytes.Clone(bundle)
		s.bundle.Store(&b)
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(b)
		s.clientCAs.Store(pool)
		bundleChanged = true
		s.notify()
	}
	return certChanged, bundleChanged, nil
}

// Leaf is the parsed current certificate, nil before the first one.
func (s *Source) Leaf() *x509.Certificate {
	c := s.cert.Load()
	if c == nil {
		return nil
	}
	return c.Leaf
}

func (s *Source) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func sameChain(a, b *tls.Certificate) bool {
	if len(a.Certificate) != len(b.Certificate) {
		return false
	}
	for i := range a.Certificate {
		if !bytes.Equal(a.Certificate[i], b.Certificate[i]) {
			return false
		}
	}
	return true
}

// TLSConfig is the listeners' configuration: TLS 1.2 or later (Go
// negotiates 1.3 whenever the client offers it), HTTP/2 or HTTP/1.1 by ALPN
// (RFC 7301), the certificate read from s on every handshake.
//
// In every mode the listeners also ask for an optional client certificate
// (RFC 8705) and do not verify it in the handshake (tls.RequestClientCert).
// The handshake still proves that the client holds the certificate's
// private key (its CertificateVerify signature); whose certificate it is
// is decided per client later, with that client's CA: the token endpoint
// verifies the chain against scopegate's CA (ClientCAs, tlsClientAuth) or
// the CA bundle the OAuthClient references (tlsClientCertificate), and the
// gateway accepts a certificate-bound token only over a connection
// presenting the certificate it is bound to. One handshake-time pool of
// every CA would trust each namespace's CA for everyone, announce every
// CA's name to any peer (the CertificateRequest's certificate_authorities,
// which also makes clients such as Go's withhold a certificate of a CA not
// listed), and turn a wrong certificate into a TLS alert instead of an
// OAuth error.
func (s *Source) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: s.GetCertificate,
		ClientAuth:     tls.RequestClientCert,
	}
}

// ClientCAs is the pool of scopegate's CA bundle that its client
// certificates (tlsClientAuth) chain to, in auto mode; nil in the other
// modes, whose CA (cert-manager's, a file's) signs none of them.
func (s *Source) ClientCAs() *x509.CertPool {
	if !s.ClientCertificates() {
		return nil
	}
	return s.clientCAs.Load()
}

// ClientCertificates reports whether scopegate's CA signs client
// certificates (IssueClientCertificate, ClientCAs): auto mode. The
// listeners request client certificates in every mode (TLSConfig).
func (s *Source) ClientCertificates() bool { return s != nil && s.issuer != nil }

// IssueClientCertificate signs a client certificate for the OAuthClient
// clientID with UID uid (Issuer.IssueClient); ErrNoClientCA outside auto
// mode or before the leader's issuer read the CA set.
func (s *Source) IssueClientCertificate(clientID, uid string) (certPEM, keyPEM []byte, err error) {
	if !s.ClientCertificates() {
		return nil, nil, ErrNoClientCA
	}
	leaf, err := s.issuer.IssueClient(clientID, uid)
	return leaf.CertPEM, leaf.KeyPEM, err
}
