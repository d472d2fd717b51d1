package servingcert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serve starts s and stops it when t ends; it waits until s accepts.
func serve(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server %s: %v", s.Name, err)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", s.Server.Addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %s does not listen: %v", s.Name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hello() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") })
}

func TestServerServesTLSFromItsSourceAndPlainHTTPWithout(t *testing.T) {
	ca, err := GenerateCA(time.Now(), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := IssueLeaf(ca, []string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	src := NewSource()
	if _, _, err := src.Load(leaf.CertPEM, leaf.KeyPEM, Bundle([]CA{ca})); err != nil {
		t.Fatal(err)
	}
	secure := &Server{Name: "secure", Server: &http.Server{Addr: freeAddr(t), Handler: hello()}, Source: src, ShutdownTimeout: time.Second, Log: logr.Discard()}
	plain := &Server{Name: "plain", Server: &http.Server{Addr: freeAddr(t), Handler: hello()}, ShutdownTimeout: time.Second, Log: logr.Discard()}
	serve(t, secure)
	serve(t, plain)

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(src.Bundle())
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	res, err := c.Get("https://" + secure.Server.Addr)
	if err != nil {
		t.Fatalf("HTTPS to the TLS server: %v", err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 || res.TLS.Version != tls.VersionTLS13 {
		t.Errorf("negotiated %s over TLS %x, want HTTP/2 over TLS 1.3", res.Proto, res.TLS.Version)
	}
	if res, err := http.Get("http://" + secure.Server.Addr); err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) == "hello" {
			t.Errorf("plain HTTP reached the handler of the TLS server")
		}
	}
	res, err = http.Get("http://" + plain.Server.Addr)
	if err != nil {
		t.Fatalf("plain HTTP with --tls-mode=off: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "hello" || res.TLS != nil {
		t.Errorf("plain server answered %q over TLS %v", b, res.TLS != nil)
	}
}

func TestHandshakesFailUntilACertificateIsLoaded(t *testing.T) {
	src := NewSource()
	s := &Server{Name: "empty", Server: &http.Server{Addr: freeAddr(t), Handler: hello()}, Source: src, ShutdownTimeout: time.Second, Log: logr.Discard()}
	serve(t, s)
	if src.Ready(nil) == nil {
		t.Errorf("an empty source reports ready")
	}
	conn, err := tls.Dial("tcp", s.Server.Addr, &tls.Config{RootCAs: x509.NewCertPool()})
	if err == nil {
		conn.Close()
		t.Errorf("a handshake succeeded without a certificate")
	}
}
