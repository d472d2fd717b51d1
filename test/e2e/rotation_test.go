package e2e

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// caOverlap is the suite manager's --tls-ca-overlap: a new CA is in every
// published ca.crt this long before it signs the serving certificate.
const caOverlap = 10 * time.Second

// loadGen keeps clients busy against the token endpoint and the gateway
// and counts every failed request. Each client kind stands for a kind of
// pod:
//
//   - pinned trusts the bundle it started with and keeps one keep-alive
//     (HTTP/2) connection per listener for the whole test: an open
//     connection must survive any rotation;
//   - mounted reloads the bundle from its credentials Secret (as the
//     kubelet refreshes a mounted Secret) and reuses connections;
//   - fresh opens a new connection for every request, trusting the bundle
//     mounted has loaded: it sees every new certificate.
type loadGen struct {
	h        *harness
	c        creds
	path     string
	requests atomic.Int64
	failures atomic.Int64
	mu       sync.Mutex
	errs     []string
	wg       sync.WaitGroup
}

func (l *loadGen) fail(kind string, err error) {
	l.failures.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 10 {
		l.errs = append(l.errs, kind+": "+err.Error())
	}
}

// once fetches a token with x/oauth2 and calls the gateway with it, both
// through hc.
func (l *loadGen) once(ctx context.Context, hc *http.Client) error {
	cfg := clientcredentials.Config{ClientID: l.c.ClientID, ClientSecret: l.c.ClientSecret, TokenURL: l.c.TokenURL, Scopes: []string{"mcp"},
		EndpointParams: map[string][]string{"audience": {"mcp"}}}
	tok, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.h.gatewayURL+l.path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("gateway: %s", res.Status)
	}
	return nil
}

