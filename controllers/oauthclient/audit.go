package oauthclient

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/controllers/audit"
)

// DefaultAuditDelay is how long GatewayRoute events are gathered before the
// clients' reachableRoutes are computed again.
const DefaultAuditDelay = 2 * time.Second

// reconcileAudit sets status.reachableRoutes, reachableRouteCount and
// unusedScopes from the routes in the cache (audit.Reaches). It writes
// nothing itself: the status is patched once at the end of the pass, and
// only when it changed.
func (r *Reconciler) reconcileAudit(ctx context.Context, p *pass) (ctrl.Result, bool, error) {
	routes := &scopegatev1alpha1.GatewayRouteList{}
	if err := r.List(ctx, routes); err != nil {
		return ctrl.Result{}, false, fmt.Errorf("list GatewayRoutes: %w", err)
	}
	st := &p.obj.Status
	st.ReachableRoutes, st.ReachableRouteCount = audit.ReachableRoutes(p.obj, routes.Items, r.GatewayURL)
	st.UnusedScopes = audit.UnusedScopes(p.obj, routes.Items)
	return ctrl.Result{}, false, nil
}

// routeEvents maps GatewayRoute events onto the OAuthClients whose audit
// they can change, coalesced: a route created or deleted, or whose prefix,
// protocol, scopes, audiences or anonymity changed (not a status write),
// schedules every client once, delay later; the events of that interval
// join the scheduled reconcile (the workqueue keeps one entry per client).
// A route change among 1000 clients is thus one pass per client, writing
// only where the answer changed, not one per event.
type routeEvents struct {
	clients client.Reader
	delay   time.Duration
	log     logr.Logger
}

type requestQueue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (h *routeEvents) Create(ctx context.Context, _ event.TypedCreateEvent[client.Object], q requestQueue) {
	h.schedule(ctx, q)
}

func (h *routeEvents) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q requestQueue) {
	o, ok1 := e.ObjectOld.(*scopegatev1alpha1.GatewayRoute)
	n, ok2 := e.ObjectNew.(*scopegatev1alpha1.GatewayRoute)
	if ok1 && ok2 && !auditMayChange(o, n) {
		return
	}
	h.schedule(ctx, q)
}

func (h *routeEvents) Delete(ctx context.Context, _ event.TypedDeleteEvent[client.Object], q requestQueue) {
	h.schedule(ctx, q)
}

func (h *routeEvents) Generic(ctx context.Context, _ event.TypedGenericEvent[client.Object], q requestQueue) {
	h.schedule(ctx, q)
}

func (h *routeEvents) schedule(ctx context.Context, q requestQueue) {
	var clients scopegatev1alpha1.OAuthClientList
	if err := h.clients.List(ctx, &clients); err != nil {
		h.log.Error(err, "List OAuthClients to map a GatewayRoute event")
		return
	}
	for i := range clients.Items {
		q.AddAfter(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&clients.Items[i])}, h.delay)
	}
}

// auditMayChange reports whether a route update can change what the audit
// concludes about any client.
func auditMayChange(o, n *scopegatev1alpha1.GatewayRoute) bool {
	return o.Spec.PathPrefix != n.Spec.PathPrefix || o.Spec.Protocol != n.Spec.Protocol ||
		o.Spec.AllowAnonymous != n.Spec.AllowAnonymous || o.Spec.ScopeMatch != n.Spec.ScopeMatch ||
		!slices.Equal(o.Spec.RequiredScopes, n.Spec.RequiredScopes) || !slices.Equal(o.Spec.Audiences, n.Spec.Audiences) ||
		o.DeletionTimestamp.IsZero() != n.DeletionTimestamp.IsZero()
}
