// Package pki is the throwaway TLS material of the benchmark harness's TLS
// round: a CA and one serving certificate for 127.0.0.1 and localhost
// (ECDSA P-256, as scopegate's own CA issues), written into a temporary
// directory, and the client configuration that trusts that CA and nothing
// else. The manager (--tls-mode=files) and every baseline serve the same
// certificate, so the handshake and record cost is the same on both sides
// of every ratio; the load generator trusts the CA with ClientConfig.
package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/scopegate/scopegate/internal/servingcert"
)

// Files are the paths Write produced.
type Files struct {
	CA, Cert, Key string
}

// lifetime is far longer than a run and far shorter than anything that
// would make the CA worth keeping.
const lifetime = 24 * time.Hour

// Write generates a CA and a serving certificate for 127.0.0.1 and
// localhost signed by it into dir (ca.crt, tls.crt, tls.key), with the same
// code scopegate's own CA uses (servingcert); the CA's key is never
// written.
func Write(dir string, now time.Time) (Files, error) {
	ca, err := servingcert.GenerateCA(now, now, lifetime)
	if err != nil {
		return Files{}, err
	}
	leaf, err := servingcert.IssueLeaf(ca, []string{"localhost", "127.0.0.1", "::1"}, now, lifetime)
	if err != nil {
		return Files{}, err
	}
	f := Files{CA: filepath.Join(dir, "ca.crt"), Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key")}
	for _, w := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{f.CA, servingcert.EncodeCerts(ca.Cert), 0o644},
		{f.Cert, leaf.CertPEM, 0o644},
		{f.Key, leaf.KeyPEM, 0o600},
	} {
		if err := os.WriteFile(w.path, w.data, w.mode); err != nil {
			return Files{}, fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	return f, nil
}

// ClientConfig trusts the CA in caFile and nothing else (no system roots),
// TLS 1.2 or later, as scopegate's listeners accept.
func ClientConfig(caFile string) (*tls.Config, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, errors.New("no PEM certificate in the CA file " + caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
