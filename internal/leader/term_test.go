package leader

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// sharedCache is the serving manager's cache as a term sees it: one
// informer whose handlers are counted, and a Start that must never be
// called through a borrowed cache.
type sharedCache struct {
	cache.Cache
	informer *countingInformer
	started  bool
}

func (c *sharedCache) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return c.informer, nil
}

func (c *sharedCache) Start(context.Context) error {
	c.started = true
	return nil
}

type countingInformer struct {
	cache.Informer
	mu       sync.Mutex
	handlers map[*fakeHandle]struct{}
}

type fakeHandle struct{ _ int } // not zero-sized: distinct pointers

func (*fakeHandle) HasSynced() bool                          { return true }
func (*fakeHandle) HasSyncedChecker() toolscache.DoneChecker { return nil }

func (i *countingInformer) AddEventHandler(toolscache.ResourceEventHandler) (toolscache.ResourceEventHandlerRegistration, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	r := &fakeHandle{}
	i.handlers[r] = struct{}{}
	return r, nil
}

func (i *countingInformer) RemoveEventHandler(h toolscache.ResourceEventHandlerRegistration) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	delete(i.handlers, h.(*fakeHandle))
	return nil
}

func (i *countingInformer) count() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return len(i.handlers)
}

func TestATermsHandlersLeaveTheSharedInformersWhenTheTermEnds(t *testing.T) {
	shared := &sharedCache{informer: &countingInformer{handlers: map[*fakeHandle]struct{}{}}}
	// The serving manager's own handler stays.
	if _, err := shared.informer.AddEventHandler(toolscache.ResourceEventHandlerFuncs{}); err != nil {
		t.Fatal(err)
	}

	for term := 1; term <= 3; term++ {
		b := &borrowedCache{Cache: shared}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Start(ctx) }()
		inf, err := b.GetInformer(ctx, &corev1.Secret{})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{}); err != nil {
				t.Fatal(err)
			}
		}
		if n := shared.informer.count(); n != 3 {
			t.Fatalf("term %d: %d handlers on the shared informer during the term, want 3 (the serving manager's and the term's two)", term, n)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("term %d: Start: %v", term, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("term %d: Start did not return after the term ended", term)
		}
		if n := shared.informer.count(); n != 1 {
			t.Errorf("term %d: %d handlers left on the shared informer after the term, want 1 (the serving manager's)", term, n)
		}
		// A handler added after the term ended does not stay behind.
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{}); err == nil {
			t.Errorf("term %d: adding a handler after the term ended succeeded, want an error", term)
		}
		if n := shared.informer.count(); n != 1 {
			t.Errorf("term %d: %d handlers after a late add, want 1", term, n)
		}
	}
	if shared.started {
		t.Error("a borrowed cache started the shared cache; only the serving manager may")
	}
	if err := (&borrowedCache{Cache: shared}).RemoveInformer(context.Background(), &corev1.Secret{}); err == nil {
		t.Error("RemoveInformer through a borrowed cache succeeded, want an error: the informers are the serving manager's")
	}
}

// informerCache serves one informer for every kind.
type informerCache struct {
	cache.Cache
	informer cache.Informer
}

func (c informerCache) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return c.informer, nil
}

func TestABorrowedInformerLendsItsStore(t *testing.T) {
	serving := toolscache.NewSharedIndexInformer(&toolscache.ListWatch{}, &corev1.Secret{}, 0, toolscache.Indexers{})
	inf, err := (&borrowedCache{Cache: informerCache{informer: serving}}).GetInformer(context.Background(), &corev1.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	ix, ok := inf.(interface{ GetIndexer() toolscache.Indexer })
	if !ok || ix.GetIndexer() != serving.GetIndexer() {
		t.Fatal("a borrowed informer does not lend the serving informer's store")
	}
	// An informer without a store lends none.
	inf, err = (&borrowedCache{Cache: informerCache{informer: &countingInformer{}}}).GetInformer(context.Background(), &corev1.Secret{})
	if err != nil {
		t.Fatal(err)
	}
	if got := inf.(interface{ GetIndexer() toolscache.Indexer }).GetIndexer(); got != nil {
		t.Errorf("lent %v from an informer that has no store", got)
	}
}

// neverSynced is a serving cache whose informers never sync (the API server
// went away as the term began): WaitForCacheSync returns false when its
// context ends, as the informer cache's does.
type neverSynced struct{ cache.Cache }

func (neverSynced) WaitForCacheSync(ctx context.Context) bool {
	<-ctx.Done()
	return false
}

// servingStub is the little of the serving manager that ManagerTerm borrows.
type servingStub struct {
	manager.Manager
	cfg   *rest.Config
	cache cache.Cache
}

func (s servingStub) GetConfig() *rest.Config        { return s.cfg }
func (s servingStub) GetScheme() *runtime.Scheme     { return runtime.NewScheme() }
func (s servingStub) GetLogger() logr.Logger         { return logr.Discard() }
func (s servingStub) GetRESTMapper() meta.RESTMapper { return meta.NewDefaultRESTMapper(nil) }
func (s servingStub) GetCache() cache.Cache          { return s.cache }
func (s servingStub) GetHTTPClient() *http.Client    { return http.DefaultClient }

// A term that ends before the serving cache synced returns to its elector
// (controller-runtime's manager alone would wait for the sync forever).
func TestATermThatEndsBeforeTheCachesSyncedReturns(t *testing.T) {
	serving := servingStub{cfg: &rest.Config{Host: "https://127.0.0.1:1"}, cache: neverSynced{}}
	// Leader-only work must not begin once the term has ended.
	var began atomic.Bool
	work := manager.RunnableFunc(func(ctx context.Context) error {
		if ctx.Err() == nil {
			began.Store(true)
		}
		<-ctx.Done()
		return nil
	})
	term := ManagerTerm(serving, TermOptions{ShutdownTimeout: time.Second}, func(m manager.Manager) error { return m.Add(work) })
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- term(ctx) }()
	time.Sleep(500 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the term did not return within 30s of its end")
	}
	if began.Load() {
		t.Error("leader-only work began after the term ended")
	}
}
