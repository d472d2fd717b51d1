// Package replicas counts the scopegate replicas serving, for the
// gateway's local rate limits: with N replicas behind round-robin load
// balancing, each enforces 1/N of every limit (ratelimit.Share).
//
// The count is the number of ready endpoints of scopegate's own Service:
// its EndpointSlices, which Kubernetes keeps (readiness probes, scale up
// and down, terminating pods), read from the manager's informer cache
// every few seconds. Nothing is written and nothing new is deployed. A
// replica that cannot tell (the Service is not found, no endpoint is
// ready yet, the cache is not synced) reports 0, and the gateway then
// enforces the whole limit: never stricter than configured, at worst N
// times looser, as before this package existed.
package replicas
