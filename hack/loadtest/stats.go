package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/scopegate/scopegate/hack/loadgen"
)

// Result is one target's measured phase, over all rounds, with its ratios
// to its baseline.
type Result struct {
	Target   string `json:"target"`
	Baseline string `json:"baseline,omitempty"`
	loadgen.Stats
	// ThroughputRatio is RPS / baseline RPS (below 1: slower than the
	// baseline); P99Ratio is p99 / baseline p99 (above 1: slower). Both are
	// zero for a baseline.
	ThroughputRatio float64 `json:"throughput_ratio,omitempty"`
	P99Ratio        float64 `json:"p99_ratio,omitempty"`
}

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
		if b.P99us > 0 {
			r.P99Ratio = r.P99us / b.P99us
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
			r.Target, base, r.Requests, r.Errors, r.RPS, millis(r.P50us), millis(r.P90us), millis(r.P99us), thr, p99)
	}
	return tw.Flush()
}

func ratio(x float64) string {
	if x == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", x)
}

func millis(us float64) string {
	return fmt.Sprintf("%.3fms", us/1000)
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
