// Package part is how the scopegate process is put together. Each part —
// the signing keys, the revocations, a listener, a kind's controllers, the
// API-server probe — says where its pieces run: what every replica runs for
// as long as it serves, what only the leader runs (once per term of
// leadership, internal/leader), and the readiness and liveness checks it
// answers for. Parts adds those pieces to the serving manager, to each
// term's manager and to the health probe server, so that run.go only lists
// the parts and no part's placement is decided twice.
//
// BeforeCacheSync places a runnable that must run while the informer caches
// have not synced yet (the API-server probe, which must report an outage at
// start) among the manager's caches, so that it starts at once and its error
// still stops the manager.
package part
