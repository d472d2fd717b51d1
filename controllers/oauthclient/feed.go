package oauthclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/registry"
	"github.com/scopegate/scopegate/internal/tlsclientauth"
)

// RegistryFeed keeps the token server's client registry equal to the
// OAuthClients in the informer cache. It runs on every replica (no leader
// election) and never writes to the API server, so each replica's token
// endpoint, introspection and gateway see every change at once (SPEC §8).
type RegistryFeed struct {
	// Client reads from the manager's cache.
	Client   client.Reader
	Registry *registry.Registry
	// Fed, when set, is told of each OAuthClient reconciled without an
	// error (readiness waits for the first pass; apiserver.FirstPass).
	Fed func(types.NamespacedName)
	// APIReader reads the CA bundles of spec.tlsClientCertificate, which
	// the cache does not hold (they need not carry scopegate's label).
	APIReader client.Reader
	// CARecheck is how often those bundles are read again; zero means
	// DefaultClientCARecheck.
	CARecheck time.Duration
	// Now tells the time; nil is the real clock.
	Now func() time.Time
}

// Reconcile registers, updates or removes one client.
func (f *RegistryFeed) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	id := scopegatev1alpha1.ClientIDFor(req.Namespace, req.Name)
	obj := &scopegatev1alpha1.OAuthClient{}
	if err := f.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			f.Registry.Delete(id)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get OAuthClient %s: %w", req.NamespacedName, err)
	}
	if !obj.DeletionTimestamp.IsZero() {
		// Being deleted: its tokens stop working now, not when the
		// garbage collector gets to it.
		f.Registry.Delete(id)
		return ctrl.Result{}, nil
	}

	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: obj.Namespace, Name: obj.CredentialsSecret()}
	err := f.Client.Get(ctx, key, secret)
	switch {
	case apierrors.IsNotFound(err):
		secret = nil
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("get credentials Secret %s: %w", key, err)
	case !metav1.IsControlledBy(secret, obj):
		secret = nil
	}
	if secret == nil {
		if _, known := f.Registry.Get(id); !known {
			// Never usable until the client owns its credentials Secret.
			return ctrl.Result{}, nil
		}
		// The Secret went away (the leader recreates it with a new
		// secret): no secret authenticates, issued tokens stay valid.
	}
	c := ClientFor(obj, secret)
	var res ctrl.Result
	if obj.Spec.TLSClientCertificate != nil {
		res = f.certificateTrust(ctx, obj, c)
	}
	f.Registry.Upsert(c)
	ctrl.LoggerFrom(ctx).V(1).Info("Registered client", "clientID", id, "suspended", c.Suspended, "secrets", len(c.Secrets),
		"certificateTrust", c.CertificateTrust != nil)
	return res, nil
}

