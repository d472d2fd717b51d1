package servingcert

import (
	"fmt"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Setup adds what every replica runs for cfg's mode to mgr and returns the
// Source the listeners serve from (nil for --tls-mode=off; its Ready is the
// "serving-cert" readiness check) and the leader-only runnables, which the
// caller runs in each term of leadership (internal/leader).
//
//   - auto: the Issuer (leader-only) and a SecretLoader of the TLS Secret
//     (every replica, the leader included: it serves what it wrote, like
//     everyone else).
//   - secret: a SecretLoader of --tls-secret.
//   - files: a FileLoader.
func Setup(mgr ctrl.Manager, cfg *Config, log logr.Logger) (*Source, []manager.Runnable, error) {
	if !cfg.Enabled() {
		log.Info("WARNING: TLS is off (--tls-mode=off): client secrets and tokens cross the network in clear text; use it only behind a mesh that provides mTLS")
		return nil, nil, nil
	}
	src := NewSource()
	var leader []manager.Runnable
	switch cfg.Mode {
	case ModeAuto:
		iss, err := NewIssuer(IssuerOptions{
			CASecret: cfg.CASecret, TLSSecret: cfg.TLSSecret,
			Names: cfg.Names, CertLifetime: cfg.CertLifetime,
			CA:     CAPolicy{Lifetime: cfg.CALifetime, Overlap: cfg.CAOverlap},
			Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Clock: clock.RealClock{}, Log: log,
		})
		if err != nil {
			return nil, nil, err
		}
		loader, err := NewSecretLoader(mgr.GetConfig(), mgr.GetRESTMapper(), cfg.TLSSecret, src, log)
		if err != nil {
			return nil, nil, err
		}
		if err := addAll(mgr, loader); err != nil {
			return nil, nil, err
		}
		leader = append(leader, iss)
	case ModeSecret:
		loader, err := NewSecretLoader(mgr.GetConfig(), mgr.GetRESTMapper(), cfg.Secret, src, log)
		if err != nil {
			return nil, nil, err
		}
		if err := addAll(mgr, loader); err != nil {
			return nil, nil, err
		}
	case ModeFiles:
		if err := addAll(mgr, &FileLoader{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, CAFile: cfg.CAFile, Source: src, Clock: clock.RealClock{}, Log: log}); err != nil {
			return nil, nil, err
		}
	}
	return src, leader, nil
}

func addAll(mgr ctrl.Manager, rs ...manager.Runnable) error {
	for _, r := range rs {
		if err := mgr.Add(r); err != nil {
			return fmt.Errorf("add serving-certificate runnable: %w", err)
		}
	}
	return nil
}
