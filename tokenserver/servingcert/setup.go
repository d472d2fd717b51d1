package servingcert

import (
	"fmt"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Setup adds what cfg's mode needs to mgr and returns the Source the
// listeners serve from; nil for --tls-mode=off.
//
//   - auto: the Issuer (leader) and a SecretLoader of the TLS Secret
//     (every replica, the leader included: it serves what it wrote, like
//     everyone else).
//   - secret: a SecretLoader of --tls-secret.
//   - files: a FileLoader.
func Setup(mgr ctrl.Manager, cfg *Config, log logr.Logger) (*Source, error) {
	if !cfg.Enabled() {
		log.Info("WARNING: TLS is off (--tls-mode=off): client secrets and tokens cross the network in clear text; use it only behind a mesh that provides mTLS")
		return nil, nil
	}
	src := NewSource()
	switch cfg.Mode {
	case ModeAuto:
		iss, err := NewIssuer(IssuerOptions{
			CASecret: cfg.CASecret, TLSSecret: cfg.TLSSecret,
			Names: cfg.Names, CertLifetime: cfg.CertLifetime,
			CA:     CAPolicy{Lifetime: cfg.CALifetime, Overlap: cfg.CAOverlap},
			Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Clock: clock.RealClock{}, Log: log,
		})
		if err != nil {
			return nil, err
		}
		loader, err := NewSecretLoader(mgr.GetConfig(), cfg.TLSSecret, src, log)
		if err != nil {
			return nil, err
		}
		if err := addAll(mgr, iss, loader); err != nil {
			return nil, err
		}
	case ModeSecret:
		loader, err := NewSecretLoader(mgr.GetConfig(), cfg.Secret, src, log)
		if err != nil {
			return nil, err
		}
		if err := addAll(mgr, loader); err != nil {
			return nil, err
		}
	case ModeFiles:
		if err := addAll(mgr, &FileLoader{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, CAFile: cfg.CAFile, Source: src, Clock: clock.RealClock{}, Log: log}); err != nil {
			return nil, err
		}
	}
	if err := mgr.AddReadyzCheck("serving-cert", src.Ready); err != nil {
		return nil, fmt.Errorf("add ready check serving-cert: %w", err)
	}
	return src, nil
}

func addAll(mgr ctrl.Manager, rs ...manager.Runnable) error {
	for _, r := range rs {
		if err := mgr.Add(r); err != nil {
			return fmt.Errorf("add serving-certificate runnable: %w", err)
		}
	}
	return nil
}
