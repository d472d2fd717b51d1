package gatewayroute

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/part"
)

// Field indexes on GatewayRoutes.
const (
	// indexService is spec.backend.service.name (namespaced by the cache).
	indexService = "spec.backend.service.name"
	// indexPrefix is the cleaned spec.pathPrefix, cluster-wide.
	indexPrefix = "spec.pathPrefix.clean"
)

// Config is what Setup needs besides the manager.
type Config struct {
	// Table is the local gateway's route table (gateway.Gateway.Table()).
	Table *gateway.Table
	// GatewayURL is the gateway's external base URL, for status.url.
	GatewayURL string
	// Clock stamps condition transitions; nil means the real clock.
	Clock clock.PassiveClock
	// Fed, when set, is told of each GatewayRoute the table feed
	// reconciled without an error (readiness waits for the first pass).
	Fed func(types.NamespacedName)
}

// Part is the GatewayRoute controllers as a part of the process: every
// replica registers the field indexes and feeds its gateway's route table
// (SetupTable), the leader writes the status (SetupStatus). Readiness waits
// for the table feed through cfg.Fed (apiserver.FirstPass).
func Part(ctx context.Context, cfg Config) part.Part {
	return part.Part{
		Name:  "GatewayRoute controllers",
		Serve: func(m manager.Manager) error { return SetupTable(ctx, m, cfg) },
		Lead:  func(m manager.Manager) error { return SetupStatus(m, cfg) },
	}
}

// Setup registers the field indexes and both controllers with mgr.
func Setup(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	if err := SetupTable(ctx, mgr, cfg); err != nil {
		return err
	}
	return SetupStatus(mgr, cfg)
}

// SetupTable registers the field indexes and the route-table feed, which
// every replica runs for as long as it serves.
func SetupTable(ctx context.Context, mgr ctrl.Manager, cfg Config) error {
	if err := IndexFields(ctx, mgr); err != nil {
		return err
	}
	table := &TableReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Table: cfg.Table, Fed: cfg.Fed, Log: mgr.GetLogger().WithName("gatewayroute-table")}
	return table.SetupWithManager(mgr)
}

// SetupStatus registers the status writer: leader-only work, registered on
// each term's manager (internal/leader), whose cache must hold the field
// indexes (it borrows the serving manager's, where SetupTable put them).
func SetupStatus(mgr ctrl.Manager, cfg Config) error {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	status := &StatusReconciler{
		Client:     mgr.GetClient(),
		Cache:      mgr.GetCache(),
		APIReader:  mgr.GetAPIReader(),
		Recorder:   mgr.GetEventRecorder("scopegate-gatewayroute"),
		GatewayURL: cfg.GatewayURL,
		Clock:      cfg.Clock,
		Log:        mgr.GetLogger().WithName("gatewayroute-status"),
	}
	return status.SetupWithManager(mgr)
}

// IndexFields registers the GatewayRoute field indexes both controllers
// use. Call it once per manager, before SetupWithManager (Setup does).
func IndexFields(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &scopegatev1alpha1.GatewayRoute{}, indexService, func(o client.Object) []string {
		gr := o.(*scopegatev1alpha1.GatewayRoute)
		if gr.Spec.Backend.Service == nil {
			return nil
		}
		return []string{gr.Spec.Backend.Service.Name}
	}); err != nil {
		return fmt.Errorf("index GatewayRoutes by backend Service: %w", err)
	}
	if err := idx.IndexField(ctx, &scopegatev1alpha1.GatewayRoute{}, indexPrefix, func(o client.Object) []string {
		return []string{gateway.CleanPrefix(o.(*scopegatev1alpha1.GatewayRoute).Spec.PathPrefix)}
	}); err != nil {
		return fmt.Errorf("index GatewayRoutes by path prefix: %w", err)
	}
	return nil
}

// SetupWithManager registers the table feeder. It does not need leader
// election: every replica's gateway needs its table.
func (r *TableReconciler) SetupWithManager(mgr ctrl.Manager) error {
	m := mapper{c: mgr.GetClient(), log: r.Log}
	var err error
	if r.keys, err = addKeyWatch(mgr, r.Log.WithName("keys")); err != nil {
		return fmt.Errorf("watch provider key Secrets: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("gatewayroute-table").
		For(&scopegatev1alpha1.GatewayRoute{}).
		WatchesRawSource(r.keys.source()).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(m.routesOfService)).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(m.routesOfSlice)).
		WithOptions(controller.Options{NeedLeaderElection: ptr.To(false)}).
		Complete(reconcile.Func(func(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
			res, err := r.Reconcile(ctx, req)
			if err == nil && r.Fed != nil {
				r.Fed(req.NamespacedName)
			}
			return res, err
		}))
}

// SetupWithManager registers the status writer (leader-elected).
func (r *StatusReconciler) SetupWithManager(mgr ctrl.Manager) error {
	m := mapper{c: mgr.GetClient(), log: r.Log}
	var err error
	if r.keys, err = addKeyWatch(mgr, r.Log.WithName("keys")); err != nil {
		return fmt.Errorf("watch provider key Secrets: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("gatewayroute-status").
		// Its own status writes do not bump the generation: they do not
		// wake the route again (nor its prefix's other routes), which
		// halves the reconciles of a burst of new routes.
		For(&scopegatev1alpha1.GatewayRoute{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(r.keys.source()).
		// A route's conflict state depends on the other routes of its
		// prefix (old and new prefix on updates).
		Watches(&scopegatev1alpha1.GatewayRoute{}, handler.EnqueueRequestsFromMapFunc(m.routesWithSamePrefix),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Service{}, handler.EnqueueRequestsFromMapFunc(m.routesOfService)).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(m.routesOfSlice)).
		// Coalesced: see clientEvents.
		Watches(&scopegatev1alpha1.OAuthClient{}, clientEvents(mgr.GetClient(), r.scopesRecheckDelay(), r.Log)).
		Complete(r)
}

// mapper maps related objects onto the GatewayRoutes they affect.
type mapper struct {
	c   client.Reader
	log logr.Logger
}

func (m mapper) list(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	var routes scopegatev1alpha1.GatewayRouteList
	// Only the keys are read.
	if err := m.c.List(ctx, &routes, append(opts, client.UnsafeDisableDeepCopy)...); err != nil {
		m.log.Error(err, "List GatewayRoutes to map an event")
		return nil
	}
	out := make([]reconcile.Request, 0, len(routes.Items))
	for i := range routes.Items {
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&routes.Items[i])})
	}
	return out
}

func (m mapper) routesOfService(ctx context.Context, o client.Object) []reconcile.Request {
	return m.list(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexService: o.GetName()})
}

func (m mapper) routesOfSlice(ctx context.Context, o client.Object) []reconcile.Request {
	svc := o.GetLabels()[discoveryv1.LabelServiceName]
	if svc == "" {
		return nil
	}
	return m.list(ctx, client.InNamespace(o.GetNamespace()), client.MatchingFields{indexService: svc})
}

func (m mapper) routesWithSamePrefix(ctx context.Context, o client.Object) []reconcile.Request {
	gr := o.(*scopegatev1alpha1.GatewayRoute)
	return m.list(ctx, client.MatchingFields{indexPrefix: gateway.CleanPrefix(gr.Spec.PathPrefix)})
}
