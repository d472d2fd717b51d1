package apiserver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// heldSync holds the manager's start sequence among its caches until
// synced is closed, as informer caches that cannot list during an
// API-server outage do.
type heldSync struct {
	cache.Cache
	synced chan struct{}
}

func (h heldSync) WaitForCacheSync(ctx context.Context) bool {
	select {
	case <-h.synced:
		return true
	case <-ctx.Done():
		return false
	}
}

func (h heldSync) Start(ctx context.Context) error { <-ctx.Done(); return nil }
func (h heldSync) GetCache() cache.Cache           { return h }

func TestTheProbeReportsAnOutageBeforeTheCachesFirstSynced(t *testing.T) {
	// A frozen API server: every request hangs until the client gives up.
	var probes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			probes.Add(1)
		}
		<-r.Context().Done()
	}))
	defer srv.Close()
	mgr, err := manager.New(&rest.Config{Host: srv.URL}, manager.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := NewPart(ctx, mgr, PartOptions{Metrics: prometheus.NewRegistry(), Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Serve(mgr); err != nil {
		t.Fatal(err)
	}
	held := heldSync{synced: make(chan struct{})}
	if err := mgr.Add(held); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() {
		close(held.synced) // let the start sequence end, then stop
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager.Start: %v", err)
		}
	}()

	deadline := time.Now().Add(10 * time.Second)
	for probes.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if probes.Load() == 0 {
		t.Fatal("the probe asked nothing of the API server while the caches waited for their first sync")
	}
	if err := p.Ready["caches"](nil); err == nil {
		t.Error(`readiness check "caches" passed before the first sync`)
	}
	if err := p.Live["healthz"](nil); err != nil {
		t.Errorf(`liveness check "healthz" during the outage: %v, want healthy`, err)
	}
}
