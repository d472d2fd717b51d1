package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/scopegate/scopegate/internal/gateway"

	"github.com/scopegate/scopegate/internal/servingcert"
)

// config is the manager's configuration, from its flags (SPEC §2).
type config struct {
	Kubeconfig             string
	OAuthBindAddress       string
	GatewayBindAddress     string
	MetricsBindAddress     string
	HealthProbeBindAddress string
	Issuer                 string
	GatewayURL             string
	DefaultAudiences       []string
	AccessTokenTTL         time.Duration
	SigningKeysSecret      types.NamespacedName
	SigningKeyRotation     time.Duration
	LeaderElect            bool
	LeaderElectionNS       string
	TrustedProxies         []netip.Prefix
	TokenRateLimit         float64
	DPoPRequireNonce       bool
	DecisionLog            string
	// GatewayMaxInspectBytes bounds the request bodies the gateway reads
	// on routes with item rules (spec.mcp, spec.a2a).
	GatewayMaxInspectBytes int64
	// RateLimitStore is where the gateway's rate-limit buckets are:
	// "local", or a Redis URL (redis://, rediss://, unix://) whose buckets
	// every replica shares. It may hold a password: never log it.
	RateLimitStore             string
	RateLimitStorePasswordFile string
	RateLimitStoreCAFile       string
	RateLimitStoreTimeout      time.Duration
	RateLimitFailureMode       string
	// ReplicasService is scopegate's own Service, whose ready endpoints are
	// the replicas sharing each local limit; empty with
	// --rate-limit-replicas-service=off.
	ReplicasService types.NamespacedName
	// TLS is the listeners' certificate source (--tls-*).
	TLS servingcert.Config
	// KubeAPIQPS and KubeAPIBurst are client-go's client-side limit on API
	// requests; a negative QPS turns the limiter off (see --kube-api-qps).
	KubeAPIQPS   float64
	KubeAPIBurst int
	// MaxConcurrentReconciles is the number of workers of every controller.
	MaxConcurrentReconciles int
	PprofBindAddress        string
}

// defaultMaxConcurrentReconciles sizes the controllers' workers for the
// machine: reconciles mostly wait for the API server, so several per CPU
// keep the manager busy (docs/benchmarks.md: 8 per CPU was the fastest of
// 4, 8 and 16 on 2 CPUs).
func defaultMaxConcurrentReconciles(cpus int) int {
	return min(max(8*cpus, 8), 64)
}

