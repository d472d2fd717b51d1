package part

import (
	"context"
	"errors"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// unsynced is a cache that has not synced until synced is closed, as an
// informer cache during an API-server outage.
type unsynced struct {
	cache.Cache
	synced chan struct{}
}

func (u unsynced) WaitForCacheSync(ctx context.Context) bool {
	select {
	case <-u.synced:
		return true
	case <-ctx.Done():
		return false
	}
}

// outage holds the manager's start sequence in its cache group until the
// cache synced.
type outage struct{ c unsynced }

func (o outage) Start(ctx context.Context) error { <-ctx.Done(); return nil }
func (o outage) GetCache() cache.Cache           { return o.c }

// runnable tells when it started and returns err once fail is closed.
type runnable struct {
	started chan struct{}
	fail    chan struct{}
	err     error
}

func newRunnable(err error) *runnable {
	return &runnable{started: make(chan struct{}), fail: make(chan struct{}), err: err}
}

func (r *runnable) Start(ctx context.Context) error {
	close(r.started)
	select {
	case <-r.fail:
		return r.err
	case <-ctx.Done():
		return nil
	}
}

// NeedLeaderElection is false: every replica runs it.
func (r *runnable) NeedLeaderElection() bool { return false }

func startedWithin(r *runnable, d time.Duration) bool {
	select {
	case <-r.started:
		return true
	case <-time.After(d):
		return false
	}
}

func TestARunnableBeforeTheCacheSyncStartsDuringAnOutageAndItsErrorStopsTheManager(t *testing.T) {
	// No API server answers; nothing here asks one.
	mgr, err := manager.New(&rest.Config{Host: "http://127.0.0.1:1"}, manager.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	sync := unsynced{synced: make(chan struct{})}
	boom := errors.New("probe failed")
	early, late := newRunnable(boom), newRunnable(nil)
	for _, r := range []manager.Runnable{outage{sync}, BeforeCacheSync(early, mgr.GetCache()), late} {
		if err := mgr.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	stopped := false
	defer func() {
		if !stopped {
			close(sync.synced) // let the manager through its start sequence and stop
			cancel()
			<-done
		}
	}()

	if !startedWithin(early, 10*time.Second) {
		t.Fatal("the runnable placed before the cache sync did not start while the caches waited")
	}
	if startedWithin(late, 300*time.Millisecond) {
		t.Fatal("a runnable that needs no leader election started before the caches synced; the outage does not hold the start sequence, so the test proves nothing")
	}
	// It fails during the outage; the manager stops with its error once
	// the caches synced.
	close(early.fail)
	close(sync.synced)
	select {
	case err := <-done:
		stopped = true
		if !errors.Is(err, boom) {
			t.Errorf("manager.Start returned %v, want the runnable's error %v", err, boom)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the manager did not stop after the runnable placed before the cache sync failed")
	}
}
