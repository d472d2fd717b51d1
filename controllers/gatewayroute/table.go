package gatewayroute

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/tokenserver/gateway"
	"github.com/scopegate/scopegate/tokenserver/registry"
)

// DefaultTimeout bounds forwarded requests of an HTTP route that sets no
// timeout (GatewayRoute spec.timeout).
const DefaultTimeout = 60 * time.Second

// defaultTimeout is the timeout of a route that sets none: DefaultTimeout
// for plain HTTP, and no limit for MCP and A2A, whose responses are
// long-lived streams (MCP's SSE GET stream, A2A's message/stream) that a
// fixed deadline would cut.
func defaultTimeout(p gateway.Protocol) time.Duration {
	if p == gateway.ProtocolHTTP {
		return DefaultTimeout
	}
	return 0
}

// TableReconciler keeps a gateway's route table equal to the GatewayRoutes
// in the cluster. It runs on every replica: each replica's gateway serves
// from its own table.
type TableReconciler struct {
	// Client reads from the informer cache.
	Client client.Reader
	Table  *gateway.Table
	// Fed, when set, is told of each route reconciled without an error.
	Fed func(types.NamespacedName)
	Log logr.Logger
}

// Reconcile puts one route, with its backend resolved, into the table, or
// takes it out when it is gone. Conflicting prefixes are all kept: the table
// itself serves the oldest route of a prefix, as the status reports.
func (r *TableReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	key := req.Namespace + "/" + req.Name
	var gr scopegatev1alpha1.GatewayRoute
	if err := r.Client.Get(ctx, req.NamespacedName, &gr); err != nil {
		if apierrors.IsNotFound(err) {
			r.Table.Delete(key)
			r.Log.V(1).Info("Route removed from the gateway table", "route", key)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get GatewayRoute %s: %w", key, err)
	}
	if !gr.DeletionTimestamp.IsZero() {
		r.Table.Delete(key)
		return ctrl.Result{}, nil
	}
	be, err := resolveBackend(ctx, r.Client, &gr)
	if err != nil {
		return ctrl.Result{}, err
	}
	r.Table.Set(routeFor(&gr, be))
	r.Log.V(1).Info("Route set in the gateway table", "route", key, "prefix", gr.Spec.PathPrefix, "endpoints", len(be.Endpoints))
	return ctrl.Result{}, nil
}

// routeFor converts a GatewayRoute and its resolved backend into a table
// entry.
func routeFor(gr *scopegatev1alpha1.GatewayRoute, be backend) *gateway.Route {
	s := gr.Spec
	rt := &gateway.Route{
		Key:               gr.Namespace + "/" + gr.Name,
		PathPrefix:        gateway.CleanPrefix(s.PathPrefix),
		Protocol:          gateway.Protocol(s.Protocol),
		Endpoints:         be.Endpoints,
		BackendPath:       be.Path,
		RequiredScopes:    scopegatev1alpha1.ScopeStrings(s.RequiredScopes),
		ScopeMatchAll:     s.ScopeMatch == scopegatev1alpha1.ScopeMatchAll,
		Audiences:         scopegatev1alpha1.AudienceStrings(s.Audiences),
		AllowAnonymous:    s.AllowAnonymous,
		CreationTimestamp: gr.CreationTimestamp.Time,
	}
	if rt.Protocol == "" {
		rt.Protocol = gateway.ProtocolHTTP
	}
	if s.RateLimit != nil {
		rt.RateLimit = &registry.RateLimit{RequestsPerSecond: float64(s.RateLimit.RequestsPerSecond), Burst: s.RateLimit.EffectiveBurst()}
	}
	rt.Timeout = defaultTimeout(rt.Protocol)
	if s.Timeout != nil {
		rt.Timeout = s.Timeout.Duration
	}
	return rt
}
