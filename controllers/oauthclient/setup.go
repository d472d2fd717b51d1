package oauthclient

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/scopegate/scopegate/internal/part"
)

// Part is the OAuthClient controllers as a part of the process: every
// replica feeds its client registry (SetupRegistryFeed), the leader writes
// the credentials and token Secrets and the status (SetupReconciler).
// Readiness waits for the feed through opts.Fed (apiserver.FirstPass).
func Part(opts Options) part.Part {
	return part.Part{
		Name:  "OAuthClient controllers",
		Serve: func(m manager.Manager) error { return SetupRegistryFeed(m, opts) },
		Lead:  func(m manager.Manager) error { return SetupReconciler(m, opts) },
	}
}

// SetupWithManager registers both OAuthClient controllers on mgr: the
// registry feed and the reconciler. The manager's cache must be restricted
// to managed Secrets with SecretCacheOptions.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if err := SetupRegistryFeed(mgr, opts); err != nil {
		return err
	}
	return SetupReconciler(mgr, opts)
}

// SetupRegistryFeed registers the registry feed, which every replica runs
// for as long as it serves.
func SetupRegistryFeed(mgr ctrl.Manager, opts Options) error {
	if opts.Registry == nil {
		return fmt.Errorf("oauthclient options: Registry is required")
	}
	feed := &RegistryFeed{Registry: opts.Registry, Fed: opts.Fed, CARecheck: opts.ClientCARecheck}
	if opts.Clock != nil {
		feed.Now = opts.Clock.Now
	}
	if err := feed.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up OAuthClient registry feed: %w", err)
	}
	return nil
}

// SetupReconciler registers the reconciler that writes credentials and
// token Secrets and status: leader-only work, registered on each term's
// manager (internal/leader).
func SetupReconciler(mgr ctrl.Manager, opts Options) error {
	if err := (&Reconciler{Options: opts}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up OAuthClient controller: %w", err)
	}
	return nil
}
