package gateway

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"sync"
)

// BackendTLS is how the gateway verifies an https backend beyond the
// defaults (system roots, the URL's host as server name). Verification is
// never skipped.
type BackendTLS struct {
	// ServerName is the name sent as SNI and verified in the backend's
	// certificate; for a Service backend it is the Service's DNS name
	// (<name>.<namespace>.svc), since its endpoints are addressed by IP.
	// Empty means the URL's host.
	ServerName string
	// CABundle is PEM CA certificates trusted in addition to the system
	// roots (backend.tls.caSecretRef).
	CABundle []byte
}

// backendTransports holds one transport per distinct BackendTLS, so that
// routes sharing a backend share its connections and a route update (an
// endpoint change) does not open new ones.
type backendTransports struct {
	mu    sync.Mutex
	byKey map[[sha256.Size]byte]*http.Transport
}

// get returns the transport for t, creating it on first use.
func (b *backendTransports) get(t *BackendTLS) (*http.Transport, error) {
	key := sha256.Sum256(append([]byte(t.ServerName+"\x00"), t.CABundle...))
	b.mu.Lock()
	defer b.mu.Unlock()
	if tr, ok := b.byKey[key]; ok {
		return tr, nil
	}
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if len(t.CABundle) > 0 && !roots.AppendCertsFromPEM(t.CABundle) {
		return nil, fmt.Errorf("backend CA bundle holds no PEM certificate")
	}
	tr := NewTransport()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ServerName: t.ServerName}
	if b.byKey == nil {
		b.byKey = map[[sha256.Size]byte]*http.Transport{}
	}
	b.byKey[key] = tr
	return tr, nil
}

// routeTransport sends a forwarded request with its route's backend
// transport: the shared one, or the one of the route's BackendTLS.
type routeTransport struct {
	shared http.RoundTripper
	tls    *backendTransports
}

func (rt *routeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f, _ := r.Context().Value(forwardKey{}).(*forward)
	if f == nil || f.route.TLS == nil || f.target.Scheme != "https" {
		return rt.shared.RoundTrip(r)
	}
	tr, err := rt.tls.get(f.route.TLS)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", f.route.Key, err)
	}
	return tr.RoundTrip(r)
}
