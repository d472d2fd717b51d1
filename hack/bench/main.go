// Command bench is scopegate's external benchmark harness (`make bench`).
// Every figure comes from separate processes on this machine, talking over
// 127.0.0.1 only:
//
//   - the built manager (bin/scopegate), started exactly as a user starts
//     it: its own process on a local control plane (etcd and kube-apiserver
//     from bin/k8s), signing keys and revocations in the API server, the
//     deployment's RBAC, default flags except loopback addresses;
//   - the baselines (hack/bench/baselines): a no-op Go HTTP server, a
//     minimal stdlib ES256 issuer, a plain httputil.ReverseProxy, a tuned
//     one (buffer pool, 256 idle upstream connections per host, HTTP/1.1 to
//     the upstream) and the upstream itself, each its own process; and
//     nginx (-nginx; hack/install-nginx.sh installs the Debian package),
//     started by the harness in the foreground with a generated
//     configuration in a directory of its own (proxy_pass with upstream
//     keepalive 64, no auth; the TLS round serves the same certificate);
//     without nginx its row is reported as not measured;
//   - the load generator (hack/bench/loadgen), its own process: the one
//     load generator of hack/loadgen (keep-alive workers, alternating
//     rounds) run on a plan.Plan, per-round figures.
//
// Besides the plain token request and proxied GET, the HTTP rounds measure
// what issues 19, 20, 23 and 24 ask of them, each against its baseline in the
// same rounds: the token endpoint and the gateway with a DPoP proof signed
// afresh for every request (hack/bench/dpopproof; the issuer baseline then
// verifies one proof too), the gateway of a second manager whose rate
// limits are in a redis-server on loopback (-redis-server; skipped when
// there is none), and JSON-RPC through MCP routes with and without 50 tool
// rules (hack/bench/mcpfixture; the upstream answers MCP), and a chat
// completion, whole and streamed (time to first byte), through an LLM route
// and through the plain proxy to the same stand-in model provider
// (internal/llm/llmtest, served by the upstream).
//
// The token endpoint and gateway are measured twice in one run: in clear
// (--tls-mode=off), then with TLS on: a throwaway CA and a serving
// certificate for 127.0.0.1 (hack/bench/pki) served by the manager
// (--tls-mode=files) and by every baseline alike, the load generator
// trusting that CA, HTTP/1.1 keep-alive over TLS on both sides of every
// ratio. The backend behind the gateway and the plain proxy stays plain
// HTTP for both.
//
// Speed is reported as ratios to the baselines measured in the same run, as
// medians over the rounds with their min–max. The controller-scale part
// creates N OAuthClients with token Secrets at once on a fresh control
// plane and reports the time until all are Ready, the API requests per
// client by verb, peak RSS, idle CPU, and the plain-client floor: the time a
// client-go program with 16 workers needs to create the same number of
// Secrets, in the same run. Two manager replicas elect a leader there, as
// the deployment's do (-scale-replicas); the harness reports whether the
// leader kept the Lease through the burst, the second replica's RSS and
// idle figures, and the writes other than to Leases that the API server
// served while all was idle.
//
//	go run ./hack/bench [-clients 100,1000,10000] [-routes 1000] [-route-clients 1000] [-tls both|off|on] [-rounds 5] [-round 4s] [-c 16] [-redis-server redis-server] [-nginx nginx] [-out docs/benchmarks.md] [-json docs/benchmarks.json]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/scopegate/scopegate/internal/testenv"
)

