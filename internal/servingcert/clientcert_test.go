package servingcert

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
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

func TestInAutoModeTheListenersAskForAnOptionalClientCertificate(t *testing.T) {
	now := time.Now()
	ca, _ := GenerateCA(now, now, time.Hour)
	stranger, _ := GenerateCA(now, now, time.Hour)
	serving, _ := IssueLeaf(ca, []string{"127.0.0.1"}, now, time.Hour)
	src := NewSource()
	src.issuer = &Issuer{} // auto mode
	if _, _, err := src.Load(serving.CertPEM, serving.KeyPEM, EncodeCerts(ca.Cert)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.VerifiedChains) > 0 {
			_, _ = w.Write([]byte(ClientUID(r.TLS.VerifiedChains[0][0])))
		}
	}))
	srv.TLS = src.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)

	get := func(cert *Leaf) (string, error) {
		cfg := &tls.Config{RootCAs: caPool(ca)}
		if cert != nil {
			pair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		res, err := c.Get(srv.URL)
		if err != nil {
			return "", err
		}
		defer res.Body.Close()
		b := make([]byte, 64)
		n, _ := res.Body.Read(b)
		return string(b[:n]), nil
	}
	mine, _ := IssueClientLeaf(ca, "team-a.c", "uid-1", now, time.Hour)
	foreign, _ := IssueClientLeaf(stranger, "team-a.c", "uid-1", now, time.Hour)
	if got, err := get(nil); err != nil || got != "" {
		t.Errorf("without a certificate: %q, %v", got, err)
	}
	if got, err := get(&mine); err != nil || got != "uid-1" {
		t.Errorf("with a certificate of the CA: %q, %v", got, err)
	}
	if _, err := get(&foreign); err == nil {
		t.Errorf("a certificate of another CA was accepted")
	}

	plain := NewSource()
	if cfg := plain.TLSConfig(); cfg.GetConfigForClient != nil || cfg.ClientAuth != tls.NoClientCert {
		t.Errorf("outside auto mode the listeners ask for client certificates")
	}
}
