package servingcert

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestAClientCertificateNamesTheClientAndItsUID(t *testing.T) {
	now := time.Now()
	ca, err := GenerateCA(now, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := IssueClientLeaf(ca, "team-a.c", "uid-1", now, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := ParseCerts(leaf.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	c := certs[0]
	if ClientUID(c) != "uid-1" || c.Subject.CommonName != "team-a.c" {
		t.Errorf("UID %q, CN %q", ClientUID(c), c.Subject.CommonName)
	}
	if !c.NotAfter.Equal(ca.NotAfter()) {
		t.Errorf("NotAfter %v, want capped at the CA's %v", c.NotAfter, ca.NotAfter())
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: caPool(ca), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("not a client certificate of the CA: %v", err)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: caPool(ca), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Errorf("a client certificate verifies as a serving certificate")
	}
	sum := sha256.Sum256(c.Raw)
	if Thumbprint(c) != base64.RawURLEncoding.EncodeToString(sum[:]) {
		t.Errorf("thumbprint %q", Thumbprint(c))
	}
	if _, err := IssueClientLeaf(ca, "team-a.c", "", now, time.Hour); err == nil {
		t.Errorf("a certificate without a UID was issued")
	}
	serving, _ := IssueLeaf(ca, []string{"localhost"}, now, time.Hour)
	sc, _ := ParseCerts(serving.CertPEM)
	if ClientUID(sc[0]) != "" {
		t.Errorf("a serving certificate names a client")
	}
}

func caPool(cas ...CA) *x509.CertPool {
	p := x509.NewCertPool()
	for _, ca := range cas {
		p.AddCert(ca.Cert)
	}
	return p
}

func TestTheListenersAskForAnOptionalClientCertificateInEveryMode(t *testing.T) {
	now := time.Now()
	ca, _ := GenerateCA(now, now, time.Hour)
	stranger, _ := GenerateCA(now, now, time.Hour)
	serving, _ := IssueLeaf(ca, []string{"127.0.0.1"}, now, time.Hour)
	mine, _ := IssueClientLeaf(ca, "team-a.c", "uid-1", now, time.Hour)
	foreign, _ := IssueClientLeaf(stranger, "team-a.c", "uid-1", now, time.Hour)

	for _, auto := range []bool{true, false} {
		src := NewSource()
		if auto {
			src.issuer = &Issuer{}
		}
		if _, _, err := src.Load(serving.CertPEM, serving.KeyPEM, EncodeCerts(ca.Cert)); err != nil {
			t.Fatal(err)
		}
		// A real listener with the Source's configuration, as Server runs.
		ln, err := tls.Listen("tcp", "127.0.0.1:0", src.TLSConfig())
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.TLS.VerifiedChains) > 0 {
				http.Error(w, "the listener verified a chain", http.StatusInternalServerError)
				return
			}
			if len(r.TLS.PeerCertificates) > 0 {
				_, _ = w.Write([]byte(Thumbprint(r.TLS.PeerCertificates[0])))
			}
		})}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		url := "https://" + ln.Addr().String()

		get := func(t *testing.T, cert *Leaf) string {
			t.Helper()
			cfg := &tls.Config{RootCAs: caPool(ca)}
			if cert != nil {
				pair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Certificates = []tls.Certificate{pair}
			}
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			res, err := c.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", res.StatusCode, b)
			}
			return string(b)
		}
		thumb := func(l Leaf) string {
			c, _ := ParseCerts(l.CertPEM)
			return Thumbprint(c[0])
		}
		t.Run(fmt.Sprintf("auto mode %v", auto), func(t *testing.T) {
			if got := get(t, nil); got != "" {
				t.Errorf("without a certificate the handler saw %q", got)
			}
			if got := get(t, &mine); got != thumb(mine) {
				t.Errorf("a certificate of scopegate's CA reached the handler as %q", got)
			}
			// The token endpoint decides per client whose it is; the
			// handshake neither refuses it nor makes Go's client withhold
			// it (no certificate_authorities in the request).
			if got := get(t, &foreign); got != thumb(foreign) {
				t.Errorf("a certificate of another CA reached the handler as %q", got)
			}
			if cfg := src.TLSConfig(); cfg.ClientAuth != tls.RequestClientCert || cfg.ClientCAs != nil {
				t.Errorf("ClientAuth %v with ClientCAs %v, want a request for any certificate", cfg.ClientAuth, cfg.ClientCAs)
			}
			if got := src.ClientCAs() != nil; got != auto {
				t.Errorf("ClientCAs present %v, want %v (scopegate's CA signs client certificates in auto mode only)", got, auto)
			}
		})
	}
}
