package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCertificateBoundTokens drives RFC 8705 with Go's crypto/tls: a client
// with tlsClientAuth finds a certificate in its credentials Secret,
// authenticates with it alone (tls_client_auth), gets a token bound to it
// (cnf.x5t#S256), and the gateway accepts that token only over a
// connection presenting the certificate.
func TestCertificateBoundTokens(t *testing.T) {
	h := env(t)
	h.apply(t, "mtls.yaml", h.vars())
	h.waitReady(t, "e2e-mtls", "oauthclient/mtls-client")
	h.waitReady(t, "e2e-mtls", "gatewayroute/mtls-api")
	h.waitRoute(t, "/e2e/mtls/api")
	s := h.secret(t, "e2e-mtls", "mtls-client-credentials", func(s *corev1.Secret) (bool, string) {
		return len(s.Data["tls.crt"]) > 0 && len(s.Data["tls.key"]) > 0 && len(s.Data["ca.crt"]) > 0, "no tls.crt, tls.key and ca.crt yet"
	})
	pair, err := tls.X509KeyPair(s.Data["tls.crt"], s.Data["tls.key"])
	if err != nil {
		t.Fatalf("e2e: the credentials Secret's tls.crt and tls.key: %v", err)
	}
	sum := sha256.Sum256(pair.Leaf.Raw)
	x5t := base64.RawURLEncoding.EncodeToString(sum[:])
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.Data["ca.crt"]) {
		t.Fatal("e2e: the credentials Secret's ca.crt holds no certificate")
	}
	// A client of its own, presenting the certificate on every connection.
	withCert := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}}
	clientID := string(s.Data["client_id"])

	t.Run("The metadata lists tls_client_auth and certificate-bound tokens", func(t *testing.T) {
		res, err := h.http.Get(h.issuer + "/.well-known/oauth-authorization-server")
		if err != nil {
			t.Fatal(err)
		}
		var md map[string]any
		_ = json.NewDecoder(res.Body).Decode(&md)
		res.Body.Close()
		if !containsAny(md["token_endpoint_auth_methods_supported"], "tls_client_auth") || md["tls_client_certificate_bound_access_tokens"] != true {
			t.Errorf("e2e: metadata token_endpoint_auth_methods_supported %v, tls_client_certificate_bound_access_tokens %v",
				md["token_endpoint_auth_methods_supported"], md["tls_client_certificate_bound_access_tokens"])
		}
	})

	var token string
	t.Run("The certificate alone authenticates the client, and the token is bound to it", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {"mcp"}}
		res, err := withCert.PostForm(h.issuer+"/oauth/token", form)
		if err != nil {
			t.Fatalf("e2e: token request with the client certificate: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var tr struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
		}
		if err := json.Unmarshal(b, &tr); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("e2e: token request: %d %s", res.StatusCode, b)
		}
		if tr.TokenType != "Bearer" {
			t.Errorf("e2e: token_type %q, want Bearer (RFC 8705 §3)", tr.TokenType)
		}
		token = tr.AccessToken
		cnf, _ := claimsOf(t, token)["cnf"].(map[string]any)
		if cnf["x5t#S256"] != x5t {
			t.Errorf("e2e: token cnf %v, want x5t#S256 %s", cnf, x5t)
		}
	})
	if token == "" {
		t.FailNow()
	}

	t.Run("Without the certificate and without a secret the client is not authenticated", func(t *testing.T) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "scope": {"mcp"}}
		res, err := h.http.PostForm(h.issuer+"/oauth/token", form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "invalid_client") {
			t.Errorf("e2e: token request without credentials: %d %s, want 401 invalid_client", res.StatusCode, b)
		}
	})

	t.Run("The gateway accepts the token over a connection presenting the certificate", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, h.gatewayURL+"/e2e/mtls/api/call", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := withCert.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("e2e: gateway with the certificate: %d %s", res.StatusCode, b)
		}
		got, err := h.echo.received("/mtls/call")
		if err != nil {
			t.Fatal(err)
		}
		checkIdentityHeaders(t, got.Headers, clientID, "mcp")
	})

	t.Run("The gateway refuses the token over a connection without the certificate", func(t *testing.T) {
		r, err := h.gateway(http.MethodGet, "/e2e/mtls/api/stolen", token)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != http.StatusUnauthorized || bearerError(r.Header) != "invalid_token" {
			t.Errorf("e2e: gateway without the certificate: %s, want 401 invalid_token", r)
		}
		h.waitMetric(t, "scopegate_gateway_decisions_total", `route="e2e-mtls/mtls-api"`, `decision="deny"`, `reason="certificate_mismatch"`)
	})

	t.Run("Introspection reports the binding", func(t *testing.T) {
		c := h.credentials(t, "e2e-mtls", "mtls-client")
		in := h.introspect(t, c, token)
		cnf, _ := in.Body["cnf"].(map[string]any)
		if !in.active() || cnf["x5t#S256"] != x5t {
			t.Errorf("e2e: introspection %s, want active with cnf.x5t#S256 %s", in, x5t)
		}
	})
}

// teamPKI is a CA of another PKI than scopegate's (as cert-manager's CA
// issuer would be).
type teamPKI struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTeamPKI(t *testing.T, name string) teamPKI {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return teamPKI{cert: c, key: key}
}

