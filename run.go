package main

import (
	"fmt"

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
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// ManagedByLabel marks the Secrets and ConfigMaps that scopegate creates; the
// manager's cache holds only those, never every Secret in the cluster.
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
	managed := labels.SelectorFromSet(labels.Set{managedByLabel: managedByValue})
	return ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                  scheme,
		Logger:                  log,
		Metrics:                 metricsserver.Options{BindAddress: cfg.MetricsBindAddress},
		HealthProbeBindAddress:  cfg.HealthProbeBindAddress,
		LeaderElection:          cfg.LeaderElect,
		LeaderElectionID:        "scopegate.dev",
		LeaderElectionNamespace: cfg.LeaderElectionNS,
		// Leaving voluntarily lets a new leader take over at once on a rollout.
		LeaderElectionReleaseOnCancel: true,
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}:    {Label: managed},
			&corev1.ConfigMap{}: {Label: managed},
		}},
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
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func run(cfg *config, log logr.Logger) error {
	ctrl.SetLogger(log)
	mgr, err := newManager(cfg, log)
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add ready check: %w", err)
	}
	log.Info("Starting manager", "issuer", cfg.Issuer, "gatewayURL", cfg.GatewayURL,
		"oauthAddress", cfg.OAuthBindAddress, "gatewayAddress", cfg.GatewayBindAddress)
	return mgr.Start(ctrl.SetupSignalHandler())
}
