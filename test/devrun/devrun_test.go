// Package devrun proves what `make run` promises (SPEC §2): a local control
// plane whose etcd data survives a restart, the samples applied once, the
// manager in the foreground, and nothing left running after Ctrl-C.
package devrun

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/devcluster"
	"github.com/scopegate/scopegate/internal/testenv"
)

// lockedBuffer collects a process's output for assertions while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePorts returns n distinct loopback addresses that were free a moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	// Every listener stays open until all n are chosen: one closed at once
	// frees its port for the next, and the same port twice made the echo
	// backend and the manager's metrics server collide.
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		addrs[i] = l.Addr().String()
	}
	return addrs
}

func build(t *testing.T, root, dir, pkg, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// devRun is one `make run`: the devcluster command with the manager on free
// ports, in its own process group as a terminal's foreground job is.
type devRun struct {
	cmd *exec.Cmd
	out *lockedBuffer
	// mcp is the address of the MCP notes backend, llm of the stand-in
	// LLM provider, metrics of the manager's metrics.
	mcp, llm, metrics string
}

func start(t *testing.T, devcluster, manager, dataDir, samples string, env ...string) *devRun {
	t.Helper()
	out := &lockedBuffer{}
	p := freePorts(t, 7)
	mcp, llm, metrics := p[0], p[1], p[2]
	cmd := exec.Command(devcluster, "--manager", manager, "--dir", dataDir, "--samples", samples,
		"--echo-address", p[3], "--mcp-address", mcp, "--llm-address", llm, "--",
		"--oauth-bind-address", p[4], "--gateway-bind-address", p[5],
		"--metrics-bind-address", metrics, "--health-probe-bind-address", p[6])
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &devRun{cmd: cmd, out: out, mcp: mcp, llm: llm, metrics: metrics}
	t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), "scopegate is running") {
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			t.Fatalf("make run did not report readiness; it said:\n%s", out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	return r
}

// withoutKubeconfig is the environment without KUBECONFIG, so that a
// developer's own setting cannot turn the local control plane off.
func withoutKubeconfig() []string { return []string{"KUBECONFIG="} }

// interrupt sends SIGINT to the whole process group, as Ctrl-C in a
// terminal does, and waits for the command to end.
func (r *devRun) interrupt(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case err := <-done:
		// A clean Ctrl-C is a success: make must not report an error.
		if err != nil {
			t.Errorf("make run exited with %v after SIGINT, want status 0; it said:\n%s", err, tail(r.out.String(), 40))
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("make run did not stop within 60s of SIGINT; it said:\n%s", r.out.String())
	}
}

// leftovers lists running processes whose command line mentions dir.
func leftovers(dir string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		cmdline := strings.ReplaceAll(string(b), "\x00", " ")
		if strings.Contains(cmdline, dir) && !strings.Contains(cmdline, "devrun.test") {
			out = append(out, e.Name()+": "+cmdline)
		}
	}
	return out
}

// apiServerAddress is host:port of the API server in kubeconfig.
func apiServerAddress(t *testing.T, kubeconfig string) string {
	t.Helper()
	b, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "server: https://"); ok {
			return v
		}
	}
	t.Fatalf("no server in %s", kubeconfig)
	return ""
}

// assertStopped fails when anything of the run is still alive: a process
// naming the run's directory (etcd, the manager, devcluster) or the API
// server still accepting connections.
func assertStopped(t *testing.T, dir, apiServer string) {
	t.Helper()
	if left := leftovers(dir); len(left) > 0 {
		t.Fatalf("Ctrl-C left processes behind:\n%s", strings.Join(left, "\n"))
	}
	if c, err := net.DialTimeout("tcp", apiServer, time.Second); err == nil {
		c.Close()
		t.Fatalf("Ctrl-C left the kube-apiserver on %s running", apiServer)
	}
}

