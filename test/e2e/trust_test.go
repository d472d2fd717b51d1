package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// tlsSecret is the auto mode's kubernetes.io/tls Secret; its ca.crt is
// the bundle scopegate publishes (the same bytes as every credentials
// Secret's ca.crt and every scopegate-ca ConfigMap).
var tlsSecret = types.NamespacedName{Namespace: operatorNamespace, Name: "scopegate-tls"}

// trust is the CA bundle the harness's clients verify scopegate with, as a
// pod that mounts the published ca.crt has it: a pool for Go clients and a
// file for NODE_EXTRA_CA_CERTS. It is replaced when a test reloads it (as
// the kubelet refreshes a mounted Secret); connections already open keep
// the pool they were verified with.
type trust struct {
	file string
	pem  atomic.Pointer[[]byte]
	mu   sync.Mutex
	// transport is rebuilt from the current pool on every set.
	transport atomic.Pointer[http.Transport]
}

func newTrust(dir, name string) *trust {
	tr := &trust{file: filepath.Join(dir, name)}
	tr.transport.Store(newTransport(nil))
	return tr
}

// set makes bundle what new connections trust.
func (tr *trust) set(bundle []byte) error {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(bundle) {
		return errors.New("e2e: the CA bundle holds no PEM certificate")
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if err := os.WriteFile(tr.file, bundle, 0o600); err != nil {
		return fmt.Errorf("e2e: write CA bundle: %w", err)
	}
	b := append([]byte(nil), bundle...)
	tr.pem.Store(&b)
	old := tr.transport.Swap(newTransport(pool))
	old.CloseIdleConnections()
	return nil
}

func (tr *trust) bundle() []byte {
	if b := tr.pem.Load(); b != nil {
		return *b
	}
	return nil
}

// RoundTrip sends r with a transport trusting the current bundle.
func (tr *trust) RoundTrip(r *http.Request) (*http.Response, error) {
	return tr.transport.Load().RoundTrip(r)
}

// client is an http.Client that verifies scopegate with tr.
func (tr *trust) client() *http.Client { return &http.Client{Timeout: 30 * time.Second, Transport: tr} }

// newTransport is a keep-alive transport that trusts pool only (nil: no
// HTTPS server at all), with HTTP/2 when the server offers it.
func newTransport(pool *x509.CertPool) *http.Transport {
	if pool == nil {
		pool = x509.NewCertPool()
	}
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
}

// loadTrust waits until the manager has written its TLS Secret and trusts
// its bundle.
func (h *harness) loadTrust(ctx context.Context) error {
	var s corev1.Secret
	last := "no Secret yet"
	for {
		err := h.cluster.Client.Get(ctx, tlsSecret, &s)
		if err == nil && len(s.Data["ca.crt"]) > 0 {
			return h.trust.set(s.Data["ca.crt"])
		}
		if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("e2e: TLS Secret %s with a ca.crt: %s", tlsSecret, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// poolOf is a pool of the PEM bundle b.
func poolOf(b []byte) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, errors.New("e2e: no PEM certificate in the bundle")
	}
	return p, nil
}

// secretBundle is ca.crt of the Secret ns/name.
func (h *harness) secretBundle(ctx context.Context, ns, name string) ([]byte, error) {
	var s corev1.Secret
	if err := h.cluster.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		return nil, err
	}
	if len(s.Data["ca.crt"]) == 0 {
		return nil, fmt.Errorf("e2e: Secret %s/%s has no ca.crt", ns, name)
	}
	return s.Data["ca.crt"], nil
}
