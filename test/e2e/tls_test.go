package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestListenersServeHTTPSAndAdvertiseIt checks the TLS side of both
// listeners (issue 10, item 3): TLS 1.3 and HTTP/2 by ALPN, https in every
// URL the metadata advertises, while metrics and probes stay plain HTTP.
func TestListenersServeHTTPSAndAdvertiseIt(t *testing.T) {
	h := env(t)
	for _, target := range []struct{ name, url string }{
		{"token server", h.issuer + "/.well-known/oauth-authorization-server"},
		{"gateway", h.gatewayURL + "/e2e-not-a-route"},
	} {
		t.Run("The "+target.name+" speaks TLS 1.3 and HTTP/2", func(t *testing.T) {
			res, err := h.http.Get(target.url)
			if err != nil {
				t.Fatalf("e2e: GET %s: %v", target.url, err)
			}
			defer res.Body.Close()
			if res.TLS == nil || res.TLS.Version != tls.VersionTLS13 || res.ProtoMajor != 2 {
				t.Errorf("e2e: %s: TLS %v, protocol %s; want TLS 1.3 and HTTP/2", target.name, res.TLS != nil, res.Proto)
			}
		})
	}
	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		conn, err := tls.Dial("tcp", strings.TrimPrefix(h.issuer, "https://"), &tls.Config{MaxVersion: tls.VersionTLS11, RootCAs: mustPool(t, h.trust.bundle())})
		if err == nil {
			conn.Close()
			t.Errorf("e2e: a TLS 1.1 handshake succeeded")
		}
	})
	t.Run("Metadata and JWKS advertise https URLs", func(t *testing.T) {
		res, err := h.http.Get(h.issuer + "/.well-known/oauth-authorization-server")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var md map[string]any
		if err := json.NewDecoder(res.Body).Decode(&md); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"issuer", "token_endpoint", "jwks_uri", "introspection_endpoint", "revocation_endpoint"} {
			if v, _ := md[k].(string); !strings.HasPrefix(v, "https://") {
				t.Errorf("e2e: metadata %s = %q, want an https URL", k, v)
			}
		}
	})
	t.Run("Metrics and probes stay plain HTTP", func(t *testing.T) {
		for _, u := range []string{h.metricsURL + "/metrics", h.healthURL + "/readyz"} {
			if !strings.HasPrefix(u, "http://") {
				t.Fatalf("e2e: %s is not an http URL", u)
			}
			res, err := h.http.Get(u)
			if err != nil {
				t.Fatalf("e2e: GET %s: %v", u, err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK || res.TLS != nil {
				t.Errorf("e2e: GET %s: %s over TLS %v", u, res.Status, res.TLS != nil)
			}
		}
	})
	t.Run("Every namespace with an OAuthClient has the scopegate-ca ConfigMap, equal to the credentials' ca.crt", func(t *testing.T) {
		c := h.nodeClient(t)
		var cm corev1.ConfigMap
		eventually(t, "ConfigMap e2e-node/scopegate-ca", defaultWait, pollInterval, func() (bool, string) {
			if err := h.cluster.Client.Get(context.Background(), client.ObjectKey{Namespace: "e2e-node", Name: "scopegate-ca"}, &cm); err != nil {
				return false, err.Error()
			}
			return cm.Data["ca.crt"] == string(c.CACert), "ca.crt differs from the credentials Secret's"
		})
		if !bytes.Equal(c.CACert, h.trust.bundle()) {
			t.Errorf("e2e: the credentials Secret's ca.crt is not the bundle the listeners' certificate was issued with")
		}
		if !strings.HasPrefix(c.Issuer, "https://") || !strings.HasPrefix(c.TokenURL, "https://") {
			t.Errorf("e2e: credentials issuer %q token_url %q, want https URLs", c.Issuer, c.TokenURL)
		}
	})
}

func mustPool(t *testing.T, b []byte) *x509.CertPool {
	t.Helper()
	p, err := poolOf(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
