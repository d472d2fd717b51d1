package gateway

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHTTPSBackendsAreVerified(t *testing.T) {
	be := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) }))
	defer be.Close()
	// httptest's certificate is for example.com and 127.0.0.1, signed by
	// itself.
	bundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: be.Certificate().Raw})
	for _, tc := range []struct {
		name string
		tls  *BackendTLS
		want int
	}{
		{"A backend whose certificate no trusted CA signed is refused", nil, http.StatusBadGateway},
		{"A backend verified with the route's CA bundle is reached", &BackendTLS{CABundle: bundle}, http.StatusOK},
		{"The server name of a Service backend is what the certificate is verified for", &BackendTLS{ServerName: "example.com", CABundle: bundle}, http.StatusOK},
		{"A certificate that does not name the Service is refused", &BackendTLS{ServerName: "github-mcp.team-a.svc", CABundle: bundle}, http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			rt := githubRoute(t, be.URL)
			rt.TLS = tc.tls
			f.gw.Table().Set(rt)
			tok := f.token(t, "team-a.github", []string{"mcp:github:read"}, []string{"mcp"})
			res := f.do(t, "GET", "/mcp/github/x", tok, nil)
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Errorf("status %d, want %d", res.StatusCode, tc.want)
			}
		})
	}
}
