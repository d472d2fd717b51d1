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
	"k8s.io/client-go/discovery"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/controllers/gatewayroute"
	"github.com/scopegate/scopegate/controllers/oauthclient"
	"github.com/scopegate/scopegate/internal/admin"
	"github.com/scopegate/scopegate/internal/apiserver"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/leader"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/servingcert"
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
	"github.com/scopegate/scopegate/tokenserver/workload"
)

// managedByLabel marks the Secrets that scopegate creates; the manager's
// cache holds only those, never every Secret in the cluster. (Revocations
// are ConfigMaps in the operator namespace, followed by the revocation
// store's own namespaced cache.)
const (
	managedByLabel = "app.kubernetes.io/managed-by"
	managedByValue = "scopegate"
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
	managed := labels.SelectorFromSet(labels.Set{managedByLabel: managedByValue})
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
				&corev1.Secret{}:    {Label: managed},
				&corev1.ConfigMap{}: {Label: managed}, // the scopegate-ca trust bundles
			},
			// Nothing reads managedFields; dropping them saves memory.
			DefaultTransform: cache.TransformStripManagedFields(),
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
	return mgr.Start(ctx)
}

// setup adds every part of scopegate to the manager: the signing keys and
// revocations (followed on every replica, maintained by the leader), the
// token server and the gateway (serving on every replica), and the
// controllers (the registry and route-table feeds on every replica, status
// and Secrets from the leader). The leader's parts run on a manager of their
// own per term of leadership (leader.go), so that losing the Lease stops
// them and nothing else.
func setup(ctx context.Context, mgr ctrl.Manager, cfg *config, log logr.Logger) error {
	reg := registry.New()

	ring := keys.NewRing(keys.Policy{RotationPeriod: cfg.SigningKeyRotation}, time.Now)
	keyStore, err := keys.NewStore(keys.StoreOptions{
		Secret:    cfg.SigningKeysSecret,
		Reader:    mgr.GetClient(),
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Ring:      ring,
		// The leader looks for on-demand rotations this often.
		CheckInterval: 10 * time.Second,
		Log:           log.WithName("signing-keys"),
	})
	if err != nil {
		return err
	}
	revocations, err := revocation.NewCluster(revocation.ClusterOptions{
		Config:    mgr.GetConfig(),
		Mapper:    mgr.GetRESTMapper(),
		Namespace: cfg.SigningKeysSecret.Namespace,
		Log:       log.WithName("revocations"),
	})
	if err != nil {
		return err
	}
	// Projected ServiceAccount tokens name the issuer (or the token
	// endpoint) as audience; TokenReview is a write, so it goes to the API
	// server, never to the cache.
	workloads, err := workload.NewReviewer(workload.Options{
		Client:    mgr.GetClient(),
		Audiences: []string{cfg.Issuer, cfg.Issuer + tokenserver.PathToken},
	})
	if err != nil {
		return err
	}
	tokens, err := tokenserver.New(tokenserver.Options{
		Issuer:           cfg.Issuer,
		Registry:         reg,
		Keys:             ring,
		Revocations:      revocations,
		DefaultAudiences: cfg.DefaultAudiences,
		DefaultTTL:       cfg.AccessTokenTTL,
		TokenRateLimit:   cfg.TokenRateLimit,
		DPoPRequireNonce: cfg.DPoPRequireNonce,
		TrustedProxies:   cfg.TrustedProxies,
		Workloads:        workloads,
		Metrics:          metrics.Registry,
		Log:              log.WithName("tokenserver"),
	})
	if err != nil {
		return fmt.Errorf("create token server: %w", err)
	}
	gw, err := gateway.New(gateway.Options{
		Verifier:       tokens,
		Registry:       reg,
		Issuer:         cfg.Issuer,
		GatewayURL:     cfg.GatewayURL,
		TrustedProxies: cfg.TrustedProxies,
		DecisionLog:    cfg.DecisionLog,
		Metrics:        metrics.Registry,
		Log:            log.WithName("gateway"),
	})
	if err != nil {
		return fmt.Errorf("create gateway: %w", err)
	}
	adminAPI, err := admin.New(admin.Options{
		Verifier: tokens, Reader: mgr.GetClient(), Keys: ring, Revocations: revocations, Explainer: gw,
		Log: log.WithName("admin"),
	})
	if err != nil {
		return err
	}
	clientMetrics, err := oauthclient.NewMetrics(metrics.Registry)
	if err != nil {
		return err
	}

	// nil with --tls-mode=off: plain HTTP and no ca.crt anywhere.
	certs, certLeaderWork, err := servingcert.Setup(mgr, &cfg.TLS, log.WithName("serving-cert"))
	if err != nil {
		return fmt.Errorf("set up serving certificates: %w", err)
	}
	var bundle oauthclient.CABundle
	if certs != nil {
		bundle = certs
	}
	shutdown := 15 * time.Second
	for _, r := range []manager.Runnable{
		keyStore.Loader(), revocations,
		&servingcert.Server{Name: "tokenserver", Server: httpServer(cfg.OAuthBindAddress, tokens.Handler()), Source: certs, ShutdownTimeout: shutdown, Log: log},
		&servingcert.Server{Name: "gateway", Server: httpServer(cfg.GatewayBindAddress, adminAPI.Wrap(gw)), Source: certs, ShutdownTimeout: shutdown, Log: log},
	} {
		if err := mgr.Add(r); err != nil {
			return fmt.Errorf("add runnable: %w", err)
		}
	}
	// Readiness waits until the feeds have reconciled what their caches held.
	clientsFed := apiserver.NewFirstPass(&scopegatev1alpha1.OAuthClientList{})
	routesFed := apiserver.NewFirstPass(&scopegatev1alpha1.GatewayRouteList{})
	clientOpts := oauthclient.Options{
		Issuer:           cfg.Issuer,
		GatewayURL:       cfg.GatewayURL,
		Registry:         reg,
		Fed:              clientsFed.Fed,
		Tokens:           tokens,
		Keys:             tokens,
		DefaultTTL:       cfg.AccessTokenTTL,
		DefaultAudiences: cfg.DefaultAudiences,
		Metrics:          clientMetrics,
		CABundle:         bundle,
	}
	routeCfg := gatewayroute.Config{Table: gw.Table(), GatewayURL: cfg.GatewayURL, Fed: routesFed.Fed}
	if err := oauthclient.SetupRegistryFeed(mgr, clientOpts); err != nil {
		return fmt.Errorf("set up OAuthClient controllers: %w", err)
	}
	if err := gatewayroute.SetupTable(ctx, mgr, routeCfg); err != nil {
		return fmt.Errorf("set up GatewayRoute controllers: %w", err)
	}
	// Leader-only work: the writers. It runs on a manager of its own per
	// term of leadership (leader.go), which borrows this one's cache.
	if err := setupLeaderWork(mgr, cfg, log, func(m manager.Manager) error {
		for _, r := range append([]manager.Runnable{keyStore.Rotator(), revocations.Collector()}, certLeaderWork...) {
			if err := m.Add(r); err != nil {
				return fmt.Errorf("add runnable: %w", err)
			}
		}
		if err := oauthclient.SetupReconciler(m, clientOpts); err != nil {
			return fmt.Errorf("set up OAuthClient controllers: %w", err)
		}
		if err := gatewayroute.SetupStatus(m, routeCfg); err != nil {
			return fmt.Errorf("set up GatewayRoute controllers: %w", err)
		}
		return nil
	}); err != nil {
		return err
	}

	dc, err := discovery.NewDiscoveryClientForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return fmt.Errorf("create API-server probe client: %w", err)
	}
	probe, err := apiserver.NewProbe(apiserver.ProbeOptions{Client: dc.RESTClient(), Metrics: metrics.Registry, Log: log.WithName("apiserver")})
	if err != nil {
		return err
	}
	// Beside the manager, which starts its runnables only after the first
	// sync: the probe also reports an outage at start.
	go func() { _ = probe.Start(ctx) }()
	// Ready when this replica can sign and verify: the signing keys are
	// loaded, the revocation list is synced, and the informer caches that
	// feed the registry and the route table synced once and the feeds went
	// through them. It stays ready through an API-server outage: the caches
	// keep serving.
	synced, err := apiserver.NewFirstSync(ctx, mgr.GetCache(), []client.Object{&scopegatev1alpha1.OAuthClient{}, &corev1.Secret{},
		&scopegatev1alpha1.GatewayRoute{}, &corev1.Service{}, &discoveryv1.EndpointSlice{}}, clientsFed, routesFed)
	if err != nil {
		return err
	}
	if err := mgr.Add(synced); err != nil {
		return fmt.Errorf("add runnable: %w", err)
	}
	ready := map[string]healthz.Checker{
		"signing-keys": func(*http.Request) error {
			if !ring.Ready() {
				return fmt.Errorf("signing keys not loaded yet")
			}
			return nil
		},
		"revocations": revocations.Ready,
		"caches":      synced.Check,
	}
	if certs != nil {
		ready["serving-cert"] = certs.Ready
	}
	// Healthy while the process is not wedged, reachable API server or not.
	live := map[string]healthz.Checker{"healthz": probe.Healthz}
	if cfg.HealthProbeBindAddress != "" && cfg.HealthProbeBindAddress != "0" {
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
