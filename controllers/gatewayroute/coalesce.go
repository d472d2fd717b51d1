package gatewayroute

import (
	"slices"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/controllers/fanout"
)

// DefaultScopesRecheckDelay is how long client events are gathered before
// the routes' ScopesSatisfiable and Reachable are evaluated again.
const DefaultScopesRecheckDelay = time.Second

// clientEvents maps OAuthClient events onto the routes, coalesced (package
// fanout): an event that can change a route's ScopesSatisfiable,
// Reachable or authorizedClients (a client created or deleted, its scopes
// or audiences changed, suspended or resumed; not a status write)
// schedules every route once, delay later. Every route depends on the
// clients through authorizedClients, even an anonymous one. Creating 1000
// clients thus costs each route about one reconcile per delay, not one per
// client event, each of which lists every client.
func clientEvents(routes client.Reader, delay time.Duration, log logr.Logger) *fanout.Handler {
	return &fanout.Handler{
		Targets: fanout.Every[scopegatev1alpha1.GatewayRouteList](routes),
		Matters: func(old, cur client.Object) bool {
			o, ok1 := old.(*scopegatev1alpha1.OAuthClient)
			n, ok2 := cur.(*scopegatev1alpha1.OAuthClient)
			return !ok1 || !ok2 || scopesMayChange(o, n)
		},
		Delay: delay,
		Log:   log,
	}
}

// scopesMayChange reports whether an update of an OAuthClient can change
// what scopesPolicy or the reachability audit conclude: its scopes, its
// audiences, its suspension, or the start of its deletion. Status,
// annotations and other spec fields cannot.
func scopesMayChange(old, cur *scopegatev1alpha1.OAuthClient) bool {
	return old.Spec.Suspended != cur.Spec.Suspended ||
		old.DeletionTimestamp.IsZero() != cur.DeletionTimestamp.IsZero() ||
		!slices.Equal(old.Spec.Scopes, cur.Spec.Scopes) ||
		!slices.Equal(old.Spec.Audiences, cur.Spec.Audiences)
}
