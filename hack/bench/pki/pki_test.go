package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// serve starts a TLS server on 127.0.0.1 with the certificate of f.
func serve(t *testing.T, f Files) *httptest.Server {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		t.Fatalf("the written certificate and key do not load as a pair: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, cfg *tls.Config, url string) error {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	res, err := c.Get(url)
	if err != nil {
		return err
	}
	_ = res.Body.Close()
	return nil
}

func TestTheServingCertificateChainsToTheCAThatClientConfigTrusts(t *testing.T) {
	f, err := Write(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, f)
	cfg, err := ClientConfig(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	if err := get(t, cfg, srv.URL); err != nil {
		t.Fatalf("a client trusting only the written CA cannot reach 127.0.0.1: %v", err)
	}
	byName := cfg.Clone()
	byName.ServerName = "localhost"
	if err := get(t, byName, srv.URL); err != nil {
		t.Fatalf("the certificate is not valid for localhost: %v", err)
	}
}

func TestAClientTrustingAnotherCAIsRefused(t *testing.T) {
	f, err := Write(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := Write(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, f)
	cfg, err := ClientConfig(other.CA)
	if err != nil {
		t.Fatal(err)
	}
	err = get(t, cfg, srv.URL)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("a client trusting another CA got %v, want an unknown-authority error", err)
	}
}

func TestClientConfigRefusesAFileWithoutACertificate(t *testing.T) {
	f, err := Write(t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ClientConfig(f.Key); err == nil {
		t.Fatal("a key file was accepted as a CA bundle")
	}
}
