package tokenserver

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/servingcert"
)

const mtlsClient = "team-c.gamma"

// mtlsCert issues a client certificate naming uid from a fresh CA.
func mtlsCert(t *testing.T, uid string) *x509.Certificate {
	t.Helper()
	now := time.Now()
	ca, err := servingcert.GenerateCA(now, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := servingcert.IssueClientLeaf(ca, mtlsClient, uid, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := servingcert.ParseCerts(leaf.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

// postOverTLS posts form to path as if over a TLS connection that
// presented cert (verified when verified), nil for none.
func (f *fixture) postOverTLS(path string, form string, hdr map[string]string, cert *x509.Certificate, verified bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	r.TLS = &tls.ConnectionState{}
	if cert != nil {
		r.TLS.PeerCertificates = []*x509.Certificate{cert}
		if verified {
			r.TLS.VerifiedChains = [][]*x509.Certificate{{cert}}
		}
	}
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, r)
	return w
}

func TestTLSClientAuthAndCertificateBoundTokens(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.ClientCertificates = true })
	f.addClient(&registry.Client{ID: mtlsClient, UID: "uid-c", TLSClientAuth: true, Scopes: []string{"mcp"}}, secretA)
	f.addClient(&registry.Client{ID: "team-d.delta", UID: "uid-d", Scopes: []string{"mcp"}}, secretB)
	mine, stranger := mtlsCert(t, "uid-c"), mtlsCert(t, "uid-other")
	body := "grant_type=client_credentials&scope=mcp&client_id=" + mtlsClient

	type tokenResponse struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	x5t := func(t *testing.T, w *httptest.ResponseRecorder) string {
		t.Helper()
		var tr tokenResponse
		if err := json.Unmarshal(w.Body.Bytes(), &tr); err != nil || w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if tr.TokenType != "Bearer" {
			t.Errorf("token_type %q, want Bearer (RFC 8705 keeps it)", tr.TokenType)
		}
		c, err := f.srv.Verify(t.Context(), tr.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if c.Confirmation == nil {
			return ""
		}
		return c.Confirmation.X5TS256
	}

	t.Run("the client's certificate authenticates it and binds the token", func(t *testing.T) {
		if got := x5t(t, f.postOverTLS(PathToken, body, nil, mine, true)); got != servingcert.Thumbprint(mine) {
			t.Errorf("cnf.x5t#S256 %q, want %q", got, servingcert.Thumbprint(mine))
		}
	})
	t.Run("a client secret over a connection with the client's certificate binds the token too", func(t *testing.T) {
		if got := x5t(t, f.postOverTLS(PathToken, "grant_type=client_credentials&scope=mcp", basic(mtlsClient, secretA), mine, true)); got != servingcert.Thumbprint(mine) {
			t.Errorf("cnf.x5t#S256 %q", got)
		}
	})
	t.Run("a client secret without a certificate gets a bearer token", func(t *testing.T) {
		if got := x5t(t, f.postOverTLS(PathToken, "grant_type=client_credentials&scope=mcp", basic(mtlsClient, secretA), nil, false)); got != "" {
			t.Errorf("cnf.x5t#S256 %q, want none", got)
		}
	})
	refused := []struct {
		name     string
		body     string
		cert     *x509.Certificate
		verified bool
	}{
		{"a certificate naming another UID does not authenticate", body, stranger, true},
		{"an unverified certificate does not authenticate", body, mine, false},
		{"no certificate and no secret does not authenticate", body, nil, false},
		{"a client without tlsClientAuth is not authenticated by a certificate naming its UID", "grant_type=client_credentials&scope=mcp&client_id=team-d.delta", mtlsCert(t, "uid-d"), true},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			w := f.postOverTLS(PathToken, tc.body, nil, tc.cert, tc.verified)
			if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "invalid_client") {
				t.Errorf("status %d: %s", w.Code, w.Body)
			}
		})
	}
	t.Run("the metadata lists tls_client_auth and certificate-bound tokens", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, PathMetadata, nil)
		w := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(w, r)
		var md struct {
			Methods []string `json:"token_endpoint_auth_methods_supported"`
			Bound   bool     `json:"tls_client_certificate_bound_access_tokens"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &md); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(md.Methods, "tls_client_auth") || !md.Bound {
			t.Errorf("metadata %s", w.Body)
		}
	})
}

func TestWithoutClientCertificatesNoCertificateAuthenticates(t *testing.T) {
	f := newFixture(t)
	f.addClient(&registry.Client{ID: mtlsClient, UID: "uid-c", TLSClientAuth: true, Scopes: []string{"mcp"}}, secretA)
	w := f.postOverTLS(PathToken, "grant_type=client_credentials&scope=mcp&client_id="+mtlsClient, nil, mtlsCert(t, "uid-c"), true)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status %d: %s", w.Code, w.Body)
	}
	md := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(md, httptest.NewRequest(http.MethodGet, PathMetadata, nil))
	if md.Code != http.StatusOK || strings.Contains(md.Body.String(), "tls_client") {
		t.Errorf("metadata %d %s: want no tls_client_auth, no tls_client_certificate_bound_access_tokens", md.Code, md.Body)
	}
}