// issue is a TLS client certificate for subject, with its key.
func (ca teamPKI) issue(t *testing.T, subject pkix.Name) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestCertificateFromAReferencedCA drives RFC 8705 with a client
// certificate scopegate did not issue: the OAuthClient references the CA
// Secret and registers the certificate's subject DN; Go's crypto/tls
// client presents the certificate; the token is bound to it (cnf.x5t#S256)
// and the gateway takes the token only over a connection presenting it.
func TestCertificateFromAReferencedCA(t *testing.T) {
	h := env(t)
	const ns = "e2e-mtls-ca"
	team, other := newTeamPKI(t, "e2e team CA"), newTeamPKI(t, "e2e team CA")
	ctx := context.Background()
	if err := h.cluster.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// Unlabelled, as another tool writes it.
	caSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "team-ca", Namespace: ns},
		Data: map[string][]byte{"ca.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: team.cert.Raw})}}
	if err := h.cluster.Client.Create(ctx, caSecret); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	h.apply(t, "mtls-ca.yaml", h.vars())
	h.waitReady(t, ns, "oauthclient/reporter")
	h.waitReady(t, ns, "gatewayroute/mtls-ca-api")
	h.waitRoute(t, "/e2e/mtls-ca/api")
	c := h.credentials(t, ns, "reporter")
	if cond := meta.FindStatusCondition(h.oauthClient(t, ns, "reporter").Status.Conditions, "ClientCAResolved"); cond == nil || cond.Status != metav1.ConditionTrue {
		t.Fatalf("e2e: ClientCAResolved %+v, want True", cond)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(c.CACert) {
		t.Fatal("e2e: the credentials Secret's ca.crt holds no certificate")
	}
	// clientWith presents cert (none when nil) on every connection and
	// verifies scopegate's listeners with the published bundle.
	clientWith := func(cert *tls.Certificate) *http.Client {
		cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}}
	}
	subject := pkix.Name{CommonName: "reporter", Organization: []string{"e2e team"}}
	mine := team.issue(t, subject)
	withCert := clientWith(&mine)
	x5t := func(cert tls.Certificate) string {
		sum := sha256.Sum256(cert.Leaf.Raw)
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	tokenRequest := func(hc *http.Client) (int, string, string) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "scope": {"mcp"}}
		res, err := hc.PostForm(h.issuer+"/oauth/token", form)
		if err != nil {
			t.Fatalf("e2e: token request: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal(b, &tr)
		return res.StatusCode, tr.AccessToken, string(b)
	}

	var token string
	t.Run("The certificate authenticates the client, and the token is bound to it", func(t *testing.T) {
		status, tok, body := tokenRequest(withCert)
		if status != http.StatusOK {
			t.Fatalf("e2e: token request with the certificate: %d %s", status, body)
		}
		token = tok
		cnf, _ := claimsOf(t, token)["cnf"].(map[string]any)
		if cnf["x5t#S256"] != x5t(mine) {
			t.Errorf("e2e: token cnf %v, want x5t#S256 %s", cnf, x5t(mine))
		}
	})
	if token == "" {
		t.FailNow()
	}
	for name, cert := range map[string]tls.Certificate{
		"another subject DN from the referenced CA": team.issue(t, pkix.Name{CommonName: "intruder", Organization: []string{"e2e team"}}),
		"the subject DN from another CA":            other.issue(t, subject),
	} {
		t.Run("A certificate with "+name+" is invalid_client", func(t *testing.T) {
			status, _, body := tokenRequest(clientWith(&cert))
			if status != http.StatusUnauthorized || !strings.Contains(body, "invalid_client") {
				t.Errorf("e2e: token request: %d %s, want 401 invalid_client", status, body)
			}
		})
	}

	callGateway := func(hc *http.Client, path string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, h.gatewayURL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	t.Run("The gateway accepts the token over a connection presenting the certificate", func(t *testing.T) {
		res, body := callGateway(withCert, "/e2e/mtls-ca/api/call")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("e2e: gateway with the certificate: %d %s", res.StatusCode, body)
		}
		got, err := h.echo.received("/mtls-ca/call")
		if err != nil {
			t.Fatal(err)
		}
		checkIdentityHeaders(t, got.Headers, c.ClientID, "mcp")
	})
	t.Run("The gateway refuses the token without the certificate and with another one", func(t *testing.T) {
		sameDNOtherKey := team.issue(t, subject)
		for name, hc := range map[string]*http.Client{
			"no certificate": clientWith(nil),
			"another certificate of the same CA and subject": clientWith(&sameDNOtherKey),
		} {
			res, body := callGateway(hc, "/e2e/mtls-ca/api/stolen")
			if res.StatusCode != http.StatusUnauthorized || bearerError(res.Header) != "invalid_token" {
				t.Errorf("e2e: gateway with %s: %d %s %s, want 401 invalid_token", name, res.StatusCode, res.Header.Get("WWW-Authenticate"), body)
			}
		}
		h.waitMetric(t, "scopegate_gateway_decisions_total", `route="e2e-mtls-ca/mtls-ca-api"`, `decision="deny"`, `reason="certificate_mismatch"`)
	})
}
