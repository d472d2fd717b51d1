package main

import (
	"flag"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scopegate/scopegate/internal/servingcert"
)

func parse(t *testing.T, args ...string) (*config, error) {
	t.Helper()
	fs := flag.NewFlagSet("scopegate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return parseFlags(fs, args, nil)
}

func TestFlagsHaveTheDocumentedDefaults(t *testing.T) {
	c, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.OAuthBindAddress != ":8080" || c.GatewayBindAddress != ":8000" || c.MetricsBindAddress != ":9090" || c.HealthProbeBindAddress != ":8081" {
		t.Errorf("bind addresses = %s %s %s %s", c.OAuthBindAddress, c.GatewayBindAddress, c.MetricsBindAddress, c.HealthProbeBindAddress)
	}
	if c.Issuer != "https://localhost:8080" || c.GatewayURL != "https://localhost:8000" {
		t.Errorf("issuer %q, gateway URL %q: HTTPS is the default", c.Issuer, c.GatewayURL)
	}
	if c.TLS.Mode != servingcert.ModeAuto || c.TLS.CASecret.String() != "scopegate-system/scopegate-ca" || c.TLS.TLSSecret.String() != "scopegate-system/scopegate-tls" {
		t.Errorf("TLS mode %s, CA Secret %s, TLS Secret %s", c.TLS.Mode, c.TLS.CASecret, c.TLS.TLSSecret)
	}
	if !slices.Equal(c.TLS.Names, []string{"scopegate.scopegate-system.svc", "scopegate.scopegate-system.svc.cluster.local", "localhost", "127.0.0.1"}) {
		t.Errorf("TLS names %v", c.TLS.Names)
	}
}

func TestTLSOffDefaultsToHTTPURLs(t *testing.T) {
	c, err := parse(t, "--tls-mode=off")
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "http://localhost:8080" || c.GatewayURL != "http://localhost:8000" {
		t.Errorf("issuer %q, gateway URL %q", c.Issuer, c.GatewayURL)
	}
	// Behind a mesh or an ingress that terminates TLS, the external URL
	// may still be https.
	if _, err := parse(t, "--tls-mode=off", "--issuer=https://auth.example.com"); err != nil {
		t.Errorf("an https issuer with --tls-mode=off: %v", err)
	}
}

func TestTLSModesTakeTheirFlags(t *testing.T) {
	c, err := parse(t, "--tls-mode=secret", "--tls-secret=certs/scopegate-tls")
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.Mode != servingcert.ModeSecret || c.TLS.Secret.String() != "certs/scopegate-tls" {
		t.Errorf("secret mode: %s %s", c.TLS.Mode, c.TLS.Secret)
	}
	c, err = parse(t, "--tls-mode=files", "--tls-cert-file=/tls/tls.crt", "--tls-key-file=/tls/tls.key")
	if err != nil {
		t.Fatal(err)
	}
	if c.TLS.Mode != servingcert.ModeFiles || c.TLS.CertFile != "/tls/tls.crt" || c.TLS.KeyFile != "/tls/tls.key" {
		t.Errorf("files mode: %+v", c.TLS)
	}
	if !slices.Equal(c.DefaultAudiences, []string{"api", "mcp", "a2a"}) {
		t.Errorf("default audiences = %v", c.DefaultAudiences)
	}
	if c.AccessTokenTTL != time.Hour || c.LeaderElect || c.TokenRateLimit != 0 || len(c.TrustedProxies) != 0 {
		t.Errorf("ttl %s, leader-elect %v, token rate %v, proxies %v", c.AccessTokenTTL, c.LeaderElect, c.TokenRateLimit, c.TrustedProxies)
	}
	if c.SigningKeysSecret.String() != "scopegate-system/scopegate-signing-keys" || c.LeaderElectionNS != "scopegate-system" {
		t.Errorf("signing keys %s, lease namespace %s", c.SigningKeysSecret, c.LeaderElectionNS)
	}
}

func TestFlagsAreParsed(t *testing.T) {
	c, err := parse(t, "--issuer=https://auth.example.com/", "--gateway-url=https://gw.example.com",
		"--default-audiences=mcp, a2a", "--access-token-ttl=10m", "--trusted-proxies=10.0.0.0/8,192.168.1.7",
		"--token-rate-limit=5", "--oauth-bind-address=127.0.0.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "https://auth.example.com" {
		t.Errorf("issuer %q: the trailing slash must go, so that iss and metadata agree", c.Issuer)
	}
	if !slices.Equal(c.DefaultAudiences, []string{"mcp", "a2a"}) || c.AccessTokenTTL != 10*time.Minute || c.TokenRateLimit != 5 {
		t.Errorf("got %+v", c)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("trusted proxies %v, want %v", c.TrustedProxies, want)
	}
}

func TestBadFlagsAreRefusedNamingTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--issuer=ftp://x"}, "--issuer"},
		{[]string{"--issuer=https://x/?q=1"}, "--issuer"},
		{[]string{"--gateway-url=not a url"}, "--gateway-url"},
		{[]string{"--default-audiences= , "}, "--default-audiences"},
		{[]string{"--access-token-ttl=30s"}, "--access-token-ttl"},
		{[]string{"--access-token-ttl=48h"}, "--access-token-ttl"},
		{[]string{"--signing-keys-secret=nonamespace"}, "--signing-keys-secret"},
		{[]string{"--trusted-proxies=10.0.0.0/99"}, "--trusted-proxies"},
		{[]string{"--token-rate-limit=-1"}, "--token-rate-limit"},
		{[]string{"stray"}, "unexpected arguments"},
		{[]string{"--tls-mode=insecure"}, "--tls-mode"},
		{[]string{"--issuer=http://auth.example.com"}, "--issuer"},
		{[]string{"--tls-mode=secret"}, "--tls-secret"},
		{[]string{"--tls-mode=files", "--tls-cert-file=/x"}, "--tls-key-file"},
		{[]string{"--tls-dns-names= , "}, "--tls-dns-names"},
		{[]string{"--tls-ca-overlap=0s"}, "--tls-ca-overlap"},
	} {
		_, err := parse(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one naming %s", tc.args, err, tc.want)
		}
	}
}

