package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// Result is one target's measured phase.
type Result struct {
	Target   string `json:"target"`
	Baseline string `json:"baseline,omitempty"`
	// Requests is every answered request plus every transport failure;
	// Errors counts the non-2xx answers and the transport failures.
	Requests        int         `json:"requests"`
	Errors          int         `json:"errors"`
	TransportErrors int         `json:"transport_errors"`
	Statuses        map[int]int `json:"statuses"`
	Seconds         float64     `json:"seconds"`
	RPS             float64     `json:"rps"`
	// Latencies of answered requests, in microseconds.
	P50us float64 `json:"p50_us"`
	P90us float64 `json:"p90_us"`
	P99us float64 `json:"p99_us"`
	// ThroughputRatio is RPS / baseline RPS (below 1: slower than the
	// baseline); P99Ratio is p99 / baseline p99 (above 1: slower). Both are
	// zero for a baseline.
	ThroughputRatio float64 `json:"throughput_ratio,omitempty"`
	P99Ratio        float64 `json:"p99_ratio,omitempty"`

	p50, p90, p99 time.Duration
}

// summarize merges the clients' samples.
func summarize(t *Target, samples []*sample, elapsed time.Duration) *Result {
	r := &Result{Target: t.Name, Baseline: t.Baseline, Statuses: map[int]int{}, Seconds: elapsed.Seconds()}
	var lat []time.Duration
	for _, s := range samples {
		lat = append(lat, s.latencies...)
		r.TransportErrors += s.transportErrors
		for code, n := range s.statuses {
			r.Statuses[code] += n
			r.Requests += n
			if code < 200 || code > 299 {
				r.Errors += n
			}
		}
	}
	r.Requests += r.TransportErrors
	r.Errors += r.TransportErrors
	if elapsed > 0 {
		r.RPS = float64(r.Requests-r.Errors) / elapsed.Seconds()
	}
	slices.Sort(lat)
	r.p50, r.p90, r.p99 = percentile(lat, 50), percentile(lat, 90), percentile(lat, 99)
	r.P50us, r.P90us, r.P99us = micros(r.p50), micros(r.p90), micros(r.p99)
	return r
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100 // ceil(n·p/100)
	return sorted[max(rank, 1)-1]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// compare fills each result's ratios against its baseline in results.
func compare(results []*Result) {
	byName := map[string]*Result{}
	for _, r := range results {
		byName[r.Target] = r
	}
	for _, r := range results {
		b, ok := byName[r.Baseline]
		if !ok {
			continue
		}
		if b.RPS > 0 {
			r.ThroughputRatio = r.RPS / b.RPS
		}
		if b.p99 > 0 {
			r.P99Ratio = float64(r.p99) / float64(b.p99)
		}
	}
}

// broken lists the targets whose error fraction exceeds maxErrorFraction,
// or that answered nothing: a broken setup, never a slow one.
func broken(results []*Result, maxErrorFraction float64) []string {
	var out []string
	for _, r := range results {
		if r.Requests == 0 || float64(r.Errors) > maxErrorFraction*float64(r.Requests) {
			out = append(out, fmt.Sprintf("%s: %d of %d requests failed (statuses %v, transport errors %d)", r.Target, r.Errors, r.Requests, r.Statuses, r.TransportErrors))
		}
	}
	return out
}

// printTable writes the human-readable report.
func printTable(w io.Writer, results []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tbaseline\trequests\terrors\treq/s\tp50\tp90\tp99\treq/s vs base\tp99 vs base\t")
	for _, r := range results {
		base, thr, p99 := "-", "-", "-"
		if r.Baseline != "" {
			base = r.Baseline
			thr, p99 = ratio(r.ThroughputRatio), ratio(r.P99Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n",
			r.Target, base, r.Requests, r.Errors, r.RPS, latency(r.p50), latency(r.p90), latency(r.p99), thr, p99)
	}
	return tw.Flush()
}

func ratio(x float64) string {
	if x == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", x)
}

func latency(d time.Duration) string {
	return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
}

// report is the -json document.
type report struct {
	Load    Load      `json:"load"`
	Rounds  int       `json:"rounds"`
	Fresh   bool      `json:"fresh_tokens"`
	Results []*Result `json:"results"`
	Broken  []string  `json:"broken,omitempty"`
}

func printJSON(w io.Writer, rep report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
