package oauthclient

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/controllers/audit"
	"github.com/scopegate/scopegate/controllers/fanout"
)

// DefaultAuditDelay is how long GatewayRoute events are gathered before the
// clients' reachableRoutes are computed again: the routes must have been
// quiet that long.
const DefaultAuditDelay = 2 * time.Second

// auditMaxDelay bounds the wait for a pause in route events: under steady
// route churn the clients are audited at least this often.
const auditMaxDelay = 30 * time.Second

// reconcileAudit sets status.reachableRoutes, reachableRouteCount,
// unusedScopes and mcpTools from the routes in the cache (audit.Reaches). It writes
// nothing itself: the status is patched once at the end of the pass, and
// only when it changed.
func (r *Reconciler) reconcileAudit(ctx context.Context, p *pass) (ctrl.Result, bool, error) {
	// Read only: no deep copy of every route for every client.
	routes := &scopegatev1alpha1.GatewayRouteList{}
	if err := r.List(ctx, routes, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, false, fmt.Errorf("list GatewayRoutes: %w", err)
	}
	st := &p.obj.Status
	st.ReachableRoutes, st.ReachableRouteCount = audit.ReachableRoutes(p.obj, routes.Items, r.GatewayURL)
	st.UnusedScopes = audit.UnusedScopes(p.obj, routes.Items)
	st.MCPTools = audit.MCPTools(p.obj, routes.Items, r.GatewayURL)
	return ctrl.Result{}, false, nil
}

// routeEvents maps GatewayRoute events onto the OAuthClients whose audit
// they can change, coalesced (package fanout): a route created or deleted,
// or whose prefix, protocol, scopes, audiences, anonymity or MCP rules
// changed (not a status write), schedules every client once, when route
// events have paused for delay (at most auditMaxDelay after the first).
// A burst of route changes among 1000 clients is thus about one pass per
// client, writing only where the answer changed, not one per event.
func routeEvents(clients client.Reader, delay time.Duration, log logr.Logger) *fanout.Handler {
	return &fanout.Handler{
		Targets: fanout.Every[scopegatev1alpha1.OAuthClientList](clients),
		Matters: func(old, cur client.Object) bool {
			o, ok1 := old.(*scopegatev1alpha1.GatewayRoute)
			n, ok2 := cur.(*scopegatev1alpha1.GatewayRoute)
			return !ok1 || !ok2 || auditMayChange(o, n)
		},
		Delay:    delay,
		MaxDelay: max(auditMaxDelay, delay),
		Log:      log,
	}
}

// auditMayChange reports whether a route update can change what the audit
// concludes about any client.
func auditMayChange(o, n *scopegatev1alpha1.GatewayRoute) bool {
	return o.Spec.PathPrefix != n.Spec.PathPrefix || o.Spec.Protocol != n.Spec.Protocol ||
		o.Spec.AllowAnonymous != n.Spec.AllowAnonymous || o.Spec.ScopeMatch != n.Spec.ScopeMatch ||
		!slices.Equal(o.Spec.RequiredScopes, n.Spec.RequiredScopes) || !slices.Equal(o.Spec.Audiences, n.Spec.Audiences) ||
		o.DeletionTimestamp.IsZero() != n.DeletionTimestamp.IsZero() ||
		!equality.Semantic.DeepEqual(o.Spec.MCP, n.Spec.MCP)
}
