package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/scopegate/scopegate/hack/bench/pki"
	"github.com/scopegate/scopegate/internal/devcluster"
	"github.com/scopegate/scopegate/internal/testenv"
)

// operatorNamespace holds the signing keys, revocations and the Lease.
const operatorNamespace = "scopegate-system"

// managerIdentity is the ServiceAccount the deployment runs as; the harness
// runs the manager as that identity with the deployment's RBAC, so that the
// API server's Priority and Fairness treats it as it treats a real
// deployment (an admin client would be exempt from flow control).
const managerIdentity = "system:serviceaccount:scopegate-system:scopegate"

// env is one local control plane and the manager running on it.
type env struct {
	root    string
	dir     string
	cluster *devcluster.Cluster
	manager *process
	// client is the harness's own HTTP client: it trusts the round's CA
	// when the manager serves TLS.
	client *http.Client

	issuer, gatewayURL, metricsURL, healthURL, pprofURL string

	// What a second replica needs: the manager's kubeconfig, URL scheme
	// and TLS flags.
	kubeconfig, scheme string
	tlsArgs            []string
}

// startEnv starts a fresh control plane (etcd in a temporary directory),
// installs the RBAC of config/rbac and starts the manager binary as a
// separate process, exactly as a user starts it: default flags except the
// loopback addresses and the kubeconfig. With tlsFiles the token server and
// the gateway serve that certificate (--tls-mode=files) on https URLs;
// without, they serve plain HTTP (--tls-mode=off). extra are further
// manager flags.
func startEnv(ctx context.Context, o *options, name string, tlsFiles *pki.Files, extra ...string) (*env, error) {
	e := &env{root: o.root}
	var err error
	scheme, tlsArgs := "http://", o.offArgs
	e.client = &http.Client{Timeout: 10 * time.Second}
	if tlsFiles != nil {
		cfg, err := pki.ClientConfig(tlsFiles.CA)
		if err != nil {
			return nil, err
		}
		e.client.Transport = &http.Transport{TLSClientConfig: cfg}
		scheme = "https://"
		tlsArgs = []string{"--tls-mode=files", "--tls-cert-file", tlsFiles.Cert, "--tls-key-file", tlsFiles.Key, "--tls-ca-file", tlsFiles.CA}
	}
	if e.dir, err = os.MkdirTemp(o.workDir, name+"-"); err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if e.cluster, err = devcluster.Start(sctx, devcluster.Options{Dir: filepath.Join(e.dir, "cluster"), Namespaces: []string{operatorNamespace}}); err != nil {
		return nil, fmt.Errorf("start local control plane: %w", err)
	}
	if e.kubeconfig, err = e.managerKubeconfig(); err != nil {
		e.stop()
		return nil, err
	}
	e.scheme, e.tlsArgs = scheme, tlsArgs
	addrs, err := freeAddrs(5)
	if err != nil {
		e.stop()
		return nil, err
	}
	e.pprofURL = "http://" + addrs[4]
	e.issuer, e.gatewayURL = scheme+addrs[0], scheme+addrs[1]
	e.metricsURL, e.healthURL = "http://"+addrs[2]+"/metrics", "http://"+addrs[3]
	args := []string{
		"--kubeconfig", e.kubeconfig,
		"--oauth-bind-address", addrs[0],
		"--gateway-bind-address", addrs[1],
		"--metrics-bind-address", addrs[2],
		"--health-probe-bind-address", addrs[3],
		"--issuer", e.issuer,
		"--gateway-url", e.gatewayURL,
	}
	if o.profileDir != "" {
		args = append(args, "--pprof-bind-address", addrs[4])
	}
	args = append(args, tlsArgs...)
	args = append(args, extra...)
	args = append(args, o.managerArgs...)
	if e.manager, err = startProcess(e.dir, "manager", o.manager, args...); err != nil {
		e.stop()
		return nil, err
	}
	if err := waitHTTP(ctx, e.client, e.manager, e.healthURL+"/readyz", 200, 90*time.Second); err != nil {
		e.stop()
		return nil, fmt.Errorf("manager not ready: %w", err)
	}
	return e, nil
}

