package apiserver

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/scopegate/scopegate/internal/part"
)

// PartOptions configure the probe and first-sync part (NewPart).
type PartOptions struct {
	// Kinds are the kinds whose informers must have synced once before the
	// replica is ready: those that the feeds read.
	Kinds []client.Object
	// Feeds must have reconciled what their caches held at the first sync.
	Feeds []*FirstPass
	// Metrics receives the probe's metrics.
	Metrics prometheus.Registerer
	Log     logr.Logger
}

// NewPart returns the API-server probe and the first-sync latch as a part
// of the process, both on every replica: the probe starts with the
// manager's caches (part.BeforeCacheSync), so that it reports an outage at
// start too, and its loop is the "healthz" liveness check; the latch is the
// "caches" readiness check. It registers the informers of o.Kinds on mgr's
// cache, so the manager waits for them before it starts its controllers.
func NewPart(ctx context.Context, mgr manager.Manager, o PartOptions) (part.Part, error) {
	dc, err := discovery.NewDiscoveryClientForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return part.Part{}, fmt.Errorf("create API-server probe client: %w", err)
	}
	probe, err := NewProbe(ProbeOptions{Client: dc.RESTClient(), Metrics: o.Metrics, Log: o.Log})
	if err != nil {
		return part.Part{}, err
	}
	synced, err := NewFirstSync(ctx, mgr.GetCache(), o.Kinds, o.Feeds...)
	if err != nil {
		return part.Part{}, err
	}
	return part.Part{
		Name:  "API-server probe",
		Serve: part.Runnables(part.BeforeCacheSync(probe, mgr.GetCache()), synced),
		Ready: map[string]healthz.Checker{"caches": synced.Check},
		// Healthy while the process is not wedged, reachable API server or
		// not.
		Live: map[string]healthz.Checker{"healthz": probe.Healthz},
	}, nil
}
