package revocation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scopegate/scopegate/internal/owned"
)

// Labels and annotations of a revocation ConfigMap (besides the
// managed-by label internal/owned puts on everything it writes).
const (
	// RevocationLabel marks revocation ConfigMaps; the store watches only
	// these.
	RevocationLabel = "scopegate.dev/revocation"
	// ExpiresAtAnnotation holds the revoked token's exp (RFC 3339).
	ExpiresAtAnnotation = "scopegate.dev/expires-at"
	// JTIKey is the ConfigMap data key holding the jti.
	JTIKey     = "jti"
	namePrefix = "scopegate-revoked-"
)

// ClusterOptions configure a Cluster store.
type ClusterOptions struct {
	// Config reaches the API server. The store runs its own small cache of
	// revocation ConfigMaps in Namespace, so it does not depend on how the
	// manager's cache is set up.
	Config *rest.Config
	// Namespace is the operator namespace.
	Namespace string
	// Now defaults to time.Now.
	Now func() time.Time
	// GCInterval is how often the leader deletes expired revocations.
	// Default 5m.
	GCInterval time.Duration
	// Mapper maps ConfigMaps to their resource; nil asks discovery, which
	// fails when the API server is unreachable at start.
	Mapper meta.RESTMapper
	// RequestTimeout bounds every write and list of the store (the watch
	// is not bounded). Default 10s; callers on a request path set a
	// shorter deadline on their context.
	RequestTimeout time.Duration
	Log            logr.Logger
}

// Cluster is a Store backed by ConfigMaps.
type Cluster struct {
	opts   ClusterOptions
	client client.Client
	cache  cache.Cache
	s      *set
	synced atomic.Bool
	// loaded is closed once the set holds every revocation of the first
	// list: the event handler has been handed all of it, not merely the
	// informer's store.
	loaded chan struct{}
}

// NewCluster returns a Cluster store. Add it to the manager (every replica
// runs it: it feeds the in-memory set from a watch) and add Collector()
// (leader only).
func NewCluster(o ClusterOptions) (*Cluster, error) {
	if o.Config == nil || o.Namespace == "" {
		return nil, fmt.Errorf("revocation store needs a rest config and a namespace")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.GCInterval <= 0 {
		o.GCInterval = 5 * time.Minute
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Second
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("build revocation scheme: %w", err)
	}
	// The watch must not carry a request timeout; writes and lists must.
	bounded := rest.CopyConfig(o.Config)
	bounded.Timeout = o.RequestTimeout
	c, err := client.New(bounded, client.Options{Scheme: scheme, Mapper: o.Mapper})
	if err != nil {
		return nil, fmt.Errorf("build revocation client: %w", err)
	}
	ch, err := cache.New(o.Config, cache.Options{
		Scheme:               scheme,
		Mapper:               o.Mapper,
		DefaultNamespaces:    map[string]cache.Config{o.Namespace: {}},
		DefaultLabelSelector: labels.SelectorFromSet(labels.Set{RevocationLabel: "true"}),
		DefaultTransform:     slim,
	})
	if err != nil {
		return nil, fmt.Errorf("build revocation cache: %w", err)
	}
	return &Cluster{opts: o, client: c, cache: ch, s: newSet(), loaded: make(chan struct{})}, nil
}

// slim keeps of a revocation ConfigMap only what the store reads (the jti,
// its expiry, and what garbage collection deletes by): the cache holds one
// per revoked token, and managedFields, labels and the rest would be most
// of its memory.
func slim(obj any) (any, error) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return obj, nil
	}
	out := &corev1.ConfigMap{
		TypeMeta: cm.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:              cm.Name,
			Namespace:         cm.Namespace,
			UID:               cm.UID,
			ResourceVersion:   cm.ResourceVersion,
			CreationTimestamp: cm.CreationTimestamp,
			DeletionTimestamp: cm.DeletionTimestamp,
		},
	}
	if v, ok := cm.Annotations[ExpiresAtAnnotation]; ok {
		out.Annotations = map[string]string{ExpiresAtAnnotation: v}
	}
	if v, ok := cm.Data[JTIKey]; ok {
		out.Data = map[string]string{JTIKey: v}
	}
	return out, nil
}

// Name is the ConfigMap name for jti. A hash keeps it a valid object name
// whatever the jti holds.
func Name(jti string) string {
	sum := sha256.Sum256([]byte(jti))
	return namePrefix + hex.EncodeToString(sum[:20])
}

// Start watches revocation ConfigMaps until ctx ends, mirroring them into
// the in-memory set. It does not need leader election.
func (c *Cluster) Start(ctx context.Context) error {
	inf, err := c.cache.GetInformer(ctx, &corev1.ConfigMap{})
	if err != nil {
		return fmt.Errorf("watch revocations: %w", err)
	}
	reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observe(obj) },
		UpdateFunc: func(_, obj any) { c.observe(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Data[JTIKey] != "" {
				c.s.remove(cm.Data[JTIKey])
			}
		},
	})
	if err != nil {
		return fmt.Errorf("watch revocations: %w", err)
	}
	go func() {
		// The informer's store syncs before its handlers have been handed
		// the whole list; the set is loaded when the handler has.
		if c.cache.WaitForCacheSync(ctx) && toolscache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
			c.synced.Store(true)
			close(c.loaded)
		}
	}()
	return c.cache.Start(ctx)
}

