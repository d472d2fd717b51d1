package tokenserver

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
)

// Defaults of Options.
const (
	DefaultTTL = time.Hour
	// MaxTTL is the longest token lifetime (SPEC §4 accessTokenTTL range);
	// keys.DefaultRetireAfter relies on it.
	MaxTTL = 24 * time.Hour
	// DefaultLeeway is the clock skew tolerated on exp and nbf.
	DefaultLeeway = 30 * time.Second
	// MaxBodyBytes bounds a request body (SPEC §5).
	MaxBodyBytes = 64 << 10
	// DefaultVerifyCacheSize bounds the verified-token cache.
	DefaultVerifyCacheSize = 10000
	// DefaultFailedAuthRate and DefaultFailedAuthBurst bound failed client
	// authentications per client_id and per source address: 20 at once,
	// then one every 5 seconds.
	DefaultFailedAuthRate  = 0.2
	DefaultFailedAuthBurst = 20
	// DefaultRevocationRate and DefaultRevocationBurst bound how many new
	// revocations one client stores: 100 at once, then one a second. Each
	// is an object in the cluster until its token expires.
	DefaultRevocationRate  = 1.0
	DefaultRevocationBurst = 100
	// DefaultWriteTimeout bounds a revocation's write to the API server; a
	// client waits at most this long for a 503 during an outage.
	DefaultWriteTimeout = 3 * time.Second
	// DefaultLimiterEntries bounds each rate-limiter table.
	DefaultLimiterEntries = 10000
)

// DefaultAudiences is --default-audiences' default.
func DefaultAudiences() []string { return []string{"api", "mcp", "a2a"} }

// Options configure a Server. Issuer, Registry, Keys and Revocations are
// required.
type Options struct {
	// ClientCertificates: the listener serves TLS and requests client
	// certificates without verifying them (every --tls-mode but off). A
	// client whose certificate verifies here, against ClientCAs
	// (tlsClientAuth) or its own referenced CA (tlsClientCertificate,
	// registry.Client.CertificateTrust), authenticates with it
	// (tls_client_auth) and its tokens are bound to it (RFC 8705).
	ClientCertificates bool
	// ClientCAs is the pool of scopegate's CA that tlsClientAuth
	// certificates chain to (servingcert.Source.ClientCAs); nil outside
	// auto mode, where no such certificate authenticates.
	ClientCAs func() *x509.CertPool
	// Issuer is --issuer: the iss of every token and the metadata issuer.
	Issuer      string
	Registry    *registry.Registry
	Keys        *keys.Ring
	Revocations revocation.Store
	// DefaultAudiences is aud when a request names none; default api, mcp,
	// a2a.
	DefaultAudiences []string
	// DefaultTTL is the lifetime of a token whose client sets none; 1h.
	DefaultTTL time.Duration
	// Leeway is the clock skew tolerated on exp and nbf; 30s.
	Leeway time.Duration
	Now    func() time.Time
	// TokenRateLimit limits successful token requests per client
	// (requests/s); 0 is off. TokenRateBurst defaults to the rate rounded
	// up.
	TokenRateLimit float64
	TokenRateBurst int
	// FailedAuthRate/FailedAuthBurst limit failed client authentications
	// per client_id and per source address (brute-force protection).
	FailedAuthRate  float64
	FailedAuthBurst int
	// RevocationRate/RevocationBurst limit new revocations stored per
	// client (requests/s and bucket size).
	RevocationRate  float64
	RevocationBurst int
	// WriteTimeout bounds every API-server write on the request path (a
	// revocation): past it the request answers 503 temporarily_unavailable
	// with Retry-After instead of hanging. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// LimiterEntries bounds the memory of each rate-limiter table.
	LimiterEntries int
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// VerifyCacheSize bounds the cache of verified tokens.
	VerifyCacheSize int
	// DPoPRequireNonce makes every DPoP proof at the token endpoint carry a
	// server nonce (RFC 9449 §8); the nonces are derived from the signing
	// keys, so every replica accepts every replica's nonce.
	DPoPRequireNonce bool
	// Workloads authenticates projected ServiceAccount tokens for client
	// assertions (RFC 7523) and token exchange (RFC 8693); nil turns both
	// off.
	Workloads WorkloadAuthenticator
	// Metrics receives the server's collectors; nil registers nothing.
	Metrics prometheus.Registerer
	Log     logr.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Issuer == "" {
		return o, fmt.Errorf("issuer is required")
	}
	u, err := url.Parse(o.Issuer)
	// RFC 8414 §2: an https URL with no query or fragment; http is allowed
	// for in-cluster and local use.
	if err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return o, fmt.Errorf("issuer %q must be an absolute http(s) URL without query or fragment", o.Issuer)
	}
	o.Issuer = strings.TrimSuffix(o.Issuer, "/")
	if o.Registry == nil || o.Keys == nil || o.Revocations == nil {
		return o, fmt.Errorf("registry, keys and revocations are required")
	}
	if len(o.DefaultAudiences) == 0 {
		o.DefaultAudiences = DefaultAudiences()
	}
	if o.DefaultTTL <= 0 {
		o.DefaultTTL = DefaultTTL
	}
	if o.DefaultTTL > MaxTTL {
		return o, fmt.Errorf("default token TTL %s exceeds %s", o.DefaultTTL, MaxTTL)
	}
	if o.Leeway <= 0 {
		o.Leeway = DefaultLeeway
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokenRateLimit < 0 {
		return o, fmt.Errorf("token rate limit must not be negative")
	}
	if o.TokenRateBurst <= 0 {
		o.TokenRateBurst = max(1, int(o.TokenRateLimit+0.999))
	}
	if o.FailedAuthRate <= 0 {
		o.FailedAuthRate = DefaultFailedAuthRate
	}
	if o.FailedAuthBurst <= 0 {
		o.FailedAuthBurst = DefaultFailedAuthBurst
	}
	if o.RevocationRate <= 0 {
		o.RevocationRate = DefaultRevocationRate
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.RevocationBurst <= 0 {
		o.RevocationBurst = DefaultRevocationBurst
	}
	if o.LimiterEntries <= 0 {
		o.LimiterEntries = DefaultLimiterEntries
	}
	if o.VerifyCacheSize <= 0 {
		o.VerifyCacheSize = DefaultVerifyCacheSize
	}
	return o, nil
}
