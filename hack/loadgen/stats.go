package loadgen

import (
	"slices"
	"time"
)

// Phase is what a target's workers saw in one drive, or in several merged
// with Add.
type Phase struct {
	Elapsed time.Duration
	// Latencies of the answered requests, in no particular order.
	Latencies       []time.Duration
	Statuses        map[int]int
	TransportErrors int
}

// Add merges q into p: the times add up, the latencies join.
func (p *Phase) Add(q Phase) {
	p.Elapsed += q.Elapsed
	p.Latencies = append(p.Latencies, q.Latencies...)
	p.TransportErrors += q.TransportErrors
	if p.Statuses == nil {
		p.Statuses = map[int]int{}
	}
	for code, n := range q.Statuses {
		p.Statuses[code] += n
	}
}

// Stats are a phase's figures.
type Stats struct {
	Seconds float64 `json:"seconds"`
	// Requests is every answered request plus every transport failure;
	// Errors counts the non-2xx answers and the transport failures.
	Requests        int         `json:"requests"`
	Errors          int         `json:"errors"`
	TransportErrors int         `json:"transport_errors"`
	Statuses        map[int]int `json:"statuses"`
	// RPS is successful answers per second.
	RPS float64 `json:"rps"`
	// Nearest-rank percentiles of the answered requests' latencies, in
	// microseconds.
	P50us float64 `json:"p50_us"`
	P90us float64 `json:"p90_us"`
	P99us float64 `json:"p99_us"`
}

// Stats computes the phase's figures.
func (p Phase) Stats() Stats {
	s := Stats{Seconds: p.Elapsed.Seconds(), TransportErrors: p.TransportErrors, Statuses: map[int]int{}}
	for code, n := range p.Statuses {
		s.Statuses[code] = n
		s.Requests += n
		if code < 200 || code > 299 {
			s.Errors += n
		}
	}
	s.Requests += p.TransportErrors
	s.Errors += p.TransportErrors
	if p.Elapsed > 0 {
		s.RPS = float64(s.Requests-s.Errors) / p.Elapsed.Seconds()
	}
	lat := slices.Clone(p.Latencies)
	slices.Sort(lat)
	s.P50us, s.P90us, s.P99us = micros(Percentile(lat, 50)), micros(Percentile(lat, 90)), micros(Percentile(lat, 99))
	return s
}

// Percentile is the nearest-rank percentile p (0 < p ≤ 100) of sorted
// durations: the smallest value with at least p % of the values at or
// below it; zero for none.
func Percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100 // ceil(n·p/100)
	return sorted[max(rank, 1)-1]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