// Ready is a healthz.Checker for /readyz: a replica must not verify tokens
// before it has read the revocations made while it was down.
func (c *Cluster) Ready(*http.Request) error {
	if !c.synced.Load() {
		return fmt.Errorf("revocations not synced yet")
	}
	return nil
}

// NeedLeaderElection is false: every replica must see every revocation.
func (c *Cluster) NeedLeaderElection() bool { return false }

// WaitForSync blocks until the store holds every existing revocation (or
// ctx ends: false).
func (c *Cluster) WaitForSync(ctx context.Context) bool {
	select {
	case <-c.loaded:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *Cluster) observe(obj any) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	jti := cm.Data[JTIKey]
	if jti == "" || cm.Name != Name(jti) {
		return // not ours, or edited by hand into something else
	}
	exp, err := time.Parse(time.RFC3339, cm.Annotations[ExpiresAtAnnotation])
	if err != nil {
		// Unknown expiry: keep it revoked for the longest token lifetime.
		exp = cm.CreationTimestamp.Add(24 * time.Hour)
	}
	c.s.add(jti, exp)
}

// Revoke implements Store: it records jti in this replica at once and in
// the cluster, where the other replicas' watches pick it up.
func (c *Cluster) Revoke(ctx context.Context, jti string, expiresAt time.Time) error {
	c.s.add(jti, expiresAt)
	// Created, never updated: a revocation is final, and one that exists
	// already (another replica, a retry) is the same fact.
	key := types.NamespacedName{Namespace: c.opts.Namespace, Name: Name(jti)}
	_, err := owned.WriteConfigMap(ctx, c.client, nil, owned.ConfigMap{
		What:        "revocation ConfigMap",
		Key:         key,
		Labels:      map[string]string{RevocationLabel: "true"},
		Annotations: map[string]string{ExpiresAtAnnotation: expiresAt.UTC().Format(time.RFC3339)},
		Data:        map[string]string{JTIKey: jti},
	})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("store revocation: %w", err)
	}
	return nil
}

// Revoked implements Store.
func (c *Cluster) Revoked(jti string) bool { return c.s.has(jti) }

// Len is the number of revocations this replica knows.
func (c *Cluster) Len() int { return c.s.len() }

// CollectGarbage deletes revocation ConfigMaps whose token expired more than
// Retention ago, and returns how many it deleted. It reads them from the
// store's cache (Start must run): one list of every revocation from the
// API server each GCInterval would cost as much as a replica's start.
func (c *Cluster) CollectGarbage(ctx context.Context) (int, error) {
	var list corev1.ConfigMapList
	if err := c.cache.List(ctx, &list, client.InNamespace(c.opts.Namespace)); err != nil {
		return 0, fmt.Errorf("list revocations: %w", err)
	}
	now := c.opts.Now()
	n := 0
	for i := range list.Items {
		cm := &list.Items[i]
		exp, err := time.Parse(time.RFC3339, cm.Annotations[ExpiresAtAnnotation])
		if err != nil {
			exp = cm.CreationTimestamp.Add(24 * time.Hour)
		}
		if !now.After(exp.Add(Retention)) {
			continue
		}
		// Precondition on the UID so a re-created object is left alone.
		if err := c.client.Delete(ctx, cm, client.Preconditions{UID: &cm.UID}); err != nil && !apierrors.IsNotFound(err) {
			return n, fmt.Errorf("delete revocation %s/%s: %w", cm.Namespace, cm.Name, err)
		}
		c.s.remove(cm.Data[JTIKey])
		n++
	}
	if n > 0 {
		c.opts.Log.V(1).Info("Deleted expired revocations", "count", n)
	}
	return n, nil
}

// Collector is the leader-only runnable that deletes expired revocations
// every GCInterval.
func (c *Cluster) Collector() *Collector { return &Collector{c: c} }

// Collector implements manager.Runnable and LeaderElectionRunnable.
type Collector struct{ c *Cluster }

// NeedLeaderElection is true: one replica deletes.
func (g *Collector) NeedLeaderElection() bool { return true }

// Start collects garbage every GCInterval until ctx ends.
func (g *Collector) Start(ctx context.Context) error {
	t := time.NewTicker(g.c.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := g.c.CollectGarbage(ctx); err != nil && ctx.Err() == nil {
				g.c.opts.Log.Error(err, "Revocation garbage collection failed")
			}
		}
	}
}

// Stats summarises the revocations this replica holds.
func (c *Cluster) Stats() Stats { return c.s.stats() }
