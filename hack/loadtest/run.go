package main

import (
	"context"
	"time"

	"github.com/go-logr/logr"

	"github.com/scopegate/scopegate/hack/loadgen"
)

// Load is how hard and how long to drive one target.
type Load struct {
	// Concurrency is the number of keep-alive clients, each with one
	// request in flight.
	Concurrency int `json:"concurrency"`
	// Requests bounds the measured requests; Warmup the unmeasured ones
	// sent first on the same connections.
	Requests int `json:"requests"`
	Warmup   int `json:"warmup"`
	// MaxDuration bounds the measured phase and, separately, the warm-up.
	MaxDuration time.Duration `json:"max_duration_ns"`
}

// Measure warms t up, then drives it with l.Concurrency clients until
// l.Requests have been answered or l.MaxDuration has passed, whichever is
// first. Requests cut off by the time bound are not counted.
func Measure(ctx context.Context, t *Target, l Load) *Result {
	return MeasureAll(ctx, logr.Discard(), []*Target{t}, l, 1)[0]
}

// MeasureAll warms every target up, then measures them in rounds, each
// round sending a share of l.Requests to every target in turn, in reverse
// order every other round (loadgen.Alternate). A baseline and its targets
// thus run side by side throughout, so that other load on the machine,
// which drifts, weighs on both alike and the ratios stay meaningful. Each
// target's measured phase is bounded by l.MaxDuration in total. The
// results carry the ratios to their baselines.
func MeasureAll(ctx context.Context, log logr.Logger, targets []*Target, l Load, rounds int) []*Result {
	meters := make([]*loadgen.Meter, len(targets))
	for i, t := range targets {
		meters[i] = loadgen.NewMeter(t.Target, l.Concurrency, nil)
		defer meters[i].Close()
	}
	for _, m := range meters {
		if l.Warmup > 0 && ctx.Err() == nil {
			log.Info("Warming up", "target", m.Target.Name, "requests", l.Warmup)
			m.Drive(ctx, l.Concurrency, l.Warmup, l.MaxDuration)
		}
	}
	measured := make([]loadgen.Phase, len(meters))
	loadgen.Alternate(ctx, rounds, len(meters), func(r, i int) {
		n := l.Requests / rounds
		if r < l.Requests%rounds {
			n++
		}
		// The time left is spread over the remaining rounds, so that a
		// slow run still interleaves.
		budget := (l.MaxDuration - measured[i].Elapsed) / time.Duration(rounds-r)
		if n == 0 || budget <= 0 {
			return
		}
		log.Info("Measuring", "round", r+1, "of", rounds, "target", meters[i].Target.Name, "requests", n, "concurrency", l.Concurrency)
		measured[i].Add(meters[i].Drive(ctx, l.Concurrency, n, budget))
	})
	results := make([]*Result, len(targets))
	for i, t := range targets {
		results[i] = &Result{Target: t.Name, Baseline: t.Baseline, Stats: measured[i].Stats()}
	}
	compare(results)
	return results
}
