// Command loadtest is scopegate's in-process load test: the quick check,
// with no control plane, no built binary and no Kubernetes, that the token
// server and the gateway as the manager wires them hold up under
// concurrent keep-alive load. It starts, in one process and only on
// 127.0.0.1, a backend, a plain httputil.ReverseProxy to it, the token
// server (memory keys and revocations) and the gateway in front of the
// same backend, then drives each with the one load generator (hack/loadgen)
// for a bounded number of requests and time. Its tests run these targets
// in `make test`. The figures that count are `make bench`'s (hack/bench:
// the built manager on a control plane against baselines, each its own
// process); this one adds the gateway with a new token per request
// (-fresh-tokens, the cold verification path).
//
// Speed is reported only as ratios against a baseline measured in the same
// run: the gateway against the plain proxy, the token endpoint against a
// trivial handler on the same server that reads the form and answers fixed
// JSON. The exit status is non-zero only for a broken setup (a target that
// answered non-2xx beyond a tiny fraction), never for a slow one.
//
//	go run ./hack/loadtest [-c 16] [-n 20000] [-warmup 1000] [-max-duration 30s] [-rounds 4] [-fresh-tokens] [-json]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/go-logr/logr/funcr"
)

// Bounds on the flags, so that a run always ends by itself.
const (
	maxRequests    = 1_000_000
	maxFreshTokens = 200_000
	maxConcurrency = 1024
	maxDuration    = 10 * time.Minute
	maxRounds      = 100
)

// options are the parsed flags.
type options struct {
	load             Load
	rounds           int
	freshTokens      bool
	json             bool
	maxErrorFraction float64
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command: 0 on success, 1 when a target is broken, 2 on bad
// flags or a setup failure.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	log := funcr.New(func(prefix, args string) { fmt.Fprintln(stderr, prefix, args) }, funcr.Options{}).WithName("loadtest")

	env, err := Start()
	if err != nil {
		log.Error(err, "Cannot start the servers")
		return 2
	}
	defer env.Close()

	fresh := 0
	if opts.freshTokens {
		fresh = opts.load.Warmup + opts.load.Requests
		log.Info("Signing fresh tokens before measuring", "count", fresh)
	}
	targets, err := env.Targets(ctx, fresh)
	if err != nil {
		log.Error(err, "Cannot prepare the targets")
		return 2
	}
	results := MeasureAll(ctx, log, targets, opts.load, opts.rounds)
	for _, r := range results {
		if r.Requests < opts.load.Requests {
			log.Info("Stopped before -n by -max-duration or an interrupt", "target", r.Target, "requests", r.Requests)
		}
	}
	bad := broken(results, opts.maxErrorFraction)

	table := stdout
	if opts.json {
		// The JSON document alone goes to stdout, so it can be piped.
		table = stderr
		if err := printJSON(stdout, report{Load: opts.load, Rounds: opts.rounds, Fresh: opts.freshTokens, Results: results, Broken: bad}); err != nil {
			log.Error(err, "Cannot write the JSON report")
			return 2
		}
	}
	if err := printTable(table, results); err != nil {
		log.Error(err, "Cannot write the table")
		return 2
	}
	for _, b := range bad {
		fmt.Fprintln(stderr, "loadtest: broken target:", b)
	}
	if len(bad) > 0 {
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.load.Concurrency, "c", 16, "concurrent keep-alive clients per target")
	fs.IntVar(&o.load.Requests, "n", 20000, "measured requests per target")
	fs.IntVar(&o.load.Warmup, "warmup", 1000, "unmeasured warm-up requests per target")
	fs.DurationVar(&o.load.MaxDuration, "max-duration", 30*time.Second, "upper bound on each target's measured phase (and on its warm-up)")
	fs.IntVar(&o.rounds, "rounds", 4, "split each target's requests into this many rounds, alternating the targets' order, so that baselines and targets share the machine's drifting background load")
	fs.BoolVar(&o.freshTokens, "fresh-tokens", false, "also load the gateway with a new token per request (the cold verification path)")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON on stdout (the table goes to stderr)")
	fs.Float64Var(&o.maxErrorFraction, "max-error-fraction", 0.001, "fraction of failed requests above which a target counts as broken (exit 1)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	l := o.load
	switch {
	case l.Concurrency < 1 || l.Concurrency > maxConcurrency:
		return o, fmt.Errorf("-c must be between 1 and %d", maxConcurrency)
	case l.Requests < 1 || l.Requests > maxRequests:
		return o, fmt.Errorf("-n must be between 1 and %d", maxRequests)
	case l.Warmup < 0 || l.Warmup > maxRequests:
		return o, fmt.Errorf("-warmup must be between 0 and %d", maxRequests)
	case l.MaxDuration <= 0 || l.MaxDuration > maxDuration:
		return o, fmt.Errorf("-max-duration must be positive and at most %s", maxDuration)
	case o.rounds < 1 || o.rounds > min(l.Requests, maxRounds):
		return o, fmt.Errorf("-rounds must be between 1 and min(-n, %d)", maxRounds)
	case o.freshTokens && l.Requests+l.Warmup > maxFreshTokens:
		return o, fmt.Errorf("-fresh-tokens signs -n plus -warmup tokens up front: at most %d", maxFreshTokens)
	case o.maxErrorFraction < 0 || o.maxErrorFraction >= 1:
		return o, fmt.Errorf("-max-error-fraction must be in [0, 1)")
	}
	return o, nil
}