func TestTheKubernetesClientIsUnthrottledAndTheWorkersSizedForTheMachineByDefault(t *testing.T) {
	c, err := parse(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.KubeAPIQPS != -1 || c.KubeAPIBurst != 0 {
		t.Errorf("QPS %v, burst %d; want -1 (no client-side limiter) and 0", c.KubeAPIQPS, c.KubeAPIBurst)
	}
	if c.MaxConcurrentReconciles < 8 || c.MaxConcurrentReconciles > 64 {
		t.Errorf("max concurrent reconciles %d, want 8..64", c.MaxConcurrentReconciles)
	}
	if c.PprofBindAddress != "0" {
		t.Errorf("pprof address %q, want 0 (off)", c.PprofBindAddress)
	}
	for cpus, want := range map[int]int{1: 8, 2: 16, 4: 32, 16: 64} {
		if got := defaultMaxConcurrentReconciles(cpus); got != want {
			t.Errorf("%d CPUs: %d workers, want %d", cpus, got, want)
		}
	}
}

func TestAClientSideLimitTakesADefaultBurstAndBadValuesAreRefused(t *testing.T) {
	c, err := parse(t, "--kube-api-qps=20.5", "--max-concurrent-reconciles=3")
	if err != nil {
		t.Fatal(err)
	}
	if c.KubeAPIQPS != 20.5 || c.KubeAPIBurst != 41 || c.MaxConcurrentReconciles != 3 {
		t.Errorf("QPS %v, burst %d, workers %d; want 20.5, 41, 3", c.KubeAPIQPS, c.KubeAPIBurst, c.MaxConcurrentReconciles)
	}
	for _, args := range [][]string{{"--kube-api-qps=0"}, {"--kube-api-qps=-2"}, {"--kube-api-burst=-1"}, {"--max-concurrent-reconciles=-1"}} {
		if _, err := parse(t, args...); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
}
