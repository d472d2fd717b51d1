package e2e

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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
