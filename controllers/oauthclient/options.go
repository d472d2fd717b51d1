package oauthclient

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"

	"github.com/scopegate/scopegate/internal/accesstoken"
	"github.com/scopegate/scopegate/internal/registry"
)

// Options are the dependencies and manager-wide defaults of the OAuthClient
// controllers. main turns flags into this struct.
type Options struct {
	// Issuer is the token server's issuer URL (--issuer); it is written to
	// the credentials and token Secrets.
	Issuer string
	// TokenURL is the token endpoint written to the credentials Secret.
	// Defaults to Issuer + "/oauth/token".
	TokenURL string
	// GatewayURL is --gateway-url: a route's resource URL, one of the
	// audiences it accepts, starts with it.
	GatewayURL string
	// AuditDelay gathers GatewayRoute events before the clients'
	// reachableRoutes are computed again; zero means DefaultAuditDelay.
	AuditDelay time.Duration
	// Registry is the client registry fed on every replica.
	Registry *registry.Registry
	// Fed, when set, is told of each OAuthClient the registry feed
	// reconciled (RegistryFeed.Fed).
	Fed func(types.NamespacedName)
	// Tokens signs the access tokens kept in token Secrets, with the same
	// keys and claims as the token endpoint.
	Tokens accesstoken.Issuer
	// Keys tells when a token's signing key was retired. Optional: nil never
	// re-issues for a key change.
	Keys accesstoken.KeyRetirement
	// KeyCheckInterval is how often the leader looks for token Secrets whose
	// signing key was retired. Defaults to DefaultKeyCheckInterval.
	KeyCheckInterval time.Duration
	// DefaultTTL is --access-token-ttl, the lifetime of tokens whose client
	// sets neither tokenSecret.duration nor accessTokenTTL.
	DefaultTTL time.Duration
	// DefaultAudiences is --default-audiences, the aud of token Secrets whose
	// spec names none.
	DefaultAudiences []string
	// Clock tells the time. Defaults to the real clock.
	Clock clock.PassiveClock
	// Recorder emits Kubernetes events. Defaults to the manager's recorder
	// named "scopegate-oauthclient".
	Recorder events.EventRecorder
	// Metrics, when set, exports token expiry and readiness gauges.
	Metrics *Metrics
	// CABundle is the CA bundle clients trust scopegate's listeners with;
	// it is published as ca.crt in every credentials and token Secret and
	// in the scopegate-ca ConfigMap of every namespace holding an
	// OAuthClient. nil (TLS off) publishes none.
	CABundle CABundle
	// ClientCerts signs the client certificates of clients with
	// spec.tlsClientAuth; nil (TLS not in auto mode) issues none.
	ClientCerts ClientCertIssuer
	// AcceptsClientCertificates: the listeners serve TLS and request
	// client certificates (every --tls-mode but off), so a certificate from
	// the CA of spec.tlsClientCertificate can authenticate a client.
	AcceptsClientCertificates bool
	// ClientCARecheck is how often the CA bundle of a client with
	// spec.tlsClientCertificate is read again (it is not watched: it need
	// not carry scopegate's label); zero means DefaultClientCARecheck.
	ClientCARecheck time.Duration
}

// clientCARecheck is o.ClientCARecheck or its default.
func (o *Options) clientCARecheck() time.Duration {
	if o.ClientCARecheck > 0 {
		return o.ClientCARecheck
	}
	return DefaultClientCARecheck
}

// CABundle is the source of the published CA bundle
// (servingcert.Source).
type CABundle interface {
	// Bundle is the PEM bundle; empty when there is nothing to publish.
	Bundle() []byte
	// Subscribe returns a channel that receives a value after the bundle
	// changed.
	Subscribe() <-chan struct{}
}

// bundle is the bundle to publish now, nil when none.
func (o *Options) bundle() []byte {
	if o.CABundle == nil {
		return nil
	}
	return o.CABundle.Bundle()
}

// DefaultTokenTTL is the lifetime used when Options.DefaultTTL is zero; it
// matches the manager's --access-token-ttl default.
const DefaultTokenTTL = time.Hour

func (o *Options) complete() error {
	if o.Issuer == "" {
		return fmt.Errorf("oauthclient options: Issuer is required")
	}
	if o.TokenURL == "" {
		o.TokenURL = o.Issuer + "/oauth/token"
	}
	if o.DefaultTTL == 0 {
		o.DefaultTTL = DefaultTokenTTL
	}
	if len(o.DefaultAudiences) == 0 {
		o.DefaultAudiences = []string{"api", "mcp", "a2a"}
	}
	if o.KeyCheckInterval <= 0 {
		o.KeyCheckInterval = DefaultKeyCheckInterval
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return nil
}
