// Command devcluster is what `make run` runs: with no cluster given it starts
// a local control plane (etcd and kube-apiserver built by hack/build-k8s.sh)
// whose etcd data stays under bin/dev, installs the CRDs, creates the
// scopegate-system namespace, applies config/samples once, starts a small
// echo backend for the sample GatewayRoute echo, a small MCP server for
// the sample GatewayRoute notes and a stand-in LLM provider (no model) for
// the sample GatewayRoute models, and runs the manager in the
// foreground. With KUBECONFIG or --kubeconfig it runs the manager against
// that cluster and starts no control plane. SIGINT or SIGTERM stops
// everything it started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/scopegate/scopegate/internal/devcluster"
	"github.com/scopegate/scopegate/internal/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "devcluster:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	manager := flag.String("manager", filepath.Join(root, "bin", "scopegate"), "The scopegate binary to run.")
	dir := flag.String("dir", filepath.Join(root, "bin", "dev"), "Where the local control plane keeps its etcd data and kubeconfig.")
	samples := flag.String("samples", filepath.Join(root, "config", "samples"), "Manifests applied (created when absent) on the local control plane.")
	echo := flag.String("echo-address", "127.0.0.1:3001", "Address of the echo backend behind the sample GatewayRoute; empty disables it.")
	mcp := flag.String("mcp-address", "127.0.0.1:3002", "Address of the MCP notes backend behind the sample GatewayRoute notes; empty disables it.")
	llm := flag.String("llm-address", "127.0.0.1:3003", "Address of the stand-in LLM provider behind the sample GatewayRoute models; empty disables it.")
	flag.Parse()
	managerArgs := flag.Args()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	kubeconfig := os.Getenv("KUBECONFIG")
	for i, a := range managerArgs {
		if v, ok := strings.CutPrefix(a, "--kubeconfig="); ok {
			kubeconfig = v
		} else if a == "--kubeconfig" && i+1 < len(managerArgs) {
			kubeconfig = managerArgs[i+1]
		}
	}
	if kubeconfig != "" {
		say("Using the cluster of %s; starting no control plane", kubeconfig)
		return runManager(ctx, *manager, managerArgs, kubeconfig, backends{}, *dir)
	}

	say("Starting a local control plane (etcd data in %s)", filepath.Join(*dir, "etcd"))
	cluster, err := devcluster.Start(ctx, devcluster.Options{Dir: *dir, Namespaces: []string{"scopegate-system"}})
	if err != nil {
		return err
	}
	defer func() {
		say("Stopping the local control plane")
		if err := cluster.Stop(); err != nil {
			say("stop control plane: %v", err)
		}
	}()
	if err := applySamples(ctx, cluster, *samples); err != nil {
		return err
	}
	if *echo != "" {
		srv, err := startEcho(*echo)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	if *mcp != "" {
		srv, err := startNotesMCP(*mcp)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	if *llm != "" {
		srv, err := startStandInLLM(*llm)
		if err != nil {
			return err
		}
		defer srv.Close()
	}
	return runManager(ctx, *manager, append([]string{"--kubeconfig", cluster.Kubeconfig}, managerArgs...), cluster.Kubeconfig, backends{*echo, *mcp, *llm}, *dir)
}

// runManager runs the manager until it exits or ctx ends, then stops it with
// SIGTERM (and SIGKILL after 20 s).
// backends are the addresses of the sample backends make run started ("":
// none).
type backends struct{ echo, mcp, llm string }

func runManager(ctx context.Context, bin string, args []string, kubeconfig string, be backends, dir string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 20 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start manager %s: %w", bin, err)
	}
	go banner(ctx, args, kubeconfig, be, filepath.Join(dir, "ca.crt"))
	err := cmd.Wait()
	// Ctrl-C reaches the manager too (one process group): it may have
	// stopped before this process saw the signal. Give the signal a moment.
	select {
	case <-ctx.Done():
		return nil // stopped by a signal, as asked
	case <-time.After(2 * time.Second):
	}
	if err == nil {
		return nil // the manager stopped cleanly on its own
	}
	return fmt.Errorf("manager exited: %w", err)
}