func kubectl(t *testing.T, root, kubeconfig string, stdin io.Reader, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(root, "bin", "k8s", "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin = stdin
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return string(b)
}

// checkIssuerVerifies fetches the metadata of the issuer the banner names,
// trusting only the CA file the banner names, as its curl does, and
// returns that client.
func checkIssuerVerifies(t *testing.T, banner, caFile string) *http.Client {
	t.Helper()
	var issuer string
	for _, line := range strings.Split(banner, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "issuer:"); ok {
			issuer = strings.Fields(v)[0]
		}
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("the CA bundle the banner names: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := c.Get(issuer + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatalf("GET the issuer's metadata with --cacert %s: %v", caFile, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET %s metadata: %s", issuer, res.Status)
	}
	return c
}

func TestMakeRunKeepsObjectsAcrossRestartsAndLeavesNothingBehind(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	devcluster := build(t, root, tmp, "./hack/devcluster", "devcluster")
	manager := build(t, root, tmp, ".", "scopegate")
	dataDir := filepath.Join(tmp, "dev")
	samples := filepath.Join(root, "config", "samples")
	kubeconfig := filepath.Join(dataDir, "kubeconfig")

	first := start(t, devcluster, manager, dataDir, samples, withoutKubeconfig()...)
	if !strings.Contains(first.out.String(), "10 created, 0 already present") {
		t.Errorf("the first run should create the 10 sample objects; it said:\n%s", first.out.String())
	}
	caFile := filepath.Join(dataDir, "ca.crt")
	for _, want := range []string{"kubeconfig:  " + kubeconfig, "issuer:      https://localhost:", "gateway:     https://localhost:", "CA bundle:   " + caFile, "curl -s --cacert " + caFile + " ", "grant_type=client_credentials",
		"$(" + filepath.Join(root, "bin", "k8s", "kubectl") + " --kubeconfig " + kubeconfig} {
		if !strings.Contains(first.out.String(), want) {
			t.Errorf("the banner lacks %q", want)
		}
	}
	trusting := checkIssuerVerifies(t, first.out.String(), caFile)
	got := kubectl(t, root, kubeconfig, nil, "get", "oauthclients,gatewayroutes", "-A", "-o", "name")
	for _, want := range []string{"oauthclient.scopegate.dev/demo-agent", "oauthclient.scopegate.dev/reporting-job", "gatewayroute.scopegate.dev/echo", "gatewayroute.scopegate.dev/notes", "gatewayroute.scopegate.dev/models", "oauthclient.scopegate.dev/llm-agent"} {
		if !strings.Contains(got, want) {
			t.Errorf("kubectl get lacks %s:\n%s", want, got)
		}
	}
	kubectl(t, root, kubeconfig, strings.NewReader(`
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: mine, namespace: default}
spec: {scopes: ["mcp:mine:read"]}
`), "apply", "-f", "-")
	kubectl(t, root, kubeconfig, nil, "wait", "--for=condition=Ready", "oauthclient/mine", "--timeout=60s")
	secretlessStep(t, root, kubeconfig, bannerValue(t, first.out.String(), "issuer:"), trusting)
	mcpToolsStep(t, root, kubeconfig, bannerValue(t, first.out.String(), "issuer:"), bannerValue(t, first.out.String(), "gateway:"), first.mcp, trusting)
	llmWalkthroughStep(t, root, kubeconfig, bannerValue(t, first.out.String(), "issuer:"), bannerValue(t, first.out.String(), "gateway:"), caFile, first)
	garbageCollectionStep(t, root, kubeconfig)

	apiServer := apiServerAddress(t, kubeconfig)
	first.interrupt(t)
	assertStopped(t, tmp, apiServer)

	second := start(t, devcluster, manager, dataDir, samples, withoutKubeconfig()...)
	if !strings.Contains(second.out.String(), "0 created, 10 already present") {
		t.Errorf("the second run must not re-create the samples; it said:\n%s", second.out.String())
	}
	got = kubectl(t, root, kubeconfig, nil, "get", "oauthclient", "mine", "-n", "default", "-o", "jsonpath={.spec.scopes[0]}")
	if got != "mcp:mine:read" {
		t.Errorf("the object created before the restart is gone or changed: %q", got)
	}
	apiServer = apiServerAddress(t, kubeconfig)
	second.interrupt(t)
	assertStopped(t, tmp, apiServer)
}

func TestMakeRunWithAKubeconfigUsesThatClusterAndStartsNoControlPlane(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	devclusterBin := build(t, root, tmp, "./hack/devcluster", "devcluster")
	manager := build(t, root, tmp, ".", "scopegate")
	cluster, err := devcluster.Start(context.Background(), devcluster.Options{Namespaces: []string{"scopegate-system"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Stop() })

	dataDir := filepath.Join(tmp, "dev")
	run := start(t, devclusterBin, manager, dataDir, filepath.Join(root, "config", "samples"), "KUBECONFIG="+cluster.Kubeconfig)
	out := run.out.String()
	if !strings.Contains(out, "Using the cluster of "+cluster.Kubeconfig) || strings.Contains(out, "Starting a local control plane") {
		t.Fatalf("with KUBECONFIG set, make run must use that cluster and start none; it said:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "etcd")); !os.IsNotExist(err) {
		t.Errorf("an etcd data directory was created: %v", err)
	}
	kubectl(t, root, cluster.Kubeconfig, strings.NewReader(`
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: theirs, namespace: default}
spec: {scopes: [mcp]}
`), "apply", "-f", "-")
	kubectl(t, root, cluster.Kubeconfig, nil, "wait", "--for=condition=Ready", "oauthclient/theirs", "--timeout=60s")
	run.interrupt(t)
	if left := leftovers(tmp); len(left) > 0 {
		t.Fatalf("Ctrl-C left processes behind:\n%s", strings.Join(left, "\n"))
	}
}

// bannerValue is the first word after label in make run's banner.
func bannerValue(t *testing.T, out, label string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), label); ok {
			if f := strings.Fields(v); len(f) > 0 {
				return f[0]
			}
		}
	}
	t.Fatalf("the banner has no %q line:\n%s", label, out)
	return ""
}

