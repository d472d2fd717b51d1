package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/devcluster"
	"github.com/scopegate/scopegate/internal/testenv"
)

// operatorNamespace holds the signing-keys Secret and the leader-election
// Lease (SPEC §1).
const operatorNamespace = "scopegate-system"

// suite is the running control plane and manager shared by every test; it is
// set once by TestMain before any test runs.
var suite *harness

// harness is the system under test as seen from outside.
type harness struct {
	root    string // repository root
	dir     string // logs of the manager and upstreams
	kubectl string
	cluster *devcluster.Cluster
	manager *manager
	// echo is a plain HTTP upstream shared by the HTTP routes of the tests.
	echo *echoBackend

	issuer     string // --issuer, the token server's base URL
	gatewayURL string // --gateway-url
	metricsURL string
	healthURL  string
	// trust is the CA bundle http verifies scopegate with.
	trust *trust
	http  *http.Client
	keep  bool // keep the logs: something failed
}

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	h, err := startHarness()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: setup failed: %v\n", err)
		if h != nil {
			h.printManagerTail(120)
			h.stop()
		}
		return 1
	}
	suite = h
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: manager log: %s (kept)\n", h.manager.logPath)
		h.keep = true
	}
	h.stop()
	return code
}

func startHarness() (*harness, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, fmt.Errorf("e2e: find repository root: %w", err)
	}
	h := &harness{root: root}
	bin := filepath.Join(root, "bin", "scopegate")
	if b := os.Getenv("E2E_MANAGER_BIN"); b != "" {
		// Another build of the manager, e.g. one being debugged.
		bin = b
	}
	h.kubectl = filepath.Join(root, "bin", "k8s", "kubectl")
	for what, path := range map[string]string{
		"manager binary (make build)":                bin,
		"kubectl (hack/build-k8s.sh)":                h.kubectl,
		"Node.js clients (npm ci in test/e2e)":       filepath.Join(root, "test", "e2e", "node_modules", "@modelcontextprotocol", "sdk"),
		"MCP server-everything (npm ci in test/e2e)": filepath.Join(root, "test", "e2e", "node_modules", "@modelcontextprotocol", "server-everything"),
		"A2A SDK (npm ci in test/e2e)":               filepath.Join(root, "test", "e2e", "node_modules", "@a2a-js", "sdk"),
		"openid-client/jose/oauth4webapi (npm ci)":   filepath.Join(root, "test", "e2e", "node_modules", "openid-client"),
		"openai and @anthropic-ai/sdk (npm ci)":      filepath.Join(root, "test", "e2e", "node_modules", "@anthropic-ai", "sdk"),
	} {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("e2e: %s missing at %s: run `make test-e2e`", what, path)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("e2e: node not on PATH: %w", err)
	}
	if h.dir, err = os.MkdirTemp("", "scopegate-e2e-"); err != nil {
		return nil, fmt.Errorf("e2e: create log directory: %w", err)
	}
	h.trust = newTrust(h.dir, "ca.crt")
	h.http = h.trust.client()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if h.cluster, err = devcluster.Start(ctx, devcluster.Options{Namespaces: []string{operatorNamespace}}); err != nil {
		return h, fmt.Errorf("e2e: start local control plane: %w", err)
	}

	h.echo = newEchoBackend()

	managerKubeconfig, err := h.managerKubeconfig("manager.kubeconfig")
	if err != nil {
		return h, err
	}

	ports, err := freePorts(4)
	if err != nil {
		return h, err
	}
	oauthAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	gatewayAddr := fmt.Sprintf("127.0.0.1:%d", ports[1])
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", ports[2])
	healthAddr := fmt.Sprintf("127.0.0.1:%d", ports[3])
	// TLS is on, as by default: the manager's own CA (--tls-mode=auto),
	// whose serving certificate names 127.0.0.1.
	h.issuer = "https://" + oauthAddr
	h.gatewayURL = "https://" + gatewayAddr
	h.metricsURL = "http://" + metricsAddr
	h.healthURL = "http://" + healthAddr
	h.manager = &manager{
		bin:     bin,
		logPath: filepath.Join(h.dir, "manager.log"),
		args: []string{
			"--kubeconfig", managerKubeconfig,
			"--oauth-bind-address", oauthAddr,
			"--gateway-bind-address", gatewayAddr,
			"--metrics-bind-address", metricsAddr,
			"--health-probe-bind-address", healthAddr,
			"--issuer", h.issuer,
			"--gateway-url", h.gatewayURL,
			// A CA rotation (TestRotationUnderLoad) publishes the new CA
			// this long before it signs.
			"--tls-ca-overlap", caOverlap.String(),
		},
	}
	if err := h.startManager(); err != nil {
		return h, err
	}
	fmt.Fprintf(os.Stderr, "e2e: manager up: issuer %s gateway %s kubeconfig %s log %s\n",
		h.issuer, h.gatewayURL, h.cluster.Kubeconfig, h.manager.logPath)
	return h, nil
}