// banner prints where everything is once the manager answers /readyz. With
// TLS on (the default, --tls-mode=auto) it first writes the manager's CA
// bundle to caFile, keeps it current while the manager runs, and the curl
// it prints verifies the token server with it.
func banner(ctx context.Context, args []string, kubeconfig string, be backends, caFile string) {
	oauth, gateway, probes := flagValue(args, "oauth-bind-address", ":8080"), flagValue(args, "gateway-bind-address", ":8000"), flagValue(args, "health-probe-bind-address", ":8081")
	mode := flagValue(args, "tls-mode", "auto")
	scheme := "https"
	if mode == "off" {
		scheme = "http"
	}
	issuer := flagValue(args, "issuer", scheme+"://localhost"+port(oauth))
	gatewayURL := flagValue(args, "gateway-url", scheme+"://localhost"+port(gateway))
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://127.0.0.1" + port(probes) + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	cacert := ""
	if mode == "auto" {
		if err := writeCA(ctx, kubeconfig, caFile); err != nil {
			say("cannot write the CA bundle to %s: %v", caFile, err)
		} else {
			cacert = "--cacert " + caFile + " "
			go keepCA(ctx, kubeconfig, caFile)
		}
	}
	// The kubectl that hack/build-k8s.sh built: the banner's command works
	// on a machine with no kubectl of its own.
	kubectlBin := "kubectl"
	if dir, err := testenv.AssetsDir(); err == nil {
		kubectlBin = filepath.Join(dir, "kubectl")
	}
	kubectl := kubectlBin + " --kubeconfig " + kubeconfig
	secret := func(key string) string {
		return fmt.Sprintf(`$(%s -n default get secret demo-agent-credentials -o jsonpath='{.data.%s}' | base64 -d)`, kubectl, key)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n  scopegate is running. Ctrl-C stops everything.\n\n")
	fmt.Fprintf(&b, "  kubeconfig:  %s\n", kubeconfig)
	fmt.Fprintf(&b, "  issuer:      %s   (metadata: %s/.well-known/oauth-authorization-server)\n", issuer, issuer)
	fmt.Fprintf(&b, "  gateway:     %s\n", gatewayURL)
	switch {
	case cacert != "":
		fmt.Fprintf(&b, "  CA bundle:   %s   (scopegate's own CA; curl --cacert, NODE_EXTRA_CA_CERTS=...)\n", caFile)
	case mode == "off":
		fmt.Fprintf(&b, "  TLS:         off (plain HTTP)\n")
	}
	if be.echo != "" {
		fmt.Fprintf(&b, "  echo backend behind %s/mcp/echo: http://%s\n", gatewayURL, be.echo)
	}
	if be.mcp != "" {
		fmt.Fprintf(&b, "  MCP notes backend behind %s/mcp/notes: http://%s\n", gatewayURL, be.mcp)
	}
	if be.llm != "" {
		fmt.Fprintf(&b, "  stand-in LLM provider (no model) behind %s/llm: http://%s\n", gatewayURL, be.llm)
	}
	fmt.Fprintf(&b, "\n  Fetch a token for the sample client:\n\n    curl -s %s-u \"%s:%s\" -d grant_type=client_credentials -d scope=mcp %s/oauth/token\n\n",
		cacert, secret("client_id"), secret("client_secret"), issuer)
	say("%s", b.String())
}

func flagValue(args []string, name, def string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return def
}

func port(addr string) string {
	if _, p, err := net.SplitHostPort(addr); err == nil {
		return ":" + p
	}
	return addr
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[make run] "+format+"\n", args...)
}

var errNoSamples = errors.New("no sample manifests found")
