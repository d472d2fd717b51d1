package oauthclient

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
)

// SetupWithManager registers both OAuthClient controllers on mgr: the
// registry feed, on every replica, and the leader-elected reconciler. The
// manager's cache must be restricted to managed Secrets with
// SecretCacheOptions.
func SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if opts.Registry == nil {
		return fmt.Errorf("oauthclient options: Registry is required")
	}
	if err := (&RegistryFeed{Registry: opts.Registry}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up OAuthClient registry feed: %w", err)
	}
	if err := (&Reconciler{Options: opts}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up OAuthClient controller: %w", err)
	}
	return nil
}
