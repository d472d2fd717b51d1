// Package gatewayroute reconciles GatewayRoutes (SPEC §6) with two
// controllers that own disjoint work:
//
//   - TableReconciler runs on every manager replica (no leader election): it
//     reads GatewayRoutes, Services and EndpointSlices from the informer
//     cache and keeps the local gateway's route table current — each route's
//     ready endpoints, followed as pods come and go (when none is ready,
//     the terminating endpoints that still serve, as kube-proxy does).
//   - StatusReconciler is leader-elected and writes GatewayRoute status:
//     Accepted (PathConflict when an older route holds the prefix),
//     BackendResolved, ScopesSatisfiable (re-evaluated when OAuthClients
//     change) and Ready, once per pass and only when it changed, with an
//     event for every new result.
//
// Both resolve backends with the same function, so the table and the status
// agree. Setup wires both, with the field indexes they share.
package gatewayroute