// harnessClient is the harness's own client on the control plane of base:
// no client-side limit, for it is the load.
func harnessClient(base *rest.Config) (client.WithWatch, error) {
	cfg := rest.CopyConfig(base)
	cfg.QPS, cfg.Burst = -1, 0
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		return nil, fmt.Errorf("create the harness's client: %w", err)
	}
	return c, nil
}

// replica is a second manager on the same control plane.
type replica struct {
	manager *process
	// pprofURL serves its profiles when the harness profiles (-profile).
	pprofURL               string
	gatewayURL, metricsURL string
	// oauthURL is its token server; healthURL its probe server.
	oauthURL, healthURL string
}

// startReplica starts a second manager on the env's control plane, as a
// second replica of the deployment: the same identity, issuer URL and TLS
// flags, its own loopback addresses, --leader-elect (the controllers run
// on one of the two), and extra flags. The caller stops it.
func (e *env) startReplica(ctx context.Context, o *options, name string, extra ...string) (*replica, error) {
	addrs, err := freeAddrs(5)
	if err != nil {
		return nil, err
	}
	r := &replica{gatewayURL: e.scheme + addrs[1], metricsURL: "http://" + addrs[2] + "/metrics", oauthURL: e.scheme + addrs[0], healthURL: "http://" + addrs[3]}
	args := []string{
		"--kubeconfig", e.kubeconfig,
		"--oauth-bind-address", addrs[0],
		"--gateway-bind-address", addrs[1],
		"--metrics-bind-address", addrs[2],
		"--health-probe-bind-address", addrs[3],
		"--issuer", e.issuer,
		"--gateway-url", r.gatewayURL,
		"--leader-elect",
	}
	if o.profileDir != "" {
		r.pprofURL = "http://" + addrs[4]
		args = append(args, "--pprof-bind-address", addrs[4])
	}
	args = append(args, e.tlsArgs...)
	args = append(args, extra...)
	args = append(args, o.managerArgs...)
	if r.manager, err = startProcess(e.dir, name, o.manager, args...); err != nil {
		return nil, err
	}
	if err := waitHTTP(ctx, e.client, r.manager, "http://"+addrs[3]+"/readyz", 200, 90*time.Second); err != nil {
		r.manager.stop(20 * time.Second)
		return nil, fmt.Errorf("%s not ready: %w", name, err)
	}
	return r, nil
}

// stop stops the replica's manager; a nil replica, or one stopped before,
// is left as it is.
func (r *replica) stop() {
	if r != nil {
		r.manager.stop(20 * time.Second)
	}
}

// managerKubeconfig applies config/rbac and config/flowcontrol (the
// deployment's RBAC and its Lease FlowSchema) and returns a kubeconfig that
// authenticates as the manager's ServiceAccount.
func (e *env) managerKubeconfig() (string, error) {
	kubectl := filepath.Join(e.root, "bin", "k8s", "kubectl")
	for _, dir := range []string{"rbac", "flowcontrol"} {
		out, err := exec.Command(kubectl, "--kubeconfig", e.cluster.Kubeconfig, "apply", "--server-side", "-k", filepath.Join(e.root, "config", dir)).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("kubectl apply -k config/%s: %w: %s", dir, err, strings.TrimSpace(string(out)))
		}
	}
	user, err := e.cluster.Env.AddUser(envtest.User{
		Name:   managerIdentity,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + operatorNamespace, "system:authenticated"},
	}, nil)
	if err != nil {
		return "", fmt.Errorf("create the manager's identity: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("kubeconfig of the manager's identity: %w", err)
	}
	path := filepath.Join(e.dir, "manager.kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("write the manager's kubeconfig: %w", err)
	}
	return path, nil
}

// stop stops the manager and the control plane; once stopped, it does nothing.
func (e *env) stop() {
	if e.manager != nil {
		e.manager.stop(20 * time.Second)
		e.manager = nil
	}
	if e.cluster != nil {
		if err := e.cluster.Stop(); err != nil {
			say("stop control plane: %v", err)
		}
		e.cluster = nil
	}
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
