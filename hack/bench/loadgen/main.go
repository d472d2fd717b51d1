// Command loadgen is the load generator process of the benchmark harness: a
// process of its own, so that the load it makes is not measured inside any
// target. It reads a plan.Plan (JSON) from -plan, drives the targets with
// the one load generator (hack/loadgen: keep-alive workers, loopback only,
// HTTP/1.1, over TLS for https) in alternating rounds bounded in time and
// requests, and writes a plan.Result (JSON) to -out. A target with dpop gets
// a freshly signed DPoP proof on every request (hack/bench/dpopproof). With
// -ca-file it trusts that CA (and no other) for https targets.
//
//	loadgen -plan plan.json -out result.json [-ca-file ca.crt]
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/scopegate/scopegate/hack/bench/dpopproof"
	"github.com/scopegate/scopegate/hack/bench/pki"
	"github.com/scopegate/scopegate/hack/bench/plan"
	"github.com/scopegate/scopegate/hack/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// Bounds, so that a run always ends by itself.
const (
	maxConcurrency = 256
	maxRound       = time.Minute
	maxRounds      = 20
	maxRequests    = 5_000_000
)

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	planPath := fs.String("plan", "", "The plan (JSON).")
	out := fs.String("out", "", "Where to write the result (JSON); empty: stdout.")
	caFile := fs.String("ca-file", "", "PEM CA that https targets are verified against (the only root trusted).")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var tlsConfig *tls.Config
	if *caFile != "" {
		var err error
		if tlsConfig, err = pki.ClientConfig(*caFile); err != nil {
			return err
		}
	}
	p, err := readPlan(*planPath)
	if err != nil {
		return err
	}
	meters := make([]*loadgen.Meter, len(p.Targets))
	concurrency := make([]int, len(p.Targets))
	for i, t := range p.Targets {
		concurrency[i] = t.Concurrency
		if concurrency[i] == 0 {
			concurrency[i] = p.Concurrency
		}
		build := loadgen.Fixed(t.Method, t.URL, t.Headers, t.Body)
		if t.DPoP != nil {
			signer, err := dpopproof.ReadKey(t.DPoP.KeyFile)
			if err != nil {
				return fmt.Errorf("target %s: %w", t.Name, err)
			}
			build = loadgen.Hooked(build, signer.Hook(t.DPoP.HTU))
		}
		meters[i] = loadgen.NewMeter(loadgen.Target{
			Name:       t.Name,
			NewRequest: build,
			FirstByte:  t.FirstByte,
		}, concurrency[i], tlsConfig)
		defer meters[i].Close()
	}
	if p.Warmup > 0 {
		for i, m := range meters {
			m.Drive(ctx, concurrency[i], p.MaxRequests, p.Warmup)
		}
	}
	res := plan.Result{Targets: make([]plan.TargetResult, len(meters))}
	// A target whose processes could not be read in some round reports no
	// CPU time at all.
	cpuFailed := make([]bool, len(meters))
	loadgen.Alternate(ctx, p.Rounds, len(meters), func(r, i int) {
		pids := p.Targets[i].PIDs
		cpu0, cpuErr := loadgen.ProcessesCPU(pids)
		s := meters[i].Drive(ctx, concurrency[i], p.MaxRequests, p.Round).Stats()
		res.Targets[i].Rounds = append(res.Targets[i].Rounds, s)
		if len(pids) > 0 {
			cpu1, err := loadgen.ProcessesCPU(pids)
			if err = errors.Join(cpuErr, err); err != nil {
				fmt.Fprintf(stderr, "loadgen: CPU time of %s: %v\n", meters[i].Target.Name, err)
				cpuFailed[i] = true
			}
			res.Targets[i].CPUSeconds = append(res.Targets[i].CPUSeconds, (cpu1 - cpu0).Seconds())
		}
		fmt.Fprintf(stderr, "loadgen: round %d %s: %.0f req/s\n", r+1, meters[i].Target.Name, s.RPS)
	})
	if err := ctx.Err(); err != nil {
		return err
	}
	for i, m := range meters {
		res.Targets[i].Name, res.Targets[i].Proto = m.Target.Name, m.Proto()
		if cpuFailed[i] {
			res.Targets[i].CPUSeconds = nil
		}
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if *out == "" {
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// readPlan reads and checks the plan at path.
func readPlan(path string) (plan.Plan, error) {
	var p plan.Plan
	raw, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("read plan: %w", err)
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("decode plan: %w", err)
	}
	switch {
	case p.Concurrency < 1 || p.Concurrency > maxConcurrency:
		return p, fmt.Errorf("concurrency must be between 1 and %d", maxConcurrency)
	case p.Rounds < 1 || p.Rounds > maxRounds:
		return p, fmt.Errorf("rounds must be between 1 and %d", maxRounds)
	case p.Round <= 0 || p.Round > maxRound || p.Warmup < 0 || p.Warmup > maxRound:
		return p, fmt.Errorf("round and warmup must be at most %s", maxRound)
	case p.MaxRequests < 1 || p.MaxRequests > maxRequests:
		return p, fmt.Errorf("max_requests must be between 1 and %d", maxRequests)
	case len(p.Targets) == 0:
		return p, errors.New("no targets")
	}
	for _, t := range p.Targets {
		if t.Concurrency < 0 || t.Concurrency > maxConcurrency {
			return p, fmt.Errorf("target %s: concurrency must be between 0 and %d", t.Name, maxConcurrency)
		}
		if t.DPoP != nil && (t.DPoP.KeyFile == "" || t.DPoP.HTU == "") {
			return p, fmt.Errorf("target %s: dpop needs key_file and htu", t.Name)
		}
	}
	return p, nil
}
