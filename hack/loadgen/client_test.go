package loadgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestTheClientOnlyDialsLoopbackAddresses(t *testing.T) {
	// 192.0.2.0/24 is TEST-NET-1 (RFC 5737): refused before any packet.
	for _, addr := range []string{"192.0.2.1:80", "localhost:80", "[2001:db8::1]:443"} {
		if _, err := DialLoopback(context.Background(), "tcp", addr); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("dial %s: %v, want ErrNotLoopback", addr, err)
		}
	}
	m := NewMeter(Target{Name: "off-machine", NewRequest: Fixed(http.MethodGet, "http://192.0.2.1/", nil, "")}, 2, nil)
	defer m.Close()
	p := m.Drive(context.Background(), 2, 10, time.Minute)
	if s := p.Stats(); s.Requests != 10 || s.TransportErrors != 10 || s.Errors != 10 || s.RPS != 0 {
		t.Errorf("stats %+v, want 10 requests, all transport errors", s)
	}
}

func TestTheClientSpeaksHTTP1OverTLSEvenWhenTheServerOffersHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	m := NewMeter(Target{Name: "tls", NewRequest: Fixed(http.MethodGet, srv.URL+"/", nil, "")}, 1, &tls.Config{RootCAs: roots})
	defer m.Close()
	if s := m.Drive(context.Background(), 1, 3, time.Minute).Stats(); s.Statuses[http.StatusOK] != 3 {
		t.Fatalf("statuses %v, want 3×200", s.Statuses)
	}
	if got := m.Proto(); !strings.HasPrefix(got, "HTTP/1.1, TLS 1.3, ") {
		t.Errorf("protocol %q, want HTTP/1.1 over TLS 1.3", got)
	}
}
