// Package ratelimit is the seam between the gateway's rate-limit decisions
// and where the buckets live. A Store takes tokens from (or peeks at) a
// Batch of buckets all or nothing, and answers whether the request may
// pass, what each bucket held and, on a refusal, when it could pass.
//
// Two stores implement it: the gateway's own in-memory token buckets (one
// set per replica, in internal/gateway), and Redis (NewRedis), whose
// buckets every replica shares. On Redis the buckets are GCRA (the generic
// cell rate algorithm, a token bucket kept as one timestamp per key),
// updated atomically by one Lua script in one round trip per decision, in
// keys that expire once the bucket is full again.
//
// Counters are fixed-window counters (the LLM token quotas), which the
// Redis store also holds: read with one MGET, added to with one
// MULTI/INCRBY/PEXPIRE/EXEC, under the same timeout, backoff and metrics.
//
// Share divides a limit among the replicas serving, for the local store:
// with N replicas behind round-robin load balancing each enforces limit/N;
// ShareOf does the same for a count (a token quota), rounding down.
//
// Nothing here knows about HTTP: the gateway maps a Result onto 429 and the
// RateLimit-* fields, and a store error onto its failure mode.
package ratelimit