type options struct {
	root, workDir string
	manager       string
	baselines     string
	loadgen       string
	managerArgs   []string
	// tls is which HTTP rounds run: off (clear only), on (TLS only) or
	// both. offArgs is --tls-mode=off when the manager knows the flag: the
	// clear round and the controller-scale runs serve plain HTTP.
	tls     string
	offArgs []string

	clients      []int
	idle         time.Duration
	scaleTimeout time.Duration
	// scaleReplicas is how many managers each controller-scale run starts:
	// 2 elect a leader as the deployment's replicas do, 1 runs one manager
	// without leader election.
	scaleReplicas int
	// failover is how the controller-scale runs end the leader once
	// idle: term (SIGTERM, as a rollout) or kill (SIGKILL).
	failover  string
	skipScale bool
	skipHTTP  bool

	// routes GatewayRoutes among routeClients OAuthClients in the route
	// scale run (-routes 0 skips it).
	routes, routeClients int

	// redisServer is the redis-server binary for the Redis-backed limits;
	// empty (or not found) leaves them out.
	redisServer string
	// nginx is the nginx binary of the gateway's nginx baseline; empty
	// (or not found) leaves it out, said in one line.
	nginx string
	// What the manager under test can do, from its --help: an older build
	// (-manager) is measured without the targets it has no feature for.
	features managerFeatures

	concurrency int
	rounds      int
	round       time.Duration
	warmup      time.Duration
	maxRequests int
	// targets, when set, limits the HTTP rounds to these targets and the
	// baselines they are compared with (-targets).
	targets []string

	// profileDir, when set, receives CPU and allocation profiles of the
	// manager under the HTTP load (it is started with --pprof-bind-address).
	profileDir string

	// revocations is the number of tokens the revocation run revokes
	// (issue 22); 0 skips it (revocations.go).
	revocations int
	// largeClients and largeRoutes are the large registry of the HTTP
	// run (issue 22); 0 clients leaves it out (large.go).
	largeClients, largeRoutes int
	// largeRounds is how many rounds the large registry's own pass runs.
	largeRounds int

	outMD, outJSON string
	keep           bool
	note           string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags() (*options, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	o := &options{root: root}
	var clients, managerArgs string
	flag.StringVar(&o.manager, "manager", filepath.Join(root, "bin", "scopegate"), "The manager binary under test (make build).")
	flag.StringVar(&managerArgs, "manager-args", "", "Extra manager flags, space-separated.")
	flag.StringVar(&o.tls, "tls", "both", "HTTP rounds: off (plain HTTP), on (TLS: the manager with --tls-mode=files, baselines serving the same certificate) or both.")
	flag.StringVar(&clients, "clients", "100,1000,10000", "Comma-separated numbers of OAuthClients for the controller-scale runs; empty skips them.")
	flag.IntVar(&o.routes, "routes", 1000, "GatewayRoutes created at once in the route-scale run, which runs with the controller-scale runs (-clients \"\" skips it unless -routes is given); 0 skips it.")
	flag.IntVar(&o.routeClients, "route-clients", 1000, "OAuthClients (Ready before) among which the route-scale run creates its routes.")
	flag.DurationVar(&o.idle, "idle", 60*time.Second, "Idle window after convergence of the largest scale run (the others use a third of it).")
	flag.DurationVar(&o.scaleTimeout, "scale-timeout", 10*time.Minute, "Upper bound on one scale run's wait for Ready.")
	flag.StringVar(&o.failover, "failover", "term", "How the controller-scale runs with 2 replicas end the leader once idle, to measure the failover: term (SIGTERM, as a rollout does; it gives the Lease up) or kill (SIGKILL, as a failed node; the Lease must expire).")
	flag.IntVar(&o.scaleReplicas, "scale-replicas", 2, "Manager replicas of each controller-scale run: 2 elect a leader as the deployment's do (the second starts once the first holds the Lease), 1 runs a single manager without leader election.")
	flag.BoolVar(&o.skipHTTP, "skip-http", false, "Skip the token endpoint and gateway measurements.")
	flag.StringVar(&o.redisServer, "redis-server", "redis-server", "redis-server binary (looked up in PATH) for the gateway with Redis-backed rate limits; empty or not found: not measured.")
	flag.StringVar(&o.nginx, "nginx", "nginx", "nginx binary (looked up in PATH) of the gateway's nginx baseline (hack/install-nginx.sh installs the Debian package); empty or not found: not measured.")
	flag.IntVar(&o.concurrency, "c", 16, "Keep-alive workers of the load generator.")
	flag.IntVar(&o.rounds, "rounds", 5, "Alternating rounds per target.")
	flag.DurationVar(&o.round, "round", 4*time.Second, "Length of one round of one target.")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "Unmeasured warm-up per target.")
	flag.IntVar(&o.maxRequests, "max-requests", 500_000, "Upper bound on the requests of one round.")
	var targets string
	flag.StringVar(&targets, "targets", "", "Comma-separated HTTP targets to measure (e.g. scopegate-gateway-dpop); their baselines are measured too. Empty: all.")
	flag.StringVar(&o.outMD, "out", filepath.Join(root, "docs", "benchmarks.md"), "Markdown report to write; empty: stdout only.")
	flag.StringVar(&o.outJSON, "json", filepath.Join(root, "docs", "benchmarks.json"), "JSON report to write; empty: none.")
	flag.StringVar(&o.note, "note", "", "A sentence for the report about what else ran on the machine.")
	flag.StringVar(&o.profileDir, "profile", "", "Write CPU and allocation profiles of the manager under the HTTP load into this directory.")
	flag.IntVar(&o.revocations, "revocations", 10000, "Tokens revoked in the revocation run (two replicas; 0 skips it).")
	flag.IntVar(&o.largeClients, "large-clients", 10000, "OAuthClients of the large registry whose token endpoint and gateway the HTTP run measures beside the 1-client ones; 0 leaves it out.")
	flag.IntVar(&o.largeRoutes, "large-routes", 1000, "GatewayRoutes of the large registry.")
	flag.IntVar(&o.largeRounds, "large-rounds", 7, "Alternating rounds of the large registry's own pass (its targets and their 1-client counterparts).")
	flag.BoolVar(&o.keep, "keep", false, "Keep the work directory (logs, kubeconfigs).")
	flag.Parse()
	if flag.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	for _, s := range strings.Split(clients, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			return nil, fmt.Errorf("-clients: %q is not a number between 1 and 10000", s)
		}
		o.clients = append(o.clients, n)
	}
	o.skipScale = len(o.clients) == 0
	if o.skipScale && !flagGiven("routes") {
		o.routes = 0 // a targeted HTTP run (-clients "") stays one
	}
	for _, t := range strings.Split(targets, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if _, ok := targetWhat[t]; !ok {
			return nil, fmt.Errorf("-targets: unknown target %q", t)
		}
		o.targets = append(o.targets, t)
	}
	if managerArgs = strings.TrimSpace(managerArgs); managerArgs != "" {
		o.managerArgs = strings.Fields(managerArgs)
	}
	switch {
	case o.concurrency < 1 || o.concurrency > 256:
		return nil, fmt.Errorf("-c must be between 1 and 256")
	case o.rounds < 1 || o.rounds > 20:
		return nil, fmt.Errorf("-rounds must be between 1 and 20")
	case o.round <= 0 || o.round > time.Minute:
		return nil, fmt.Errorf("-round must be positive and at most 1m")
	case o.idle < time.Second || o.idle > 5*time.Minute:
		return nil, fmt.Errorf("-idle must be between 1s and 5m")
	case o.scaleReplicas < 1 || o.scaleReplicas > 2:
		return nil, fmt.Errorf("-scale-replicas must be 1 or 2")
	case o.failover != "term" && o.failover != "kill":
		return nil, fmt.Errorf("-failover must be term or kill")
	case o.routes < 0 || o.routes > 10000 || o.routeClients < 1 || o.routeClients > 10000:
		return nil, fmt.Errorf("-routes must be between 0 and 10000, -route-clients between 1 and 10000")
	case o.revocations < 0 || o.revocations > 100_000:
		return nil, fmt.Errorf("-revocations must be between 0 and 100000")
	case o.largeClients < 0 || o.largeClients > 100_000 || o.largeRoutes < 0 || o.largeRoutes > 10_000:
		return nil, fmt.Errorf("-large-clients must be between 0 and 100000, -large-routes between 0 and 10000")
	case o.maxRequests < 1 || o.maxRequests > 5_000_000:
		return nil, fmt.Errorf("-max-requests must be between 1 and 5000000")
	}
	return o, nil
}

