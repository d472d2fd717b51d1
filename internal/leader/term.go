package leader

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// TermOptions configure the manager of each term.
type TermOptions struct {
	// ReconciliationTimeout bounds each Reconcile of the term's
	// controllers. Default 30s.
	ReconciliationTimeout time.Duration
	// ShutdownTimeout is how long a term's runnables get to return once the
	// term ends. Default 10s.
	ShutdownTimeout time.Duration
	// MaxConcurrentReconciles is the workers of each of the term's
	// controllers; 0 means controller-runtime's default.
	MaxConcurrentReconciles int
}

// ManagerTerm returns an Options.Term that runs, for each term, a fresh
// manager set up by setup. The manager borrows serving's cache, REST config,
// HTTP client, REST mapper, scheme and logger; it serves no metrics, probes
// or webhooks and runs no leader election of its own, so everything setup
// adds to it runs for the term. Controllers keep their names from term to
// term (name validation is skipped: one term's controllers have stopped
// before the next term's start).
func ManagerTerm(serving manager.Manager, o TermOptions, setup func(manager.Manager) error) func(context.Context) error {
	if o.ReconciliationTimeout <= 0 {
		o.ReconciliationTimeout = 30 * time.Second
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	return func(ctx context.Context) error {
		m, err := manager.New(serving.GetConfig(), manager.Options{
			Scheme: serving.GetScheme(),
			Logger: serving.GetLogger(),
			Client: client.Options{HTTPClient: serving.GetHTTPClient()},
			MapperProvider: func(*rest.Config, *http.Client) (meta.RESTMapper, error) {
				return serving.GetRESTMapper(), nil
			},
			NewCache: func(*rest.Config, cache.Options) (cache.Cache, error) {
				return &borrowedCache{Cache: serving.GetCache()}, nil
			},
			Metrics:                 metricsserver.Options{BindAddress: "0"},
			HealthProbeBindAddress:  "0",
			LeaderElection:          false,
			GracefulShutdownTimeout: ptr.To(o.ShutdownTimeout),
			// The term's runnables, and the wait for its caches, end with
			// the term (see borrowedCache.WaitForCacheSync).
			BaseContext: func() context.Context { return ctx },
			Controller: config.Controller{
				SkipNameValidation:      ptr.To(true),
				ReconciliationTimeout:   o.ReconciliationTimeout,
				MaxConcurrentReconciles: o.MaxConcurrentReconciles,
			},
		})
		if err != nil {
			return fmt.Errorf("create the term's manager: %w", err)
		}
		if err := setup(m); err != nil {
			return fmt.Errorf("set up leader-only work: %w", err)
		}
		return m.Start(ctx)
	}
}

// borrowedCache lends the serving manager's cache to a term's manager. The
// term reads and watches through it but neither starts nor stops it; the
// event handlers the term adds to its informers are removed when the term's
// manager stops the cache, so that terms do not pile up dead handlers.
type borrowedCache struct {
	cache.Cache

	mu   sync.Mutex
	regs []registration
	done bool
}

type registration struct {
	informer cache.Informer
	handle   toolscache.ResourceEventHandlerRegistration
}

var _ cache.Cache = (*borrowedCache)(nil)

func (b *borrowedCache) GetInformer(ctx context.Context, obj client.Object, opts ...cache.InformerGetOption) (cache.Informer, error) {
	i, err := b.Cache.GetInformer(ctx, obj, opts...)
	if err != nil {
		return nil, err
	}
	return &borrowedInformer{Informer: i, b: b}, nil
}

func (b *borrowedCache) GetInformerForKind(ctx context.Context, gvk schema.GroupVersionKind, opts ...cache.InformerGetOption) (cache.Informer, error) {
	i, err := b.Cache.GetInformerForKind(ctx, gvk, opts...)
	if err != nil {
		return nil, err
	}
	return &borrowedInformer{Informer: i, b: b}, nil
}

// RemoveInformer refuses: the informers belong to the serving manager.
func (b *borrowedCache) RemoveInformer(context.Context, client.Object) error {
	return errors.New("a term's cache is borrowed from the serving manager; its informers cannot be removed")
}

// WaitForCacheSync is the serving cache's, except that a term that has
// ended has nothing left to wait for (the term's manager checks with a
// context that ends with the term: its BaseContext). controller-runtime
// v0.25.2's manager waits for its caches in a loop that never ends once its
// context has ended (one CPU busy, and the term would never return to its
// elector); true lets it go on to stop, and the runnables it then starts get
// a context that has already ended.
func (b *borrowedCache) WaitForCacheSync(ctx context.Context) bool {
	return b.Cache.WaitForCacheSync(ctx) || ctx.Err() != nil
}

// Start blocks until the term ends, then removes the term's handlers.
func (b *borrowedCache) Start(ctx context.Context) error {
	<-ctx.Done()
	b.mu.Lock()
	regs := b.regs
	b.regs, b.done = nil, true
	b.mu.Unlock()
	var errs []error
	for _, r := range regs {
		if err := r.informer.RemoveEventHandler(r.handle); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove the term's event handlers: %w", err)
	}
	return nil
}

func (b *borrowedCache) track(i cache.Informer, h toolscache.ResourceEventHandlerRegistration, err error) (toolscache.ResourceEventHandlerRegistration, error) {
	if err != nil {
		return h, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		// The term already ended: do not leave the handler behind.
		_ = i.RemoveEventHandler(h)
		return nil, errors.New("the term ended")
	}
	b.regs = append(b.regs, registration{informer: i, handle: h})
	return h, nil
}

// borrowedInformer records the handlers a term adds.
type borrowedInformer struct {
	cache.Informer
	b *borrowedCache
}

// GetIndexer is the serving informer's store, for callers that only read
// it (apiserver.Cached); nil when the informer underneath has none.
func (i *borrowedInformer) GetIndexer() toolscache.Indexer {
	if ix, ok := i.Informer.(interface{ GetIndexer() toolscache.Indexer }); ok {
		return ix.GetIndexer()
	}
	return nil
}

func (i *borrowedInformer) AddEventHandler(h toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	r, err := i.Informer.AddEventHandler(h)
	return i.b.track(i.Informer, r, err)
}

func (i *borrowedInformer) AddEventHandlerWithResyncPeriod(h toolscache.ResourceEventHandler, p time.Duration) (toolscache.ResourceEventHandlerRegistration, error) {
	r, err := i.Informer.AddEventHandlerWithResyncPeriod(h, p)
	return i.b.track(i.Informer, r, err)
}

func (i *borrowedInformer) AddEventHandlerWithOptions(h toolscache.ResourceEventHandler, o toolscache.HandlerOptions) (toolscache.ResourceEventHandlerRegistration, error) {
	r, err := i.Informer.AddEventHandlerWithOptions(h, o)
	return i.b.track(i.Informer, r, err)
}

// Unelected runs term for the whole life of the process, for a replica
// started without leader election.
func Unelected(term func(context.Context) error) manager.Runnable { return unelected(term) }

type unelected func(context.Context) error

func (u unelected) Start(ctx context.Context) error { return u(ctx) }

// NeedLeaderElection is false: there is no election.
func (unelected) NeedLeaderElection() bool { return false }
