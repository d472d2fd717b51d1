package leader

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