func parseFlags(fs *flag.FlagSet, args []string, zapOpts *zap.Options) (*config, error) {
	c := &config{}
	var audiences, keysSecret, proxies, replicasService string
	// --kubeconfig is registered by controller-runtime's config package on the
	// default FlagSet; register it here only for other FlagSets (tests).
	if fs.Lookup("kubeconfig") == nil {
		fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "Path to a kubeconfig. Only required if out-of-cluster.")
	}
	fs.StringVar(&c.OAuthBindAddress, "oauth-bind-address", ":8080", "Address the token server listens on.")
	fs.StringVar(&c.GatewayBindAddress, "gateway-bind-address", ":8000", "Address the gateway listens on.")
	fs.StringVar(&c.MetricsBindAddress, "metrics-bind-address", ":9090", "Address of the Prometheus /metrics endpoint; 0 disables it.")
	fs.StringVar(&c.HealthProbeBindAddress, "health-probe-bind-address", ":8081", "Address of /healthz and /readyz.")
	fs.StringVar(&c.Issuer, "issuer", "", "Issuer URL: iss of every token and issuer in the metadata. Defaults to https://localhost<oauth-bind-address port> (http:// with --tls-mode=off).")
	fs.StringVar(&c.GatewayURL, "gateway-url", "", "External base URL of the gateway. Defaults to https://localhost<gateway-bind-address port> (http:// with --tls-mode=off).")
	fs.StringVar(&audiences, "default-audiences", "api,mcp,a2a", "Comma-separated aud of tokens whose request names none.")
	fs.DurationVar(&c.AccessTokenTTL, "access-token-ttl", time.Hour, "Default access-token lifetime (60s..24h).")
	fs.StringVar(&keysSecret, "signing-keys-secret", "scopegate-system/scopegate-signing-keys", "namespace/name of the Secret holding the signing keys.")
	fs.DurationVar(&c.SigningKeyRotation, "signing-key-rotation", 30*24*time.Hour, "How often the signing key rotates.")
	fs.BoolVar(&c.LeaderElect, "leader-elect", false, "Elect a leader for the controllers; the token server and gateway serve on every replica.")
	fs.StringVar(&c.LeaderElectionNS, "leader-election-namespace", "", "Namespace of the leader-election Lease. Defaults to the signing-keys Secret's namespace.")
	fs.StringVar(&proxies, "trusted-proxies", "", "Comma-separated CIDRs whose X-Forwarded-For is believed.")
	fs.Float64Var(&c.TokenRateLimit, "token-rate-limit", 0, "Successful token requests per second per client; 0 means off (failed authentications are always limited).")
	fs.BoolVar(&c.DPoPRequireNonce, "dpop-require-nonce", false, "Require a server nonce (DPoP-Nonce, RFC 9449 §8) in every DPoP proof at the token endpoint.")
	fs.Int64Var(&c.GatewayMaxInspectBytes, "gateway-max-inspect-bytes", gateway.DefaultMaxInspectBytes, "Largest request body the gateway reads on MCP and A2A routes with item rules (spec.mcp, spec.a2a); larger bodies are refused with 413. Other routes never have their bodies read.")
	fs.StringVar(&c.DecisionLog, "decision-log", gateway.DecisionLogDenied, "Which gateway decisions get a log line: denied, all or off (every decision is counted in scopegate_gateway_decisions_total).")
	fs.StringVar(&c.RateLimitStore, "rate-limit-store", rateLimitStoreLocal, "Where the gateway's rate-limit buckets are: local (each replica's memory, each limit divided among the replicas serving) or a Redis URL, redis://[:password@]host:port[/db] or rediss://... for TLS, whose buckets every replica shares (exact limits).")
	fs.StringVar(&c.RateLimitStorePasswordFile, "rate-limit-store-password-file", "", "File holding the Redis password (a mounted Secret key); replaces a password in the URL.")
	fs.StringVar(&c.RateLimitStoreCAFile, "rate-limit-store-ca-file", "", "PEM CA bundle that verifies a rediss:// server; empty means the system roots.")
	fs.DurationVar(&c.RateLimitStoreTimeout, "rate-limit-store-timeout", 100*time.Millisecond, "Bound on each call to Redis (dial, write, read, pool wait); a call past it is a store failure.")
	fs.StringVar(&c.RateLimitFailureMode, "rate-limit-failure-mode", gateway.RateLimitFailOpen, "What a request gets when Redis does not answer: open (it passes, counted in scopegate_gateway_rate_limit_unchecked_total) or closed (503 with Retry-After: 1).")
	fs.StringVar(&replicasService, "rate-limit-replicas-service", "", "namespace/name of scopegate's own Service, whose ready endpoints are the replicas that share each local rate limit (limit/N each); off makes every replica enforce the whole limit. Defaults to <signing-keys namespace>/scopegate.")
	c.TLS.BindFlags(fs)
	fs.Float64Var(&c.KubeAPIQPS, "kube-api-qps", -1, "Client-side limit on the manager's Kubernetes API requests per second; -1 turns the client-side limiter off and leaves flow control to the API server's Priority and Fairness (controller-runtime's default).")
	fs.IntVar(&c.KubeAPIBurst, "kube-api-burst", 0, "Burst above --kube-api-qps when that is positive; 0 means twice the QPS.")
	fs.IntVar(&c.MaxConcurrentReconciles, "max-concurrent-reconciles", 0, fmt.Sprintf("Workers per controller; 0 means 8 per CPU, between 8 and 64 (here %d).", defaultMaxConcurrentReconciles(runtime.GOMAXPROCS(0))))
	fs.StringVar(&c.PprofBindAddress, "pprof-bind-address", "0", "Address of the net/http/pprof endpoints, for profiling; 0 disables them.")
	if zapOpts != nil {
		zapOpts.BindFlags(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if f := fs.Lookup("kubeconfig"); f != nil && c.Kubeconfig == "" {
		c.Kubeconfig = f.Value.String()
	}
	return c, errors.Join(c.complete(audiences, keysSecret, proxies), c.completeRateLimits(replicasService))
}

// complete derives defaults and validates the configuration.
func (c *config) complete(audiences, keysSecret, proxies string) error {
	var errs []error
	ns, name, ok := strings.Cut(keysSecret, "/")
	if err := c.TLS.Complete(ns); err != nil {
		errs = append(errs, err)
	}
	if c.Issuer == "" {
		c.Issuer = c.TLS.Scheme() + "://localhost" + portOf(c.OAuthBindAddress)
	}
	if c.GatewayURL == "" {
		c.GatewayURL = c.TLS.Scheme() + "://localhost" + portOf(c.GatewayBindAddress)
	}
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	c.GatewayURL = strings.TrimSuffix(c.GatewayURL, "/")
	for name, v := range map[string]string{"--issuer": c.Issuer, "--gateway-url": c.GatewayURL} {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("%s %q: want an absolute http(s) URL without query or fragment", name, v))
		}
		if err == nil && u.Scheme == "http" && c.TLS.Enabled() {
			// The listener speaks TLS: an http:// URL would be advertised
			// in every token, Secret and metadata document and never work.
			errs = append(errs, fmt.Errorf("%s %q: the listeners serve HTTPS (--tls-mode=%s); use https:// or --tls-mode=off", name, v, c.TLS.Mode))
		}
	}
	for _, a := range strings.Split(audiences, ",") {
		if a = strings.TrimSpace(a); a != "" {
			c.DefaultAudiences = append(c.DefaultAudiences, a)
		}
	}
	if len(c.DefaultAudiences) == 0 {
		errs = append(errs, errors.New("--default-audiences: at least one audience is required"))
	}
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		errs = append(errs, fmt.Errorf("--access-token-ttl %s: must be between 60s and 24h", c.AccessTokenTTL))
	}
	if !ok || ns == "" || name == "" {
		errs = append(errs, fmt.Errorf("--signing-keys-secret %q: want namespace/name", keysSecret))
	}
	c.SigningKeysSecret = types.NamespacedName{Namespace: ns, Name: name}
	if c.LeaderElectionNS == "" {
		c.LeaderElectionNS = ns
	}
	if c.SigningKeyRotation < time.Hour {
		errs = append(errs, fmt.Errorf("--signing-key-rotation %s: must be at least 1h", c.SigningKeyRotation))
	}
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("--trusted-proxies %q: %w", p, err))
				continue
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}
	if c.GatewayMaxInspectBytes < 1024 || c.GatewayMaxInspectBytes > 64<<20 {
		errs = append(errs, fmt.Errorf("--gateway-max-inspect-bytes: %d must be between 1024 and %d", c.GatewayMaxInspectBytes, 64<<20))
	}
	switch c.DecisionLog {
	case gateway.DecisionLogDenied, gateway.DecisionLogAll, gateway.DecisionLogOff:
	default:
		errs = append(errs, fmt.Errorf("--decision-log: %q must be denied, all or off", c.DecisionLog))
	}
	if c.TokenRateLimit < 0 {
		errs = append(errs, errors.New("--token-rate-limit: must not be negative"))
	}
	switch {
	case c.KubeAPIQPS == 0 || (c.KubeAPIQPS < 0 && c.KubeAPIQPS != -1):
		errs = append(errs, errors.New("--kube-api-qps: want -1 (no client-side limit) or a positive rate"))
	case c.KubeAPIBurst < 0:
		errs = append(errs, errors.New("--kube-api-burst: must not be negative"))
	case c.KubeAPIQPS > 0 && c.KubeAPIBurst == 0:
		c.KubeAPIBurst = int(math.Ceil(2 * c.KubeAPIQPS))
	}
	switch {
	case c.MaxConcurrentReconciles < 0:
		errs = append(errs, errors.New("--max-concurrent-reconciles: must not be negative"))
	case c.MaxConcurrentReconciles == 0:
		c.MaxConcurrentReconciles = defaultMaxConcurrentReconciles(runtime.GOMAXPROCS(0))
	}
	return errors.Join(errs...)
}

// portOf is ":port" of a bind address such as ":8080" or "0.0.0.0:8080".
func portOf(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i:]
	}
	return ""
}
