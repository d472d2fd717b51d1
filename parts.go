package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/controllers/gatewayroute"
	"github.com/scopegate/scopegate/controllers/oauthclient"
	"github.com/scopegate/scopegate/internal/admin"
	"github.com/scopegate/scopegate/internal/apiserver"
	"github.com/scopegate/scopegate/internal/gateway"
	"github.com/scopegate/scopegate/internal/part"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/replicas"
	"github.com/scopegate/scopegate/internal/servingcert"
	"github.com/scopegate/scopegate/tokenserver"
	"github.com/scopegate/scopegate/tokenserver/keys"
	"github.com/scopegate/scopegate/tokenserver/revocation"
	"github.com/scopegate/scopegate/tokenserver/workload"
)

// newParts builds every part of scopegate, in the order they are wired:
// the signing keys and revocations (followed on every replica, maintained
// by the leader), the serving certificates, the token server and the
// gateway with its admin API (serving on every replica), the controllers
// (the registry and route-table feeds on every replica, status and Secrets
// from the leader), and the API-server probe with the first-sync readiness.
// Each part says where its pieces run (internal/part). Metrics go to
// metrics.
func newParts(ctx context.Context, mgr ctrl.Manager, cfg *config, log logr.Logger, metrics prometheus.Registerer) (part.Parts, error) {
	clients := registry.New()
	ring := keys.NewRing(keys.Policy{RotationPeriod: cfg.SigningKeyRotation}, time.Now)
	signingKeys, err := keys.NewStore(keys.StoreOptions{
		Secret:    cfg.SigningKeysSecret,
		Reader:    mgr.GetClient(),
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Ring:      ring,
		// The leader looks for on-demand rotations this often.
		CheckInterval: 10 * time.Second,
		Log:           log.WithName("signing-keys"),
	})
	if err != nil {
		return nil, err
	}
	revocations, err := revocation.NewCluster(revocation.ClusterOptions{
		Config:    mgr.GetConfig(),
		Mapper:    mgr.GetRESTMapper(),
		Namespace: cfg.SigningKeysSecret.Namespace,
		Log:       log.WithName("revocations"),
	})
	if err != nil {
		return nil, err
	}
	// nil with --tls-mode=off: plain HTTP and no ca.crt anywhere.
	certs, servingCerts, err := servingcert.Setup(mgr, &cfg.TLS, log.WithName("serving-cert"))
	if err != nil {
		return nil, fmt.Errorf("set up serving certificates: %w", err)
	}
	// With TLS on the listeners request client certificates in every mode
	// (servingcert.Source.TLSConfig): certificate-bound tokens (RFC 8705).
	// scopegate's CA signs them in auto mode; a referenced CA works in
	// every mode.
	clientCertificates := cfg.TLS.Enabled()
	tokens, err := newTokenServer(mgr, cfg, clients, ring, revocations, certs, metrics, log)
	if err != nil {
		return nil, err
	}
	limitStore, err := newRateLimitStore(cfg, metrics)
	if err != nil {
		return nil, fmt.Errorf("create rate-limit store: %w", err)
	}
	// With local buckets, each replica enforces its share of every limit
	// among the replicas its Service counts.
	var counter *replicas.Counter
	gwOpts := gateway.Options{
		Verifier:             tokens,
		Registry:             clients,
		Issuer:               cfg.Issuer,
		GatewayURL:           cfg.GatewayURL,
		TrustedProxies:       cfg.TrustedProxies,
		DecisionLog:          cfg.DecisionLog,
		RateLimitStore:       limitStore,
		RateLimitFailureMode: cfg.RateLimitFailureMode,
		ClientCertificates:   clientCertificates,
		// Routes with item rules read request bodies up to this size.
		MaxInspectBytes: cfg.GatewayMaxInspectBytes,
		Metrics:         metrics,
		Log:             log.WithName("gateway"),
	}
	if limitStore == nil && cfg.ReplicasService.Name != "" {
		if counter, err = replicas.New(replicas.Options{Reader: mgr.GetClient(), Service: cfg.ReplicasService, Metrics: metrics, Log: log.WithName("replicas")}); err != nil {
			return nil, err
		}
		gwOpts.Replicas = counter
	}
	gw, err := gateway.New(gwOpts)
	if err != nil {
		return nil, fmt.Errorf("create gateway: %w", err)
	}
	adminAPI, err := admin.New(admin.Options{
		Verifier: tokens, Reader: mgr.GetClient(), Keys: ring, Revocations: revocations, Explainer: gw,
		RateLimitStore: gw.RateLimitStore, Usage: gw, Log: log.WithName("admin"),
	})
	if err != nil {
		return nil, err
	}
	clientMetrics, err := oauthclient.NewMetrics(metrics)
	if err != nil {
		return nil, err
	}
	var bundle oauthclient.CABundle
	var clientCerts oauthclient.ClientCertIssuer
	if certs != nil {
		bundle = certs
	}
	if certs.ClientCertificates() {
		clientCerts = certs
	}
	// Readiness waits until the feeds have reconciled what their caches held.
	clientsFed := apiserver.NewFirstPass(&scopegatev1alpha1.OAuthClientList{})
	routesFed := apiserver.NewFirstPass(&scopegatev1alpha1.GatewayRouteList{})
	// Ready when this replica can sign and verify: the signing keys are
	// loaded, the revocation list is synced, and the informer caches that
	// feed the registry and the route table synced once and the feeds went
	// through them. It stays ready through an API-server outage: the caches
	// keep serving.
	probe, err := apiserver.NewPart(ctx, mgr, apiserver.PartOptions{
		Kinds: []client.Object{&scopegatev1alpha1.OAuthClient{}, &corev1.Secret{},
			&scopegatev1alpha1.GatewayRoute{}, &corev1.Service{}, &discoveryv1.EndpointSlice{}},
		Feeds:   []*apiserver.FirstPass{clientsFed, routesFed},
		Metrics: metrics,
		Log:     log.WithName("apiserver"),
	})
	if err != nil {
		return nil, err
	}
	return part.Parts{
		signingKeys.Part(),
		revocations.Part(),
		servingCerts,
		listener("tokenserver", cfg.OAuthBindAddress, tokens.Handler(), certs, log),
		listener("gateway", cfg.GatewayBindAddress, adminAPI.Wrap(gw), certs, log),
		oauthclient.Part(oauthclient.Options{
			Issuer:           cfg.Issuer,
			GatewayURL:       cfg.GatewayURL,
			Registry:         clients,
			Fed:              clientsFed.Fed,
			Tokens:           tokens,
			Keys:             tokens,
			DefaultTTL:       cfg.AccessTokenTTL,
			DefaultAudiences: cfg.DefaultAudiences,
			Metrics:          clientMetrics,
			CABundle:         bundle,
			ClientCerts:      clientCerts,
			// Certificates of referenced CAs (tlsClientCertificate).
			AcceptsClientCertificates: clientCertificates,
		}),
		gatewayroute.Part(ctx, gatewayroute.Config{Table: gw.Table(), GatewayURL: cfg.GatewayURL, Fed: routesFed.Fed}),
		replicaPart(counter),
		probe,
	}, nil
}

