package servingcert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// backdate is how far before "now" certificates start, so that a replica
// whose clock is slightly behind the leader's accepts them.
const backdate = time.Minute

// CA is one certificate authority of the auto mode.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	// ActivateAt is when this CA starts signing serving certificates. Until
	// then it is only published in the bundle, so clients learn to trust it
	// before they meet a certificate it signed.
	ActivateAt time.Time
}

// NotAfter is when the CA expires.
func (c CA) NotAfter() time.Time { return c.Cert.NotAfter }

// GenerateCA makes a self-signed ECDSA P-256 CA valid for lifetime from now,
// signing from activateAt.
func GenerateCA(now, activateAt time.Time, lifetime time.Duration) (CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return CA{}, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return CA{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"scopegate"}, CommonName: "scopegate CA " + now.UTC().Format("2006-01-02T15:04:05Z")},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(lifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return CA{}, fmt.Errorf("self-sign CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return CA{}, fmt.Errorf("parse CA certificate: %w", err)
	}
	return CA{Cert: cert, Key: key, ActivateAt: activateAt}, nil
}

// Leaf is a serving certificate and its key, PEM encoded.
type Leaf struct {
	CertPEM []byte
	KeyPEM  []byte
}

// IssueLeaf signs a serving certificate for names (DNS names and IP
// addresses) with ca, valid from now for lifetime but never past the CA's
// own expiry.
func IssueLeaf(ca CA, names []string, now time.Time, lifetime time.Duration) (Leaf, error) {
	dns, ips := splitNames(names)
	cn := "scopegate"
	if len(dns) > 0 {
		cn = dns[0]
	}
	return signLeaf(ca, "serving", now, lifetime, &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"scopegate"}, CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    dns,
		IPAddresses: ips,
	})
}

// signLeaf completes tmpl (subject, usage and names set by the caller)
// with a new P-256 key, a serial, a validity from now (backdated for clock
// skew) for lifetime but never past the CA's expiry, and signs it with ca.
// what names the certificate in errors ("serving", "client").
func signLeaf(ca CA, what string, now time.Time, lifetime time.Duration, tmpl *x509.Certificate) (Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Leaf{}, fmt.Errorf("generate %s key: %w", what, err)
	}
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return Leaf{}, err
	}
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-backdate), now.Add(lifetime)
	if tmpl.NotAfter.After(ca.NotAfter()) {
		tmpl.NotAfter = ca.NotAfter()
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.AuthorityKeyId = ca.Cert.SubjectKeyId
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return Leaf{}, fmt.Errorf("sign %s certificate: %w", what, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Leaf{}, fmt.Errorf("encode %s key: %w", what, err)
	}
	return Leaf{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// splitNames separates IP addresses from DNS names.
func splitNames(names []string) (dns []string, ips []net.IP) {
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, n)
		}
	}
	return dns, ips
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate certificate serial number: %w", err)
	}
	return n, nil
}

// keyID is a subject key identifier (RFC 5280 §4.2.1.2, method 1 with
// SHA-256 truncated to 160 bits).
func keyID(pub *ecdsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(der)
	return sum[:20]
}

// EncodeCerts is the PEM bundle of certs, in order.
func EncodeCerts(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// ParseCerts reads every CERTIFICATE block of a PEM bundle. A bundle with
// none is an error.
func ParseCerts(pemBytes []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	rest := pemBytes
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return out, nil
}
