package servingcert

import (
	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	"github.com/scopegate/scopegate/internal/part"
)

// Setup returns the Source the listeners serve from for cfg's mode and the
// serving certificates as a part of the process: what every replica runs,
// what only the leader runs, and the "serving-cert" readiness check (the
// Source's Ready). With --tls-mode=off the Source is nil and the part
// empty. mgr provides the clients; Setup adds nothing to it.
//
//   - auto: the Issuer (leader-only) and a SecretLoader of the TLS Secret
//     (every replica, the leader included: it serves what it wrote, like
//     everyone else).
//   - secret: a SecretLoader of --tls-secret.
//   - files: a FileLoader.
func Setup(mgr ctrl.Manager, cfg *Config, log logr.Logger) (*Source, part.Part, error) {
	p := part.Part{Name: "serving certificates"}
	if !cfg.Enabled() {
		log.Info("WARNING: TLS is off (--tls-mode=off): client secrets and tokens cross the network in clear text; use it only behind a mesh that provides mTLS")
		return nil, p, nil
	}
	src := NewSource()
	p.Ready = map[string]healthz.Checker{"serving-cert": src.Ready}
	switch cfg.Mode {
	case ModeAuto:
		iss, err := NewIssuer(IssuerOptions{
			CASecret: cfg.CASecret, TLSSecret: cfg.TLSSecret,
			Names: cfg.Names, CertLifetime: cfg.CertLifetime,
			CA:     CAPolicy{Lifetime: cfg.CALifetime, Overlap: cfg.CAOverlap},
			Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), Clock: clock.RealClock{}, Log: log,
		})
		if err != nil {
			return nil, part.Part{}, err
		}
		loader, err := NewSecretLoader(mgr.GetConfig(), mgr.GetRESTMapper(), cfg.TLSSecret, src, log)
		if err != nil {
			return nil, part.Part{}, err
		}
		p.Serve = part.Runnables(loader)
		p.Lead = part.Runnables(iss)
		src.issuer = iss
	case ModeSecret:
		loader, err := NewSecretLoader(mgr.GetConfig(), mgr.GetRESTMapper(), cfg.Secret, src, log)
		if err != nil {
			return nil, part.Part{}, err
		}
		p.Serve = part.Runnables(loader)
	case ModeFiles:
		p.Serve = part.Runnables(&FileLoader{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, CAFile: cfg.CAFile, Source: src, Clock: clock.RealClock{}, Log: log})
	}
	return src, p, nil
}
