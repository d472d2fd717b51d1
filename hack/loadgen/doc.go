// Package loadgen is scopegate's one load generator. The benchmark
// harness's load generator process (hack/bench/loadgen, `make bench`) and
// the in-process load test (hack/loadtest) both drive their targets with
// it:
//
//   - client.go: keep-alive HTTP/1.1 clients (also over TLS: no HTTP/2 by
//     ALPN) with no proxy and no compression, whose dialer reaches only
//     loopback addresses, so that a mistaken URL cannot send load off the
//     machine;
//   - target.go: what to load, as a request builder;
//   - drive.go: a Meter drives one target with c workers until n requests
//     were sent or d passed; requests cut off by the time bound are neither
//     successes nor failures;
//   - stats.go: what the workers saw (a Phase, mergeable over rounds) and
//     its figures (Stats: counts, successful answers per second,
//     nearest-rank percentiles);
//   - rounds.go: rounds that alternate the targets' order (A B, B A, ...),
//     so that the machine's drifting background load weighs on a baseline
//     and its targets alike.
//
// What the callers decide themselves: the bounds of a run, how a round's
// share is sized, and how the figures are reported.
package loadgen
