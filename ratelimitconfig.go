package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"

	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/ratelimit"
)

const (
	// rateLimitStoreLocal is --rate-limit-store for buckets in each
	// replica's memory.
	rateLimitStoreLocal = "local"
	// replicasServiceOff turns the replica count off.
	replicasServiceOff = "off"
)

// completeRateLimits validates the --rate-limit-* flags and derives the
// default replicas Service (the signing keys' namespace, "scopegate", as
// config/ and the chart name it).
func (c *config) completeRateLimits(replicasService string) error {
	var errs []error
	if c.RateLimitStore != rateLimitStoreLocal {
		// The URL may hold a password: the errors never quote it.
		u, err := url.Parse(c.RateLimitStore)
		switch {
		case err != nil:
			errs = append(errs, errors.New("--rate-limit-store: not a URL; want local, redis://host:port or rediss://host:port"))
		case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix":
			errs = append(errs, fmt.Errorf("--rate-limit-store: scheme %q; want local, redis://host:port or rediss://host:port", u.Scheme))
		}
	} else if c.RateLimitStorePasswordFile != "" || c.RateLimitStoreCAFile != "" {
		errs = append(errs, errors.New("--rate-limit-store-password-file and --rate-limit-store-ca-file need a Redis --rate-limit-store"))
	}
	if c.RateLimitStoreTimeout <= 0 || c.RateLimitStoreTimeout > 10*time.Second {
		errs = append(errs, fmt.Errorf("--rate-limit-store-timeout %s: want more than 0 and at most 10s", c.RateLimitStoreTimeout))
	}
	switch c.RateLimitFailureMode {
	case gateway.RateLimitFailOpen, gateway.RateLimitFailClosed:
	default:
		errs = append(errs, fmt.Errorf("--rate-limit-failure-mode %q: want open or closed", c.RateLimitFailureMode))
	}
	switch replicasService {
	case replicasServiceOff:
	case "":
		c.ReplicasService = types.NamespacedName{Namespace: c.SigningKeysSecret.Namespace, Name: "scopegate"}
	default:
		ns, name, ok := strings.Cut(replicasService, "/")
		if !ok || ns == "" || name == "" {
			errs = append(errs, fmt.Errorf("--rate-limit-replicas-service %q: want namespace/name or off", replicasService))
		}
		c.ReplicasService = types.NamespacedName{Namespace: ns, Name: name}
	}
	return errors.Join(errs...)
}

// newRateLimitStore is the gateway's shared rate-limit store from
// --rate-limit-store, or nil for the local buckets.
func newRateLimitStore(cfg *config, metrics prometheus.Registerer) (ratelimit.Store, error) {
	if cfg.RateLimitStore == rateLimitStoreLocal {
		return nil, nil
	}
	opts := ratelimit.RedisOptions{URL: cfg.RateLimitStore, Timeout: cfg.RateLimitStoreTimeout, Metrics: metrics}
	if f := cfg.RateLimitStorePasswordFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read --rate-limit-store-password-file: %w", err)
		}
		opts.Password = strings.TrimRight(string(b), "\r\n")
	}
	if f := cfg.RateLimitStoreCAFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read --rate-limit-store-ca-file: %w", err)
		}
		opts.RootCAs = x509.NewCertPool()
		if !opts.RootCAs.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("--rate-limit-store-ca-file %s: no PEM certificate", f)
		}
	}
	return ratelimit.NewRedis(opts)
}