// secretlessStep is the README's secretless walkthrough step: a token of
// the sample ServiceAccount mcp-agent from `kubectl create token`, with the
// issuer as audience, gets an access token as a client assertion.
func secretlessStep(t *testing.T, root, kubeconfig, issuer string, hc *http.Client) {
	t.Helper()
	sa := strings.TrimSpace(kubectl(t, root, kubeconfig, nil, "create", "token", "mcp-agent", "-n", "default", "--audience", issuer))
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"mcp"}, "audience": {"mcp"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {sa}}
	res, err := hc.PostForm(issuer+"/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), `"access_token"`) {
		t.Errorf("the secretless sample client got %d: %s", res.StatusCode, b)
	}
}

// mcpToolsStep checks what the README's "Governing MCP tools" walkthrough
// relies on: the MCP notes backend serves three tools, the sample route
// notes counts its two item rules and flags rule 0 (no client may hold
// mcp:notes:write), and demo-agent, with mcp:notes:read, is refused
// delete_note by the gateway with the scope challenge naming the write
// scope (the refusal needs no backend: the samples point at the default
// address, not this run's).
func mcpToolsStep(t *testing.T, root, kubeconfig, issuer, gateway, mcp string, hc *http.Client) {
	t.Helper()
	res, err := http.Post("http://"+mcp, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, tool := range []string{`"list_notes"`, `"get_note"`, `"delete_note"`} {
		if !strings.Contains(string(b), tool) {
			t.Errorf("the MCP notes backend's tools/list lacks %s: %s", tool, b)
		}
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		got := kubectl(t, root, kubeconfig, nil, "get", "gatewayroute", "notes", "-n", "default", "-o", "jsonpath={.status.itemRules} {.status.unsatisfiableItemRules}")
		if got == "2 [0]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the notes route's item rules status is %q, want \"2 [0]\"", got)
		}
		time.Sleep(time.Second)
	}

	id := kubectl(t, root, kubeconfig, nil, "get", "secret", "demo-agent-credentials", "-n", "default", "-o", "jsonpath={.data.client_id}")
	secret := kubectl(t, root, kubeconfig, nil, "get", "secret", "demo-agent-credentials", "-n", "default", "-o", "jsonpath={.data.client_secret}")
	treq, _ := http.NewRequest(http.MethodPost, issuer+"/oauth/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"mcp mcp:notes:read"}, "audience": {"mcp"}}.Encode()))
	treq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	treq.SetBasicAuth(decode(t, id), decode(t, secret))
	tres, err := hc.Do(treq)
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := io.ReadAll(tres.Body)
	tres.Body.Close()
	_, rest, _ := strings.Cut(string(tb), `"access_token":"`)
	tok, _, _ := strings.Cut(rest, `"`)
	if tok == "" {
		t.Fatalf("demo-agent got no token for mcp:notes:read: %d %s", tres.StatusCode, tb)
	}

	call, _ := http.NewRequest(http.MethodPost, gateway+"/mcp/notes",
		strings.NewReader(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"delete_note","arguments":{"id":"note-1"}}}`))
	call.Header.Set("Authorization", "Bearer "+tok)
	call.Header.Set("Content-Type", "application/json")
	call.Header.Set("Accept", "application/json, text/event-stream")
	call.Header.Set("MCP-Protocol-Version", "2025-11-25")
	cres, err := hc.Do(call)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := io.ReadAll(cres.Body)
	cres.Body.Close()
	if www := cres.Header.Get("WWW-Authenticate"); cres.StatusCode != http.StatusForbidden || !strings.Contains(www, `scope="mcp mcp:notes:write"`) {
		t.Errorf("delete_note with mcp:notes:read: %d %q %s, want 403 with the write scope challenge", cres.StatusCode, www, cb)
	}
}

func decode(t *testing.T, b64 string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// garbageCollectionStep: the local control plane behaves like a cluster
// (its kube-controller-manager runs): deleting an OAuthClient removes its
// Secrets, and deleting a namespace completes.
func garbageCollectionStep(t *testing.T, root, kubeconfig string) {
	t.Helper()
	kubectl(t, root, kubeconfig, strings.NewReader(`
apiVersion: v1
kind: Namespace
metadata: {name: gc-check}
---
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: doomed, namespace: gc-check}
spec: {scopes: [mcp], tokenSecret: {}}
`), "apply", "-f", "-")
	kubectl(t, root, kubeconfig, nil, "wait", "-n", "gc-check", "--for=condition=Ready", "oauthclient/doomed", "--timeout=60s")
	// The namespace's trust bundle exists while it holds an OAuthClient.
	kubectl(t, root, kubeconfig, nil, "get", "configmap", "scopegate-ca", "-n", "gc-check", "-o", "name")
	kubectl(t, root, kubeconfig, nil, "delete", "-n", "gc-check", "oauthclient/doomed", "--wait=true")
	deadline := time.Now().Add(60 * time.Second)
	for {
		left := kubectl(t, root, kubeconfig, nil, "get", "secrets,configmaps", "-n", "gc-check", "-o", "name")
		if !strings.Contains(left, "doomed-") && !strings.Contains(left, "configmap/scopegate-ca") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted OAuthClient's Secrets (or the trust-bundle ConfigMap it alone owned) are still there after 60s:\n%s", left)
		}
		time.Sleep(time.Second)
	}
	kubectl(t, root, kubeconfig, nil, "delete", "namespace", "gc-check", "--wait=true", "--timeout=90s")
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
