// Package plan is the contract between the benchmark harness (hack/bench)
// and its load generator process (hack/bench/loadgen, built on hack/loadgen),
// which run as separate processes: what to load, and what was measured, as
// JSON.
package plan

import (
	"time"

	"github.com/scopegate/scopegate/hack/loadgen"
)

// Plan is what the load generator runs.
type Plan struct {
	// Concurrency is the number of keep-alive workers, each with one
	// request in flight.
	Concurrency int `json:"concurrency"`
	// Rounds alternate the targets' order (A B, B A, ...), so that the
	// machine's drifting background load weighs on all alike.
	Rounds int `json:"rounds"`
	// Round bounds each target's share of a round in time, MaxRequests in
	// requests.
	Round       time.Duration `json:"round_ns"`
	MaxRequests int           `json:"max_requests"`
	// Warmup is the unmeasured time per target before the first round.
	Warmup  time.Duration `json:"warmup_ns"`
	Targets []Target      `json:"targets"`
}

// Target is one endpoint and the request sent to it.
type Target struct {
	Name    string            `json:"name"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	// Concurrency overrides Plan.Concurrency for this target (a latency
	// target such as time to first event runs with one worker).
	Concurrency int `json:"concurrency,omitempty"`
	// FirstByte measures the time to the first byte of the body (SSE)
	// instead of the whole answer.
	FirstByte bool `json:"first_byte,omitempty"`
	// DPoP, when set, gives every request a freshly signed DPoP proof
	// (RFC 9449; a proof is single-use).
	DPoP *DPoP `json:"dpop,omitempty"`
	// PIDs are the processes that serve the target, when the harness knows
	// them: the load generator reads their CPU time around each round.
	PIDs []int `json:"pids,omitempty"`
}

// DPoP is how the load generator signs a target's proofs
// (hack/bench/dpopproof): htm is the target's method, ath the hash of the
// token in "Authorization: DPoP <token>" when there is one.
type DPoP struct {
	// KeyFile is the P-256 key, PKCS#8 PEM.
	KeyFile string `json:"key_file"`
	// HTU is the URL the server knows itself by: the token endpoint in its
	// metadata, or the gateway URL plus the request's path.
	HTU string `json:"htu"`
}

// Result is what the load generator measured, per target and round.
type Result struct {
	Targets []TargetResult `json:"targets"`
}

// TargetResult is one target's rounds in order.
type TargetResult struct {
	Name string `json:"name"`
	// Proto is what the answers came over, e.g. "HTTP/1.1, TLS 1.3,
	// TLS_AES_128_GCM_SHA256, X25519MLKEM768", or "HTTP/1.1" in clear.
	Proto  string  `json:"proto,omitempty"`
	Rounds []Round `json:"rounds"`
	// CPUSeconds is, per round, the CPU time the target's PIDs used during
	// it; absent without PIDs.
	CPUSeconds []float64 `json:"cpu_seconds,omitempty"`
}

// Round is one measured phase of one target: counts, successful answers
// per second and latency percentiles, as the load generator computes them.
type Round = loadgen.Stats
