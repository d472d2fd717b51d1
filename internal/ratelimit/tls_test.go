package ratelimit_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/ratelimit/redistest"
)

// serverCert writes a CA-signed certificate for 127.0.0.1 and its key to
// dir, and returns the CA.
func serverCert(t *testing.T, dir string) (ca *x509.Certificate, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test redis CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return ca, certFile, keyFile
}

func TestRedisOverTLSVerifiesTheServer(t *testing.T) {
	ca, certFile, keyFile := serverCert(t, t.TempDir())
	srv := redistest.StartTLS(t, certFile, keyFile)
	b := batch(1, ratelimit.Bucket{Key: "tls", Limit: ratelimit.Limit{PerSecond: 1, Burst: 1}})

	roots := x509.NewCertPool()
	roots.AddCert(ca)
	trusted := newStore(t, ratelimit.RedisOptions{URL: srv.URL(), RootCAs: roots, Timeout: time.Second})
	if res, err := trusted.Take(context.Background(), b, t0); err != nil || !res.Allowed {
		t.Fatalf("take over TLS with the CA: %+v, %v", res, err)
	}
	// The system roots do not know the test CA: the handshake fails.
	untrusted := newStore(t, ratelimit.RedisOptions{URL: srv.URL(), Timeout: time.Second})
	if _, err := untrusted.Take(context.Background(), b, t0); !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("take over TLS without the CA: %v, want ErrUnavailable", err)
	}
	// Plain redis:// to the TLS port gets no answer it can read.
	plain := newStore(t, ratelimit.RedisOptions{URL: "redis://" + srv.Addr(), Timeout: 300 * time.Millisecond})
	if _, err := plain.Take(context.Background(), b, t0); !errors.Is(err, ratelimit.ErrUnavailable) {
		t.Fatalf("plain take to the TLS port: %v, want ErrUnavailable", err)
	}
}
