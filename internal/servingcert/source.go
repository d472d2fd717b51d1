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
// In auto mode the listeners also ask for a client certificate (RFC 8705):
// one is optional, and one that is sent must chain to the CA bundle for
// client authentication, or the handshake fails. Its holder is decided on
// later (the token endpoint, the gateway's cnf check).
func (s *Source) TLSConfig() *tls.Config {
	base := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: s.GetCertificate,
	}
	if s.issuer == nil {
		return base
	}
	base.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		c.GetConfigForClient = nil
		c.ClientAuth = tls.VerifyClientCertIfGiven
		c.ClientCAs = s.clientCAs.Load()
		if c.ClientCAs == nil {
			c.ClientAuth = tls.NoClientCert
		}
		return c, nil
	}
	return base
}

// ClientCertificates reports whether the listeners accept client
// certificates and IssueClientCertificate can sign them (auto mode).
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
