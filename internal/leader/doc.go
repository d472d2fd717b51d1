// Package leader runs scopegate's leader-only work — the controllers that
// write status and Secrets, the signing-key rotator, the revocation garbage
// collector — in terms of leadership, and never stops anything else.
//
// controller-runtime's built-in leader election ends the process when the
// Lease cannot be renewed, which takes the token server and the gateway down
// with it during an API-server outage. Here the serving manager runs without
// leader election, and an Elector (one of its runnables) campaigns for the
// Lease with client-go's leaderelection. Each time it wins it starts a term:
// a fresh manager that borrows the serving manager's cache, client
// configuration and REST mapper, with only the leader-only work registered
// on it. When the Lease cannot be renewed the term's context is cancelled,
// the elector waits until the term has stopped, and it campaigns again; the
// process and its servers go on.
//
// A fresh manager per term is needed because controller-runtime controllers
// cannot be started twice. Borrowing the cache keeps one set of informers
// per process: the term's event handlers are removed from the shared
// informers when the term ends.
package leader