// startManager starts the manager process and waits until it serves: /readyz
// answers 200 and the token server publishes its metadata.
func (h *harness) startManager() error {
	if err := h.manager.start(); err != nil {
		return err
	}
	return h.waitServing(90 * time.Second)
}

func (h *harness) waitServing(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	checks := []struct{ what, url string }{
		{"health probe /readyz", h.healthURL + "/readyz"},
		{"token server metadata", h.issuer + "/.well-known/oauth-authorization-server"},
		{"token server JWKS", h.issuer + "/.well-known/jwks.json"},
	}
	for i, c := range checks {
		if i == 1 {
			// Ready means the serving certificate is loaded; trust the
			// bundle it was issued with.
			ctx, cancel := context.WithDeadline(context.Background(), deadline)
			err := h.loadTrust(ctx)
			cancel()
			if err != nil {
				return err
			}
		}
		last := "no answer yet"
		for {
			if h.manager.exited() {
				return fmt.Errorf("e2e: manager exited while waiting for %s: %v", c.what, h.manager.waitErr())
			}
			res, err := h.http.Get(c.url)
			if err == nil {
				_ = res.Body.Close()
				if res.StatusCode == http.StatusOK {
					break
				}
				last = fmt.Sprintf("GET %s: %s", c.url, res.Status)
			} else {
				last = err.Error()
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("e2e: manager did not serve %s within %s; last: %s", c.what, timeout, last)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// The gateway answers 404 for an unknown path once it listens.
	for {
		res, err := h.http.Get(h.gatewayURL + "/e2e-readiness-probe")
		if err == nil {
			_ = res.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("e2e: gateway at %s does not accept connections within %s: %v", h.gatewayURL, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (h *harness) stop() {
	if h.manager != nil {
		if err := h.manager.stop(20 * time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stop manager: %v\n", err)
		}
	}
	if h.echo != nil {
		h.echo.Close()
	}
	if h.cluster != nil {
		if err := h.cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stop control plane: %v\n", err)
		}
	}
	if h.dir != "" && !h.keep && os.Getenv("E2E_KEEP_LOGS") == "" {
		_ = os.RemoveAll(h.dir)
	}
}

func (h *harness) printManagerTail(n int) {
	if h.manager == nil {
		return
	}
	fmt.Fprintf(os.Stderr, "e2e: ---- last %d lines of the manager log (%s) ----\n%s\n", n, h.manager.logPath, prefixLines("e2e: manager| ", h.manager.tail(n)))
}

// vars are the values manifests under testdata may refer to as ${KEY}.
func (h *harness) vars(extra ...string) map[string]string {
	v := map[string]string{"ECHO_URL": h.echo.URL, "GATEWAY_URL": h.gatewayURL, "ISSUER": h.issuer}
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i]] = extra[i+1]
	}
	return v
}

// env returns the suite and arranges for the manager's log tail to be printed
// when t fails.
func env(t *testing.T) *harness {
	t.Helper()
	if suite == nil {
		t.Fatal("e2e: the suite was not started (TestMain)")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("e2e: manager log tail after %s failed:\n%s", t.Name(), prefixLines("e2e: manager| ", suite.manager.tail(40)))
		}
	})
	return suite
}

// prefixLines prefixes every line of s, so that `make test-e2e`, which shows
// only the lines holding "e2e:", shows them.
func prefixLines(prefix, s string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
