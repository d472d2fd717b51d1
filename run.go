package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
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
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/admin"
	"github.com/scopegate/scopegate/tokenserver/gateway"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/registry"
	"github.com/scopegate/scopegate/tokenserver/revocation"
	"github.com/scopegate/scopegate/tokenserver/servingcert"
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
	return ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                  scheme,
		Logger:                  log,
		Metrics:                 metricsserver.Options{BindAddress: cfg.MetricsBindAddress},
		HealthProbeBindAddress:  cfg.HealthProbeBindAddress,
		PprofBindAddress:        cfg.PprofBindAddress,
		LeaderElection:          cfg.LeaderElect,
		LeaderElectionID:        "scopegate.dev",
		LeaderElectionNamespace: cfg.LeaderElectionNS,
		// Leaving voluntarily lets a new leader take over at once on a rollout.
		LeaderElectionReleaseOnCancel: true,
		Controller:                    ctrlconfig.Controller{MaxConcurrentReconciles: cfg.MaxConcurrentReconciles},
		Cache: cache.Options{
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Secret{}:    {Label: managed},
				&corev1.ConfigMap{}: {Label: managed}, // the scopegate-ca trust bundles
			},
			// Nothing reads managedFields; dropping them saves memory.
			DefaultTransform: cache.TransformStripManagedFields(),
		},
	})
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
// and Secrets from the leader).
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
	certs, err := servingcert.Setup(mgr, &cfg.TLS, log.WithName("serving-cert"))
	if err != nil {
		return fmt.Errorf("set up serving certificates: %w", err)
	}
	var bundle oauthclient.CABundle
	if certs != nil {
		bundle = certs
	}
	shutdown := 15 * time.Second
	for _, r := range []manager.Runnable{
		keyStore.Loader(), keyStore.Rotator(), revocations, revocations.Collector(),
		&servingcert.Server{Name: "tokenserver", Server: httpServer(cfg.OAuthBindAddress, tokens.Handler()), Source: certs, ShutdownTimeout: shutdown, Log: log},
		&servingcert.Server{Name: "gateway", Server: httpServer(cfg.GatewayBindAddress, adminAPI.Wrap(gw)), Source: certs, ShutdownTimeout: shutdown, Log: log},
	} {
		if err := mgr.Add(r); err != nil {
			return fmt.Errorf("add runnable: %w", err)
		}
	}
	if err := oauthclient.SetupWithManager(mgr, oauthclient.Options{
		Issuer:           cfg.Issuer,
		GatewayURL:       cfg.GatewayURL,
		Registry:         reg,
		Tokens:           tokens,
		Keys:             tokens,
		DefaultTTL:       cfg.AccessTokenTTL,
		DefaultAudiences: cfg.DefaultAudiences,
		Metrics:          clientMetrics,
		CABundle:         bundle,
	}); err != nil {
		return fmt.Errorf("set up OAuthClient controllers: %w", err)
	}
	if err := gatewayroute.Setup(ctx, mgr, gatewayroute.Config{Table: gw.Table(), GatewayURL: cfg.GatewayURL}); err != nil {
		return fmt.Errorf("set up GatewayRoute controllers: %w", err)
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	// Ready when this replica can sign and verify: the signing keys are
	// loaded, the revocation list is synced, and the informer caches that
	// feed the registry and the route table are synced.
	for name, check := range map[string]healthz.Checker{
		"signing-keys": func(*http.Request) error {
			if !ring.Ready() {
				return fmt.Errorf("signing keys not loaded yet")
			}
			return nil
		},
		"revocations": revocations.Ready,
		"caches": func(r *http.Request) error {
			if !mgr.GetCache().WaitForCacheSync(r.Context()) {
				return fmt.Errorf("informer caches not synced")
			}
			return nil
		},
	} {
		if err := mgr.AddReadyzCheck(name, check); err != nil {
			return fmt.Errorf("add ready check %s: %w", name, err)
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