func run(ctx context.Context) error {
	// envtest logs through controller-runtime's logger; the harness's own
	// lines are its output, the control plane's chatter is not.
	ctrllog.SetLogger(logr.Discard())
	o, err := parseFlags()
	if err != nil {
		return err
	}
	if _, err := os.Stat(o.manager); err != nil {
		return fmt.Errorf("manager binary %s: run `make build` first: %w", o.manager, err)
	}
	if o.workDir, err = os.MkdirTemp("", "scopegate-bench-"); err != nil {
		return err
	}
	if o.keep {
		say("Work directory (kept): %s", o.workDir)
	} else {
		defer os.RemoveAll(o.workDir)
	}
	if err := o.resolveTLS(); err != nil {
		return err
	}
	rep := &Report{
		Date:      time.Now().UTC().Format(time.RFC3339),
		GoVersion: runtime.Version(),
		Machine:   machine(),
		Manager:   relative(o.root, o.manager),
		Commit:    gitCommit(o.root),
		Command:   commandLine(),
		Note:      o.note,
		TLS:       o.tls,
		LoadStart: loadAverage(),
	}
	if !o.skipHTTP {
		if err := o.buildHelpers(ctx); err != nil {
			return err
		}
		if o.tls != "on" {
			h, err := runHTTP(ctx, o, false)
			if err != nil {
				return fmt.Errorf("HTTP measurements: %w", err)
			}
			rep.HTTP = h
		}
		if o.tls != "off" {
			h, err := runHTTP(ctx, o, true)
			if err != nil {
				return fmt.Errorf("HTTPS measurements: %w", err)
			}
			rep.HTTPS = h
		}
	}
	if o.revocations > 0 {
		r, err := runRevocations(ctx, o, o.revocations, o.idle/3)
		if err != nil {
			return fmt.Errorf("revocations: %w", err)
		}
		rep.Revocations = r
	}
	for i, n := range o.clients {
		idle := o.idle / 3
		if i == len(o.clients)-1 {
			idle = o.idle
		}
		r, err := runScale(ctx, o, n, idle)
		if err != nil {
			return fmt.Errorf("controller scale with %d clients: %w", n, err)
		}
		rep.Scale = append(rep.Scale, r)
	}
	if o.routes > 0 {
		r, err := runRoutes(ctx, o, o.routes, o.routeClients, o.idle/3)
		if err != nil {
			return fmt.Errorf("route scale with %d routes: %w", o.routes, err)
		}
		rep.Routes = r
	}
	rep.LoadEnd = loadAverage()
	return rep.write(o)
}

