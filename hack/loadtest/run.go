package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
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

// sample is what one client saw.
type sample struct {
	latencies       []time.Duration
	statuses        map[int]int
	transportErrors int
}

// Measure warms t up, then drives it with l.Concurrency clients until
// l.Requests have been answered or l.MaxDuration has passed, whichever is
// first. Requests cut off by the time bound are not counted.
func Measure(ctx context.Context, t *Target, l Load) *Result {
	return MeasureAll(ctx, logr.Discard(), []*Target{t}, l, 1)[0]
}

// meter is one target's keep-alive client and what it measured so far.
type meter struct {
	target  *Target
	client  *http.Client
	samples []*sample
	elapsed time.Duration
}

// MeasureAll warms every target up, then measures them in rounds, each
// round sending a share of l.Requests to every target in turn, in reverse
// order every other round (A B B A). A baseline and its targets thus run
// side by side throughout, so that other load on the machine, which drifts,
// weighs on both alike and the ratios stay meaningful. Each target's
// measured phase is bounded by l.MaxDuration in total. The results carry
// the ratios to their baselines.
func MeasureAll(ctx context.Context, log logr.Logger, targets []*Target, l Load, rounds int) []*Result {
	meters := make([]*meter, len(targets))
	for i, t := range targets {
		meters[i] = &meter{target: t, client: newClient(l.Concurrency)}
		defer meters[i].client.CloseIdleConnections()
	}
	for _, m := range meters {
		if l.Warmup > 0 && ctx.Err() == nil {
			log.Info("Warming up", "target", m.target.Name, "requests", l.Warmup)
			drive(ctx, m.client, m.target, l.Warmup, l.Concurrency, l.MaxDuration)
		}
	}
	for r := range rounds {
		n := l.Requests / rounds
		if r < l.Requests%rounds {
			n++
		}
		log.Info("Measuring", "round", r+1, "of", rounds, "requestsPerTarget", n, "concurrency", l.Concurrency)
		order := slices.Clone(meters)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, m := range order {
			// The time left is spread over the remaining rounds, so that a
			// slow run still interleaves.
			budget := (l.MaxDuration - m.elapsed) / time.Duration(rounds-r)
			if n == 0 || budget <= 0 || ctx.Err() != nil {
				continue
			}
			s, took := drive(ctx, m.client, m.target, n, l.Concurrency, budget)
			m.samples = append(m.samples, s...)
			m.elapsed += took
		}
	}
	results := make([]*Result, len(meters))
	for i, m := range meters {
		results[i] = summarize(m.target, m.samples, m.elapsed)
	}
	compare(results)
	return results
}

// drive sends up to n requests from c concurrent clients, stopping early at
// maxDuration or when ctx ends.
func drive(ctx context.Context, client *http.Client, t *Target, n, c int, maxDuration time.Duration) ([]*sample, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, maxDuration)
	defer cancel()
	var next atomic.Int64
	samples := make([]*sample, c)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range c {
		s := &sample{latencies: make([]time.Duration, 0, n/c+1), statuses: map[int]int{}}
		samples[w] = s
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				once(ctx, client, t, s)
			}
		})
	}
	wg.Wait()
	return samples, time.Since(start)
}

// once sends one request and records its outcome in s.
func once(ctx context.Context, client *http.Client, t *Target, s *sample) {
	req, err := t.NewRequest(ctx)
	if err != nil {
		s.transportErrors++
		return
	}
	began := time.Now()
	res, err := client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, res.Body)
		_ = res.Body.Close()
	}
	took := time.Since(began)
	switch {
	case ctx.Err() != nil:
		// Cut off by the time bound: neither a success nor a failure.
	case err != nil:
		s.transportErrors++
	default:
		s.statuses[res.StatusCode]++
		s.latencies = append(s.latencies, took)
	}
}

// newClient is a keep-alive client with one idle connection per concurrent
// caller, no proxy, no compression, and a dialer that only reaches
// loopback addresses.
func newClient(c int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialLoopback,
			MaxIdleConns:        c,
			MaxIdleConnsPerHost: c,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
