// Package apiserver holds what lets a replica serve without the API server
// and say how stale it may be: a REST mapper that needs no discovery (so
// that a replica started during an outage waits instead of failing), the
// first-sync latch behind /readyz, and a reachability probe with its
// metrics and a /healthz check for a wedged process. NewPart wires the
// probe and the latch as one part of the process (internal/part).
package apiserver