// run calls once with the client next returns until ctx ends.
func (l *loadGen) run(ctx context.Context, kind string, next func() *http.Client) {
	l.wg.Go(func() {
		for ctx.Err() == nil {
			err := l.once(ctx, next())
			if ctx.Err() != nil {
				return
			}
			l.requests.Add(1)
			if err != nil {
				l.fail(kind, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// expectNoFailures fails t when any request failed so far, and when the
// load made no progress since `since` requests.
func (l *loadGen) expectNoFailures(t *testing.T, step string, since int64) {
	t.Helper()
	if n := l.failures.Load(); n > 0 {
		l.mu.Lock()
		defer l.mu.Unlock()
		t.Fatalf("e2e: %s: %d of %d requests failed; first errors:\n%s", step, n, l.requests.Load(), strings.Join(l.errs, "\n"))
	}
	if got := l.requests.Load(); got <= since+10 {
		t.Fatalf("e2e: %s: only %d requests during the step: the load stalled", step, got-since)
	}
}

// peer opens a new connection to the token server trusting pool and
// returns the certificate it is served.
func (h *harness) peer(pool *x509.CertPool) (*x509.Certificate, error) {
	tr := newTransport(pool)
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(h.issuer + "/.well-known/jwks.json")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	return res.TLS.PeerCertificates[0], nil
}

func certCount(bundle []byte) int { return bytes.Count(bundle, []byte("BEGIN CERTIFICATE")) }

// TestRotationUnderLoad rotates the serving certificate and then the CA
// while clients hold keep-alive connections and keep requesting tokens and
// calling the gateway (issue 10, item 7): no request fails, new
// connections see the new certificate, and a client that trusts only the
// ca.crt of its credentials Secret keeps working across the CA rotation.
func TestRotationUnderLoad(t *testing.T) {
	h := env(t)
	h.apply(t, "rotation.yaml", h.vars())
	h.waitReady(t, "e2e-rotation", "oauthclient/busy")
	h.waitReady(t, "e2e-rotation", "gatewayroute/busy-echo")
	h.waitRoute(t, "/e2e/rotation/echo")
	c := h.credentials(t, "e2e-rotation", "busy")
	// The suite's own clients follow the rotated bundle for later tests.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := h.loadTrust(ctx); err != nil {
			t.Errorf("e2e: reload the suite's trust after the rotations: %v", err)
		}
	})

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	mounted := newTrust(h.dir, "rotation-mounted-ca.crt")
	if err := mounted.set(c.CACert); err != nil {
		t.Fatal(err)
	}
	var reloads sync.WaitGroup
	reloads.Go(func() {
		for ctx.Err() == nil {
			if b, err := h.secretBundle(ctx, "e2e-rotation", "busy-credentials"); err == nil && !bytes.Equal(b, mounted.bundle()) {
				if err := mounted.set(b); err != nil {
					t.Errorf("e2e: mounted client: %v", err)
				}
			}
			time.Sleep(300 * time.Millisecond)
		}
	})
	defer reloads.Wait()

	startPool, err := poolOf(c.CACert)
	if err != nil {
		t.Fatal(err)
	}
	pinnedTransport := newTransport(startPool)
	pinnedTransport.MaxConnsPerHost = 1
	pinned := &http.Client{Transport: pinnedTransport, Timeout: 30 * time.Second}
	mountedClient := mounted.client()
	l := &loadGen{h: h, c: c, path: "/e2e/rotation/echo/busy"}
	defer l.wg.Wait()
	defer stop()
	l.run(ctx, "pinned", func() *http.Client { return pinned })
	l.run(ctx, "mounted", func() *http.Client { return mountedClient })
	l.run(ctx, "fresh", func() *http.Client {
		pool, _ := poolOf(mounted.bundle())
		tr := newTransport(pool)
		tr.DisableKeepAlives = true
		return &http.Client{Transport: tr, Timeout: 30 * time.Second}
	})

	annotate := func(t *testing.T, name, key string) {
		t.Helper()
		h.mustKubectl(t, "request a rotation", "-n", operatorNamespace, "annotate", "secret", name,
			key+"="+strconv.FormatInt(time.Now().UnixNano(), 10), "--overwrite")
	}

	t.Run("Rotating the serving certificate drops no request and new connections get the new certificate", func(t *testing.T) {
		since := l.requests.Load()
		before, err := h.peer(startPool)
		if err != nil {
			t.Fatalf("e2e: connect before the rotation: %v", err)
		}
		annotate(t, "scopegate-tls", "scopegate.dev/rotate-serving-cert")
		eventually(t, "a new connection is served a new certificate", defaultWait, pollInterval, func() (bool, string) {
			now, err := h.peer(startPool)
			if err != nil {
				return false, err.Error()
			}
			return now.SerialNumber.Cmp(before.SerialNumber) != 0, "still serial " + now.SerialNumber.Text(16)
		})
		time.Sleep(time.Second)
		l.expectNoFailures(t, "serving-certificate rotation", since)
	})

	t.Run("Rotating the CA drops no request; a client trusting only its Secret's ca.crt keeps working", func(t *testing.T) {
		since := l.requests.Load()
		before, err := h.peer(startPool)
		if err != nil {
			t.Fatalf("e2e: connect before the rotation: %v", err)
		}
		annotate(t, "scopegate-ca", "scopegate.dev/rotate-ca")

		var overlap []byte
		eventually(t, "the credentials Secret's ca.crt and the namespace's scopegate-ca ConfigMap hold the old and the new CA", defaultWait, pollInterval, func() (bool, string) {
			b, err := h.secretBundle(ctx, "e2e-rotation", "busy-credentials")
			if err != nil {
				return false, err.Error()
			}
			var cm corev1.ConfigMap
			if err := h.cluster.Client.Get(ctx, client.ObjectKey{Namespace: "e2e-rotation", Name: "scopegate-ca"}, &cm); err != nil {
				return false, err.Error()
			}
			overlap = b
			return certCount(b) == 2 && cm.Data["ca.crt"] == string(b), fmt.Sprintf("Secret ca.crt holds %d certificates, ConfigMap %d", certCount(b), certCount([]byte(cm.Data["ca.crt"])))
		})
		if now, err := h.peer(startPool); err != nil || !bytes.Equal(now.AuthorityKeyId, before.AuthorityKeyId) {
			t.Errorf("e2e: the new CA signs before the overlap ended (err %v)", err)
		}

		overlapPool, err := poolOf(overlap)
		if err != nil {
			t.Fatal(err)
		}
		var after *x509.Certificate
		eventually(t, "after the overlap, new connections are served a certificate of the new CA", defaultWait+caOverlap, pollInterval, func() (bool, string) {
			now, err := h.peer(overlapPool)
			if err != nil {
				return false, err.Error()
			}
			after = now
			return !bytes.Equal(now.AuthorityKeyId, before.AuthorityKeyId), "still signed by the old CA"
		})
		if _, err := after.Verify(x509.VerifyOptions{Roots: startPool, DNSName: "127.0.0.1"}); err == nil {
			t.Errorf("e2e: the new certificate verifies with the old CA alone: the CA did not change")
		}

		eventually(t, "one overlap later the old CA leaves every published ca.crt", defaultWait+caOverlap, pollInterval, func() (bool, string) {
			b, err := h.secretBundle(ctx, "e2e-rotation", "busy-credentials")
			if err != nil {
				return false, err.Error()
			}
			return certCount(b) == 1 && !bytes.Equal(b, c.CACert), fmt.Sprintf("ca.crt holds %d certificates", certCount(b))
		})
		time.Sleep(time.Second)
		l.expectNoFailures(t, "CA rotation", since)

		// The pinned client trusted only the old CA and kept working on its
		// open connections; a new connection with that trust now fails.
		if _, err := h.peer(startPool); err == nil {
			t.Errorf("e2e: a new connection trusting only the retired CA succeeded")
		} else if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("e2e: a new connection trusting only the retired CA failed for another reason: %v", err)
		}
	})
	stop()
	l.wg.Wait()
	if n := l.failures.Load(); n > 0 {
		t.Errorf("e2e: %d of %d requests failed in all: %s", n, l.requests.Load(), strings.Join(l.errs, "; "))
	} else {
		t.Logf("e2e: %d requests across both rotations, none failed", l.requests.Load())
	}
}
