// Package oauthclient holds the controllers of the OAuthClient kind (SPEC §4).
//
// Two reconcilers share the kind, each owning a disjoint concern:
//
//   - RegistryFeed runs on every manager replica, without leader election. It
//     follows OAuthClients and their credentials Secrets through the informer
//     cache and keeps the token server's client registry in step, so that the
//     token endpoint, introspection and the gateway of every replica accept
//     exactly the clients that exist, are not suspended, and own their
//     credentials Secret (SPEC §8).
//   - Reconciler is leader-elected. It writes the credentials Secret (and
//     rotates it), keeps a fresh access token in the token Secret, and owns
//     the OAuthClient status, events and metrics. A small watch
//     (keywatch.go) wakes it when a token's signing key retires, which is a
//     moment in time rather than an API event.
//
// Whether a token is re-issued is decided by a chain of pure policy functions
// (policies.go) and the renewal time is computed as data (renewal.go), in the
// manner of cert-manager's certificates controllers. The labels and
// annotations of spec.tokenSecret.secretTemplate are tracked on the token
// Secret (metadata.go), so keys that leave the template are removed.
package oauthclient