func newTokenServer(mgr ctrl.Manager, cfg *config, clients *registry.Registry, ring *keys.Ring, revocations revocation.Store, certs *servingcert.Source, metrics prometheus.Registerer, log logr.Logger) (*tokenserver.Server, error) {
	// Projected ServiceAccount tokens name the issuer (or the token
	// endpoint) as audience; TokenReview is a write, so it goes to the API
	// server, never to the cache.
	workloads, err := workload.NewReviewer(workload.Options{
		Client:    mgr.GetClient(),
		Audiences: []string{cfg.Issuer, cfg.Issuer + tokenserver.PathToken},
	})
	if err != nil {
		return nil, err
	}
	// scopegate's own client certificates (tlsClientAuth) verify against
	// its CA, in auto mode only.
	var clientCAs func() *x509.CertPool
	if certs.ClientCertificates() {
		clientCAs = certs.ClientCAs
	}
	tokens, err := tokenserver.New(tokenserver.Options{
		Issuer:           cfg.Issuer,
		Registry:         clients,
		Keys:             ring,
		Revocations:      revocations,
		DefaultAudiences: cfg.DefaultAudiences,
		DefaultTTL:       cfg.AccessTokenTTL,
		TokenRateLimit:   cfg.TokenRateLimit,
		DPoPRequireNonce: cfg.DPoPRequireNonce,
		// The listeners request client certificates whenever TLS is on
		// (servingcert.Source.TLSConfig); the token server verifies them.
		ClientCertificates: cfg.TLS.Enabled(),
		ClientCAs:          clientCAs,
		TrustedProxies:     cfg.TrustedProxies,
		Workloads:          workloads,
		Metrics:            metrics,
		Log:                log.WithName("tokenserver"),
	})
	if err != nil {
		return nil, fmt.Errorf("create token server: %w", err)
	}
	return tokens, nil
}

// replicaPart counts the replicas serving, on every replica; nothing when
// the count is off (a Redis store, or --rate-limit-replicas-service=off).
func replicaPart(c *replicas.Counter) part.Part {
	p := part.Part{Name: "replica count"}
	if c != nil {
		p.Serve = part.Runnables(c)
	}
	return p
}

// listenerShutdown is how long a listener's open requests get to finish
// when the process stops.
const listenerShutdown = 15 * time.Second

// listener is a part that serves h on addr on every replica, with the
// serving certificate of certs (plain HTTP when nil).
func listener(name, addr string, h http.Handler, certs *servingcert.Source, log logr.Logger) part.Part {
	return part.Part{
		Name:  name + " listener",
		Serve: part.Runnables(&servingcert.Server{Name: name, Server: httpServer(addr, h), Source: certs, ShutdownTimeout: listenerShutdown, Log: log}),
	}
}
