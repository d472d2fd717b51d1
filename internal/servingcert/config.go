package servingcert

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Mode is --tls-mode.
type Mode string

// Modes.
const (
	ModeAuto   Mode = "auto"
	ModeSecret Mode = "secret"
	ModeFiles  Mode = "files"
	ModeOff    Mode = "off"
)

// Names of the auto mode's Secrets, in the signing keys' namespace.
const (
	CASecretName  = "scopegate-ca"
	TLSSecretName = "scopegate-tls"
)

// DefaultDNSNames are the Service's in-cluster names plus the loopback
// names `make run` uses.
const DefaultDNSNames = "scopegate.scopegate-system.svc,scopegate.scopegate-system.svc.cluster.local,localhost,127.0.0.1"

// Config is the manager's TLS configuration, from its --tls-* flags.
type Config struct {
	Mode Mode
	// Secret is --tls-secret (secret mode).
	Secret types.NamespacedName
	// CertFile, KeyFile and CAFile are --tls-cert-file, --tls-key-file and
	// --tls-ca-file (files mode).
	CertFile, KeyFile, CAFile string
	// Names are --tls-dns-names (auto mode).
	Names []string
	// CertLifetime, CALifetime and CAOverlap shape the auto mode's
	// schedule.
	CertLifetime, CALifetime, CAOverlap time.Duration
	// CASecret and TLSSecret are where the auto mode keeps its CA set and
	// serving certificate: next to the signing keys.
	CASecret, TLSSecret types.NamespacedName

	mode, secret, names string
}

// BindFlags registers the --tls-* flags on fs.
func (c *Config) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.mode, "tls-mode", string(ModeAuto), "How the token server and the gateway get their TLS certificate: auto (scopegate's own CA), secret (a kubernetes.io/tls Secret, e.g. from cert-manager), files, or off (plain HTTP).")
	fs.StringVar(&c.secret, "tls-secret", "", "namespace/name of the kubernetes.io/tls Secret to serve (--tls-mode=secret); reloaded when it changes.")
	fs.StringVar(&c.CertFile, "tls-cert-file", "", "PEM certificate chain to serve (--tls-mode=files); reloaded when it changes.")
	fs.StringVar(&c.KeyFile, "tls-key-file", "", "PEM private key of --tls-cert-file (--tls-mode=files).")
	fs.StringVar(&c.CAFile, "tls-ca-file", "", "Optional PEM CA bundle published as ca.crt to clients (--tls-mode=files).")
	fs.StringVar(&c.names, "tls-dns-names", DefaultDNSNames, "Comma-separated DNS names and IP addresses of the serving certificate (--tls-mode=auto).")
	fs.DurationVar(&c.CertLifetime, "tls-cert-lifetime", 90*24*time.Hour, "Lifetime of the serving certificate (--tls-mode=auto); renewed at 2/3 of it.")
	fs.DurationVar(&c.CALifetime, "tls-ca-lifetime", 365*24*time.Hour, "Lifetime of scopegate's CA (--tls-mode=auto); renewed at 2/3 of it.")
	fs.DurationVar(&c.CAOverlap, "tls-ca-overlap", 24*time.Hour, "How long a new CA is in every ca.crt before it signs, and an old one after (--tls-mode=auto).")
}

// Complete validates the flags; namespace is the signing keys' namespace,
// where the auto mode keeps its Secrets.
func (c *Config) Complete(namespace string) error {
	var errs []error
	c.Mode = Mode(c.mode)
	if c.Mode == "" {
		c.Mode = ModeAuto
	}
	for _, n := range strings.Split(c.names, ",") {
		if n = strings.TrimSpace(n); n != "" {
			c.Names = append(c.Names, n)
		}
	}
	c.CASecret = types.NamespacedName{Namespace: namespace, Name: CASecretName}
	c.TLSSecret = types.NamespacedName{Namespace: namespace, Name: TLSSecretName}
	switch c.Mode {
	case ModeAuto:
		if len(c.Names) == 0 {
			errs = append(errs, errors.New("--tls-dns-names: at least one name is required with --tls-mode=auto"))
		}
		if c.CertLifetime < time.Minute {
			errs = append(errs, fmt.Errorf("--tls-cert-lifetime %s: must be at least 1m", c.CertLifetime))
		}
		if c.CAOverlap <= 0 || c.CAOverlap > c.CALifetime/3 {
			errs = append(errs, fmt.Errorf("--tls-ca-overlap %s: must be positive and at most a third of --tls-ca-lifetime %s", c.CAOverlap, c.CALifetime))
		}
		if c.CertLifetime > c.CALifetime {
			errs = append(errs, fmt.Errorf("--tls-cert-lifetime %s: must not exceed --tls-ca-lifetime %s", c.CertLifetime, c.CALifetime))
		}
	case ModeSecret:
		ns, name, ok := strings.Cut(c.secret, "/")
		if !ok || ns == "" || name == "" {
			errs = append(errs, fmt.Errorf("--tls-secret %q: want namespace/name with --tls-mode=secret", c.secret))
		}
		c.Secret = types.NamespacedName{Namespace: ns, Name: name}
	case ModeFiles:
		if c.CertFile == "" || c.KeyFile == "" {
			errs = append(errs, errors.New("--tls-cert-file and --tls-key-file are required with --tls-mode=files"))
		}
	case ModeOff:
	default:
		errs = append(errs, fmt.Errorf("--tls-mode %q: want auto, secret, files or off", c.mode))
	}
	return errors.Join(errs...)
}

// Enabled reports whether the listeners serve TLS.
func (c *Config) Enabled() bool { return c.Mode != ModeOff }

// Scheme is the scheme of the listeners' URLs.
func (c *Config) Scheme() string {
	if c.Enabled() {
		return "https"
	}
	return "http"
}
