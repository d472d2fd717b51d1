package main

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
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
	client := newClient(l.Concurrency)
	defer client.CloseIdleConnections()
	if l.Warmup > 0 {
		drive(ctx, client, t, l.Warmup, l.Concurrency, l.MaxDuration)
	}
	samples, elapsed := drive(ctx, client, t, l.Requests, l.Concurrency, l.MaxDuration)
	return summarize(t, samples, elapsed)
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