// buildHelpers builds the baselines and the load generator into the work
// directory, so that they run as plain processes (not under `go run`).
func (o *options) buildHelpers(ctx context.Context) error {
	o.baselines = filepath.Join(o.workDir, "baselines")
	o.loadgen = filepath.Join(o.workDir, "loadgen")
	for bin, pkg := range map[string]string{o.baselines: "./hack/bench/baselines", o.loadgen: "./hack/bench/loadgen"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, pkg)
		cmd.Dir = o.root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %w: %s", pkg, err, out)
		}
	}
	return nil
}

// resolveTLS checks -tls against the manager: a manager without
// --tls-mode (before the TLS work) serves plain HTTP, gets no argument, and
// cannot be measured with TLS.
func (o *options) resolveTLS() error {
	switch o.tls {
	case "off", "on", "both":
	default:
		return fmt.Errorf("-tls %q: want off, on or both", o.tls)
	}
	out, _ := exec.Command(o.manager, "--help").CombinedOutput()
	o.features = featuresOf(string(out))
	o.features.llm = managerHasLLM(o.manager)
	switch has := strings.Contains(string(out), "-tls-mode"); {
	case has:
		o.offArgs = []string{"--tls-mode=off"}
	case o.tls != "off":
		return fmt.Errorf("-tls %s: the manager %s has no --tls-mode flag; use -tls off", o.tls, o.manager)
	}
	return nil
}

// managerFeatures are the features of issues 19, 23 and 24 that the manager
// under test has, each known by a flag that came with it.
type managerFeatures struct {
	dpop, redisStore, itemRules bool
	// llm (issue 20) came without a flag: managerHasLLM looks in the
	// binary.
	llm bool
}

func featuresOf(help string) managerFeatures {
	return managerFeatures{
		dpop:       strings.Contains(help, "-dpop-require-nonce"),
		redisStore: strings.Contains(help, "-rate-limit-store"),
		itemRules:  strings.Contains(help, "-gateway-max-inspect-bytes"),
	}
}

// flagGiven reports whether the flag was set on the command line.
func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// commandLine is how the harness was started, as one would type it.
func commandLine() string {
	parts := []string{"go run ./hack/bench"}
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " '\"") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

func relative(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs, %s/%s", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}

func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