// certificateTrust sets c's CertificateTrust from obj's
// spec.tlsClientCertificate and says when to read the CA bundle again. A
// missing or unusable bundle leaves none (the leader reports why in
// ClientCAResolved). When the API server cannot answer, the trust already
// registered for the same bundle and subject is kept, so an outage does
// not lock clients out.
func (f *RegistryFeed) certificateTrust(ctx context.Context, obj *scopegatev1alpha1.OAuthClient, c *registry.Client) ctrl.Result {
	recheck := f.CARecheck
	if recheck <= 0 {
		recheck = DefaultClientCARecheck
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	trust, err := clientTrust(ctx, f.APIReader, obj, now())
	var caErr *clientCAError
	switch {
	case err == nil:
		c.CertificateTrust = trust
	case errors.As(err, &caErr):
		ctrl.LoggerFrom(ctx).V(1).Info("No client CA", "clientID", c.ID, "reason", caErr.Reason, "message", caErr.Message)
	default:
		ctrl.LoggerFrom(ctx).Error(err, "Cannot read the client CA; keeping the one registered", "clientID", c.ID)
		if prev, ok := f.Registry.Get(c.ID); ok {
			if t, ok := prev.CertificateTrust.(*tlsclientauth.Trust); ok && t.Subject() == subjectOf(obj.Spec.TLSClientCertificate) &&
				t.Origin == originOf(&obj.Spec.TLSClientCertificate.CA) {
				c.CertificateTrust = t
			}
		}
		// Sooner than the recheck: the trust may be missing or stale.
		recheck = min(recheck, 10*time.Second)
	}
	return ctrl.Result{RequeueAfter: recheck}
}

// ClientFor is the registry entry of obj whose credentials Secret is
// secret (nil: none that the client owns).
func ClientFor(obj *scopegatev1alpha1.OAuthClient, secret *corev1.Secret) *registry.Client {
	id := obj.ClientID()
	c := &registry.Client{
		ID:        id,
		Namespace: obj.Namespace,
		Name:      obj.Name,
		Subject:   registry.SubjectFor(id),
		Scopes:    scopegatev1alpha1.ScopeStrings(obj.Spec.Scopes),
		Audiences: scopegatev1alpha1.AudienceStrings(obj.Spec.Audiences),
		PluginID:  obj.Spec.PluginID,
		Suspended: obj.Spec.Suspended,

		RequireDPoP:   obj.Spec.RequireDPoP,
		TLSClientAuth: obj.Spec.TLSClientAuth,
		UID:           string(obj.UID),
	}
	for _, g := range obj.Spec.GrantTypes {
		c.GrantTypes = append(c.GrantTypes, string(g))
	}
	if len(c.GrantTypes) == 0 {
		c.GrantTypes = []string{string(scopegatev1alpha1.GrantTypeClientCredentials)}
	}
	if obj.Spec.AccessTokenTTL != nil {
		c.TTL = obj.Spec.AccessTokenTTL.Duration
	}
	if rl := obj.Spec.RateLimit; rl != nil {
		c.RateLimit = &registry.RateLimit{RequestsPerSecond: float64(rl.RequestsPerSecond), Burst: rl.EffectiveBurst()}
	}
	c.LLM = llmAccess(obj.Spec.LLM)
	c.ServiceAccounts = obj.ServiceAccountNames()
	c.Created = obj.CreationTimestamp.Time
	// A secretless client is never authenticated by a secret, not even one
	// left in its Secret until the leader removes it.
	if secret != nil && obj.UsesClientSecret() {
		if d, ok := currentDigest(secret); ok {
			c.Secrets = append(c.Secrets, registry.SecretDigest{Digest: d})
		}
		// The registry checks NotAfter itself, so an expired previous
		// secret fails even before the leader drops its annotation.
		if prev, ok := previousDigest(secret); ok {
			c.Secrets = append(c.Secrets, prev)
		}
	}
	return c
}

// SetupWithManager registers the feed; it runs without leader election.
func (f *RegistryFeed) SetupWithManager(mgr ctrl.Manager) error {
	if f.Registry == nil {
		return errors.New("registry feed: Registry is required")
	}
	if f.Client == nil {
		f.Client = mgr.GetClient()
	}
	if f.APIReader == nil {
		f.APIReader = mgr.GetAPIReader()
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("oauthclient-registry").
		WithOptions(controller.Options{NeedLeaderElection: ptr.To(false)}).
		For(&scopegatev1alpha1.OAuthClient{}).
		Owns(&corev1.Secret{}).
		Complete(reconcile.Func(func(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
			res, err := f.Reconcile(ctx, req)
			if err == nil && f.Fed != nil {
				f.Fed(req.NamespacedName)
			}
			return res, err
		}))
}

// llmAccess is spec.llm as the gateway applies it.
func llmAccess(l *scopegatev1alpha1.LLMAccess) *registry.LLMAccess {
	if l == nil {
		return nil
	}
	v := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	a := &registry.LLMAccess{AllowedModels: append([]string(nil), l.AllowedModels...),
		MaxInputTokens: v(l.MaxInputTokensPerCall), MaxOutputTokens: v(l.MaxOutputTokensPerCall)}
	if q := l.TokenQuota; q != nil {
		a.TokensPerMinute, a.TokensPerDay = v(q.PerMinute), v(q.PerDay)
	}
	return a
}
