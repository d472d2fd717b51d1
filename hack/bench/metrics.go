package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"k8s.io/client-go/rest"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads every sample from a /metrics endpoint.
func scrape(ctx context.Context, url string) ([]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, res.Status)
	}
	return parseMetrics(res.Body)
}

// parseMetrics reads the Prometheus text exposition format; it handles what
// client_golang writes (no escaped quotes inside label values are needed by
// the metrics the harness reads, but they are skipped correctly).
func parseMetrics(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line
		if i := strings.IndexByte(line, '{'); i >= 0 {
			s.name = line[:i]
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("malformed metric line %q", line)
			}
			parseLabels(line[i+1:j], s.labels)
			rest = line[j+1:]
		} else {
			sp := strings.IndexByte(line, ' ')
			if sp < 0 {
				return nil, fmt.Errorf("malformed metric line %q", line)
			}
			s.name, rest = line[:sp], line[sp:]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("metric line without value %q", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metric line %q: %w", line, err)
		}
		s.value = v
		out = append(out, s)
	}
	return out, sc.Err()
}

func parseLabels(s string, into map[string]string) {
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return
		}
		key := strings.TrimSpace(s[:eq])
		s = s[eq+2:]
		var b strings.Builder
		i := 0
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
		}
		into[key] = b.String()
		if i+1 >= len(s) {
			return
		}
		s = strings.TrimPrefix(s[i+1:], ",")
	}
}

// sumBy sums the samples named name whose labels include match, grouped by
// the value of label by ("" groups everything under "").
func sumBy(samples []sample, name, by string, match map[string]string) map[string]float64 {
	out := map[string]float64{}
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for k, v := range match {
			if s.labels[k] != v {
				continue next
			}
		}
		out[s.labels[by]] += s.value
	}
	return out
}

// delta is after - before per key.
func delta(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// scrapeAPIServer reads every sample from the kube-apiserver's /metrics
// with the credentials of cfg.
func scrapeAPIServer(ctx context.Context, cfg *rest.Config) ([]sample, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	url := strings.TrimSuffix(cfg.Host, "/") + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape kube-apiserver: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape kube-apiserver: %s", res.Status)
	}
	return parseMetrics(res.Body)
}

// writesButLeases counts the write requests the API server served, from
// its apiserver_request_total, by "VERB resource", leaving out reads and
// Leases (leader election's and the API server's own heartbeats).
func writesButLeases(samples []sample) map[string]float64 {
	out := map[string]float64{}
	for _, s := range samples {
		if s.name != "apiserver_request_total" {
			continue
		}
		verb, resource := s.labels["verb"], s.labels["resource"]
		switch verb {
		case "GET", "LIST", "WATCH", "WATCHLIST":
			continue
		}
		if resource == "leases" {
			continue
		}
		out[verb+" "+resource] += s.value
	}
	return out
}
