package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/metadatacheck"
	"github.com/scopegate/scopegate/internal/servingcert"
)

// clientCert is a client certificate from a fresh CA.
func clientCert(t *testing.T) *x509.Certificate {
	t.Helper()
	now := time.Now()
	ca, err := servingcert.GenerateCA(now, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := servingcert.IssueClientLeaf(ca, "team-a.github", "uid-1", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := servingcert.ParseCerts(leaf.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func TestACertificateBoundTokenNeedsItsCertificateOnTheConnection(t *testing.T) {
	rf := newRealFixture(t)
	rf.gw.Table().Set(githubRoute(t, echoBackend(t, "github").URL))
	mine, other := clientCert(t), clientCert(t)
	tok := rf.forge(t, func(c *accesstoken.Claims) {
		c.Confirmation = &accesstoken.Confirmation{X5TS256: servingcert.Thumbprint(mine)}
	})
	// The listener requests certificates without verifying their chain
	// (servingcert.Source.TLSConfig), so the connection state holds the
	// presented chain and no verified one; the handshake proved the key.
	cases := []struct {
		name string
		// chain is the client certificate chain of the connection.
		chain []*x509.Certificate
		want  int
	}{
		{"over a connection presenting the certificate it is accepted", []*x509.Certificate{mine}, http.StatusOK},
		{"over a connection without a certificate it is refused", nil, http.StatusUnauthorized},
		{"over a connection presenting another certificate it is refused", []*x509.Certificate{other}, http.StatusUnauthorized},
		{"over a connection whose chain holds the certificate below another leaf it is refused", []*x509.Certificate{other, mine}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "https://gw.example/mcp/github/tools", nil)
			r.RemoteAddr = "192.0.2.10:40000"
			r.Header.Set("Authorization", "Bearer "+tok)
			r.TLS = &tls.ConnectionState{PeerCertificates: tc.chain}
			w := httptest.NewRecorder()
			rf.gw.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if tc.want == http.StatusUnauthorized && !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func TestRouteMetadataSaysCertificateBoundTokensWorkWhenTheListenerVerifiesCertificates(t *testing.T) {
	for _, on := range []bool{true, false} {
		f := newFixture(t, func(o *Options) { o.ClientCertificates = on })
		f.gw.Table().Set(githubRoute(t, echoBackend(t, "github").URL))
		res := f.do(t, http.MethodGet, WellKnownProtectedResource+"/mcp/github", "", nil)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if errs := metadatacheck.ProtectedResource(body, "https://gw.example/mcp/github"); len(errs) != 0 {
			t.Fatalf("the metadata breaks RFC 9728:%s\n%s", metadatacheck.Error(errs), body)
		}
		if got := strings.Contains(string(body), `"tls_client_certificate_bound_access_tokens":true`); got != on {
			t.Errorf("with client certificates %v: %s", on, body)
		}
	}
}
