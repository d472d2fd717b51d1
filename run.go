package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/apiserver"
	"github.com/scopegate/scopegate/internal/leader"
	"github.com/scopegate/scopegate/internal/owned"
)

func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := scopegatev1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

func newManager(cfg *config, log logr.Logger) (ctrl.Manager, error) {
	restCfg, err := restConfig(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	scheme, err := newScheme()
	if err != nil {
		return nil, err
	}
	// A negative QPS turns client-go's client-side limiter off; the API
	// server's Priority and Fairness governs instead (docs/benchmarks.md).
	restCfg.QPS, restCfg.Burst = float32(cfg.KubeAPIQPS), cfg.KubeAPIBurst
	// The managed-by label marks the Secrets that scopegate writes
	// (internal/owned); the manager's cache holds only those, never every
	// Secret in the cluster. (Revocations are ConfigMaps in the operator
	// namespace, followed by the revocation store's own namespaced cache.)
	managed := labels.SelectorFromSet(labels.Set{owned.LabelManagedBy: owned.ManagedBy})
	// Every kind scopegate reads or writes: no discovery, so a replica
	// started while the API server is unreachable waits instead of failing.
	mapper, err := apiserver.StaticRESTMapper(scheme,
		[]client.Object{&corev1.Secret{}, &corev1.ConfigMap{}, &corev1.Service{}, &discoveryv1.EndpointSlice{},
			&scopegatev1alpha1.OAuthClient{}, &scopegatev1alpha1.GatewayRoute{}},
		[]client.Object{&authenticationv1.TokenReview{}})
	if err != nil {
		return nil, err
	}
	m, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:  scheme,
		Logger:  log,
		Metrics: metricsserver.Options{BindAddress: cfg.MetricsBindAddress},
		// The probes are served by setup (503 when not ready, not 500).
		HealthProbeBindAddress: "0",
		PprofBindAddress:       cfg.PprofBindAddress,
		// This manager serves on every replica and never elects: losing the
		// Lease must stop the controllers, not the process (leader.go).
		LeaderElection: false,
		MapperProvider: func(*rest.Config, *http.Client) (meta.RESTMapper, error) { return mapper, nil },
		// A feed that reads the API server itself (a backend CA Secret)
		// gives up during an outage instead of holding its worker.
		Controller: ctrlconfig.Controller{ReconciliationTimeout: 10 * time.Second, MaxConcurrentReconciles: cfg.MaxConcurrentReconciles},
		Cache: cache.Options{
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Secret{}:                  {Label: managed},
				&corev1.ConfigMap{}:               {Label: managed}, // the scopegate-ca trust bundles
				&scopegatev1alpha1.OAuthClient{}:  {Transform: stripForCache(true)},
				&scopegatev1alpha1.GatewayRoute{}: {Transform: stripForCache(true)},
			},
			// Nothing reads managedFields; dropping them saves memory.
			DefaultTransform: stripForCache(false),
		},
	})
	if err != nil {
		return nil, err
	}
	// Leader-elected runnables added to it would run on every replica.
	return leader.Serving(m), nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		return ctrl.GetConfig()
	}
	c, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	return c, nil
}

// The manager's own needs; each controller declares its own rules beside its
// Reconcile.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func run(cfg *config, log logr.Logger) error {
	ctrl.SetLogger(log)
	ctx := ctrl.SetupSignalHandler()
	mgr, err := newManager(cfg, log)
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := setup(ctx, mgr, cfg, log); err != nil {
		return err
	}
	log.Info("Starting manager", "issuer", cfg.Issuer, "gatewayURL", cfg.GatewayURL,
		"oauthAddress", cfg.OAuthBindAddress, "gatewayAddress", cfg.GatewayBindAddress, "tlsMode", cfg.TLS.Mode)
	return start(ctx, mgr, log, stopBeforeSyncGrace)
}

// setup adds every part of scopegate (newParts) to the manager: what each
// runs on every replica to this serving manager; its leader-only work to a
// manager of its own per term of leadership (leader.go), so that losing the
// Lease stops that work and nothing else; its readiness and liveness checks
// to the health probe server.
func setup(ctx context.Context, mgr ctrl.Manager, cfg *config, log logr.Logger) error {
	parts, err := newParts(ctx, mgr, cfg, log, metrics.Registry)
	if err != nil {
		return err
	}
	if err := parts.Serve(mgr); err != nil {
		return err
	}
	if err := setupLeaderWork(mgr, cfg, log, parts.Lead); err != nil {
		return err
	}
	live, ready, err := parts.Checks()
	if err != nil {
		return err
	}
	if cfg.HealthProbeBindAddress != "" && cfg.HealthProbeBindAddress != "0" {
		shutdown := listenerShutdown
		probes := &manager.Server{Name: "health-probe", Server: httpServer(cfg.HealthProbeBindAddress, apiserver.HealthHandler(live, ready)), ShutdownTimeout: &shutdown}
		if err := mgr.Add(probes); err != nil {
			return fmt.Errorf("add health probe server: %w", err)
		}
	}
	return nil
}

func httpServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}
