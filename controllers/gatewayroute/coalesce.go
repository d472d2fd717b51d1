package gatewayroute

import (
	"context"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// DefaultScopesRecheckDelay is how long client events are gathered before
// the routes' ScopesSatisfiable is evaluated again.
const DefaultScopesRecheckDelay = time.Second

// clientEvents maps OAuthClient events onto the routes whose
// ScopesSatisfiable they can change, coalesced: an event that can change it
// (a client created or deleted, its scopes changed, suspended or resumed;
// not a status write) schedules each dependent route once, delay later; the
// events of that interval join the one scheduled reconcile (the workqueue
// keeps the earliest time of an item already waiting). Creating 1000
// clients thus costs each route about one reconcile per delay, not one per
// client event, each of which lists every client.
type clientEvents struct {
	routes client.Reader
	delay  time.Duration
	log    logr.Logger
}

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (h *clientEvents) Create(ctx context.Context, _ event.TypedCreateEvent[client.Object], q queue) {
	h.schedule(ctx, q)
}

func (h *clientEvents) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	oldC, ok1 := e.ObjectOld.(*scopegatev1alpha1.OAuthClient)
	newC, ok2 := e.ObjectNew.(*scopegatev1alpha1.OAuthClient)
	if ok1 && ok2 && !scopesMayChange(oldC, newC) {
		return
	}
	h.schedule(ctx, q)
}

func (h *clientEvents) Delete(ctx context.Context, _ event.TypedDeleteEvent[client.Object], q queue) {
	h.schedule(ctx, q)
}

func (h *clientEvents) Generic(ctx context.Context, _ event.TypedGenericEvent[client.Object], q queue) {
	h.schedule(ctx, q)
}

// schedule adds every route that depends on the clients, delay from now.
func (h *clientEvents) schedule(ctx context.Context, q queue) {
	var routes scopegatev1alpha1.GatewayRouteList
	if err := h.routes.List(ctx, &routes); err != nil {
		h.log.Error(err, "List GatewayRoutes to map an OAuthClient event")
		return
	}
	for i := range routes.Items {
		if dependsOnClients(&routes.Items[i]) {
			q.AddAfter(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&routes.Items[i])}, h.delay)
		}
	}
}

// scopesMayChange reports whether an update of an OAuthClient can change
// what scopesPolicy concludes: its scopes, its suspension, or the start of
// its deletion. Status, annotations and other spec fields cannot.
func scopesMayChange(old, cur *scopegatev1alpha1.OAuthClient) bool {
	return old.Spec.Suspended != cur.Spec.Suspended ||
		old.DeletionTimestamp.IsZero() != cur.DeletionTimestamp.IsZero() ||
		!slices.Equal(old.Spec.Scopes, cur.Spec.Scopes)
}

// dependsOnClients reports whether a route's ScopesSatisfiable depends on
// the OAuthClients at all: anonymous routes and routes that require no
// scope are satisfiable whatever the clients (see scopesPolicy).
func dependsOnClients(gr *scopegatev1alpha1.GatewayRoute) bool {
	return !gr.Spec.AllowAnonymous && len(gr.Spec.RequiredScopes) > 0
}
