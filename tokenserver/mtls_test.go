package tokenserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/servingcert"
	"github.com/scopegate/scopegate/internal/tlsclientauth"
)

const mtlsClient = "team-c.gamma"

// testCA is a CA valid around the fixture's clock.
func testCA(t *testing.T) servingcert.CA {
	t.Helper()
	now := newClock().Now()
	ca, err := servingcert.GenerateCA(now.Add(-time.Hour), now.Add(-time.Hour), 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// mtlsCert issues a scopegate client certificate naming uid from ca.
func mtlsCert(t *testing.T, ca servingcert.CA, uid string) *x509.Certificate {
	t.Helper()
	leaf, err := servingcert.IssueClientLeaf(ca, mtlsClient, uid, newClock().Now().Add(-time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := servingcert.ParseCerts(leaf.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

// foreignCert issues a client certificate for subject from ca, as another
// PKI (cert-manager) would, valid from notBefore for an hour.
func foreignCert(t *testing.T, ca servingcert.CA, subject pkix.Name, notBefore time.Time) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: notBefore, NotAfter: notBefore.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func poolOf(cas ...servingcert.CA) func() *x509.CertPool {
	p := x509.NewCertPool()
	for _, ca := range cas {
		p.AddCert(ca.Cert)
	}
	return func() *x509.CertPool { return p }
}

// postOverTLS posts form to path as if over a TLS connection that
// presented chain (leaf first; nil for none). As the listener does, it
// verifies nothing: VerifiedChains stays empty.
func (f *fixture) postOverTLS(path string, form string, hdr map[string]string, chain ...*x509.Certificate) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	r.TLS = &tls.ConnectionState{PeerCertificates: chain}
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, r)
	return w
}

// boundTo is the cnf.x5t#S256 of the token in a 200 answer ("" for none).
func (f *fixture) boundTo(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var tr struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
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

func refusedAsInvalidClient(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"invalid_client"`) {
		t.Errorf("status %d: %s, want 401 invalid_client", w.Code, w.Body)
	}
}

func TestTLSClientAuthAndCertificateBoundTokens(t *testing.T) {
	ca, stranger := testCA(t), testCA(t)
	f := newFixture(t, func(o *Options) { o.ClientCertificates, o.ClientCAs = true, poolOf(ca) })
	f.addClient(&registry.Client{ID: mtlsClient, UID: "uid-c", TLSClientAuth: true, Scopes: []string{"mcp"}}, secretA)
	f.addClient(&registry.Client{ID: "team-d.delta", UID: "uid-d", Scopes: []string{"mcp"}}, secretB)
	mine := mtlsCert(t, ca, "uid-c")
	body := "grant_type=client_credentials&scope=mcp&client_id=" + mtlsClient

	t.Run("the client's certificate authenticates it and binds the token", func(t *testing.T) {
		if got := f.boundTo(t, f.postOverTLS(PathToken, body, nil, mine)); got != servingcert.Thumbprint(mine) {
			t.Errorf("cnf.x5t#S256 %q, want %q", got, servingcert.Thumbprint(mine))
		}
	})
	t.Run("a client secret over a connection with the client's certificate binds the token too", func(t *testing.T) {
		if got := f.boundTo(t, f.postOverTLS(PathToken, "grant_type=client_credentials&scope=mcp", basic(mtlsClient, secretA), mine)); got != servingcert.Thumbprint(mine) {
			t.Errorf("cnf.x5t#S256 %q", got)
		}
	})
	t.Run("a client secret without a certificate gets a bearer token", func(t *testing.T) {
		if got := f.boundTo(t, f.postOverTLS(PathToken, "grant_type=client_credentials&scope=mcp", basic(mtlsClient, secretA))); got != "" {
			t.Errorf("cnf.x5t#S256 %q, want none", got)
		}
	})
	t.Run("a client secret over a connection with another CA's certificate gets a bearer token", func(t *testing.T) {
		if got := f.boundTo(t, f.postOverTLS(PathToken, "grant_type=client_credentials&scope=mcp", basic(mtlsClient, secretA), mtlsCert(t, stranger, "uid-c"))); got != "" {
			t.Errorf("cnf.x5t#S256 %q, want none", got)
		}
	})
	refused := []struct {
		name  string
		body  string
		chain []*x509.Certificate
	}{
		{"a certificate naming another UID does not authenticate", body, []*x509.Certificate{mtlsCert(t, ca, "uid-other")}},
		{"a certificate naming the UID from another CA does not authenticate", body, []*x509.Certificate{mtlsCert(t, stranger, "uid-c")}},
		{"no certificate and no secret does not authenticate", body, nil},
		{"a client without tlsClientAuth is not authenticated by a certificate naming its UID", "grant_type=client_credentials&scope=mcp&client_id=team-d.delta", []*x509.Certificate{mtlsCert(t, ca, "uid-d")}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			refusedAsInvalidClient(t, f.postOverTLS(PathToken, tc.body, nil, tc.chain...))
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

func TestOutsideAutoModeScopegateCertificatesDoNotAuthenticate(t *testing.T) {
	// secret and files modes: the listeners request certificates, but
	// scopegate's CA signs none (ClientCAs nil).
	ca := testCA(t)
	f := newFixture(t, func(o *Options) { o.ClientCertificates = true })
	f.addClient(&registry.Client{ID: mtlsClient, UID: "uid-c", TLSClientAuth: true, Scopes: []string{"mcp"}}, secretA)
	refusedAsInvalidClient(t, f.postOverTLS(PathToken, "grant_type=client_credentials&scope=mcp&client_id="+mtlsClient, nil, mtlsCert(t, ca, "uid-c")))
}

func TestWithoutClientCertificatesNoCertificateAuthenticates(t *testing.T) {
	ca := testCA(t)
	f := newFixture(t, func(o *Options) { o.ClientCAs = poolOf(ca) })
	f.addClient(&registry.Client{ID: mtlsClient, UID: "uid-c", TLSClientAuth: true, Scopes: []string{"mcp"}}, secretA)
	w := f.postOverTLS(PathToken, "grant_type=client_credentials&scope=mcp&client_id="+mtlsClient, nil, mtlsCert(t, ca, "uid-c"))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status %d: %s", w.Code, w.Body)
	}
	md := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(md, httptest.NewRequest(http.MethodGet, PathMetadata, nil))
	if md.Code != http.StatusOK || strings.Contains(md.Body.String(), "tls_client") {
		t.Errorf("metadata %d %s: want no tls_client_auth, no tls_client_certificate_bound_access_tokens", md.Code, md.Body)
	}
}

// TestACertificateFromAReferencedCAAuthenticatesItsClient is
// spec.tlsClientCertificate: a certificate another PKI issued authenticates
// the client when it chains to the CA the client references and carries
// its registered subject DN (RFC 8705 §2.1), in any TLS mode.
func TestACertificateFromAReferencedCAAuthenticatesItsClient(t *testing.T) {
	teamCA, otherCA := testCA(t), testCA(t)
	now := newClock().Now()
	subject := pkix.Name{CommonName: "reporter", Organization: []string{"Team C"}}
	trust, err := tlsclientauth.New([]*x509.Certificate{teamCA.Cert}, tlsclientauth.Subject{DN: "CN=reporter,O=Team C"})
	if err != nil {
		t.Fatal(err)
	}
	// No ClientCAs: as in --tls-mode=secret or files.
	f := newFixture(t, func(o *Options) { o.ClientCertificates = true })
	f.addClient(&registry.Client{ID: mtlsClient, UID: "uid-c", CertificateTrust: trust, Scopes: []string{"mcp"}}, secretA)
	f.addClient(&registry.Client{ID: "team-d.delta", UID: "uid-d", Scopes: []string{"mcp"}}, secretB)
	body := "grant_type=client_credentials&scope=mcp&client_id=" + mtlsClient
	good := foreignCert(t, teamCA, subject, now.Add(-time.Minute))

	t.Run("the right chain and the right subject DN authenticate and bind the token", func(t *testing.T) {
		if got := f.boundTo(t, f.postOverTLS(PathToken, body, nil, good)); got != servingcert.Thumbprint(good) {
			t.Errorf("cnf.x5t#S256 %q, want %q", got, servingcert.Thumbprint(good))
		}
	})
	t.Run("a client secret over a connection with the certificate binds the token too", func(t *testing.T) {
		if got := f.boundTo(t, f.postOverTLS(PathToken, "grant_type=client_credentials&scope=mcp", basic(mtlsClient, secretA), good)); got != servingcert.Thumbprint(good) {
			t.Errorf("cnf.x5t#S256 %q", got)
		}
	})
	refused := []struct {
		name  string
		body  string
		chain []*x509.Certificate
	}{
		{"the right subject DN from another CA", body, []*x509.Certificate{foreignCert(t, otherCA, subject, now.Add(-time.Minute))}},
		{"another subject DN from the right CA", body, []*x509.Certificate{foreignCert(t, teamCA, pkix.Name{CommonName: "writer", Organization: []string{"Team C"}}, now.Add(-time.Minute))}},
		{"an expired certificate", body, []*x509.Certificate{foreignCert(t, teamCA, subject, now.Add(-2*time.Hour))}},
		{"a certificate not yet valid", body, []*x509.Certificate{foreignCert(t, teamCA, subject, now.Add(time.Minute))}},
		{"a scopegate certificate of the CA naming the client's UID", body, []*x509.Certificate{mtlsCert(t, teamCA, "uid-c")}},
		{"the certificate for another client_id", "grant_type=client_credentials&scope=mcp&client_id=team-d.delta", []*x509.Certificate{good}},
		{"no certificate", body, nil},
	}
	for _, tc := range refused {
		t.Run(tc.name+" is invalid_client", func(t *testing.T) {
			refusedAsInvalidClient(t, f.postOverTLS(PathToken, tc.body, nil, tc.chain...))
		})
	}
	t.Run("a client whose CA cannot be read is not authenticated by any certificate", func(t *testing.T) {
		f.addClient(&registry.Client{ID: mtlsClient, UID: "uid-c", Scopes: []string{"mcp"}}, secretA)
		refusedAsInvalidClient(t, f.postOverTLS(PathToken, body, nil, good))
	})
}
