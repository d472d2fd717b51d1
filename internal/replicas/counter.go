package replicas

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Options configure a Counter.
type Options struct {
	// Reader lists EndpointSlices (the manager's cached client).
	Reader client.Reader
	// Service is scopegate's own Service.
	Service types.NamespacedName
	// Every is how often the count is refreshed; 0 means 2s.
	Every time.Duration
	// Metrics is where scopegate_gateway_replicas is registered; nil
	// means nowhere.
	Metrics prometheus.Registerer
	Log     logr.Logger
}

// Counter counts the ready endpoints of a Service, a manager.Runnable on
// every replica.
type Counter struct {
	opts  Options
	count atomic.Int64
	gauge prometheus.Gauge
}

// New returns a Counter that reports 0 until its first count.
func New(opts Options) (*Counter, error) {
	if opts.Reader == nil || opts.Service.Name == "" || opts.Service.Namespace == "" {
		return nil, fmt.Errorf("create replica counter: a reader and a namespace/name Service are required")
	}
	if opts.Every <= 0 {
		opts.Every = 2 * time.Second
	}
	c := &Counter{opts: opts, gauge: prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "scopegate_gateway_replicas",
		Help: "Replicas serving as this replica counts them (ready endpoints of its Service); each enforces 1/N of every local rate limit, the whole limit when 0 (cannot tell).",
	})}
	if opts.Metrics != nil {
		if err := opts.Metrics.Register(c.gauge); err != nil {
			return nil, fmt.Errorf("create replica counter: register metrics: %w", err)
		}
	}
	return c, nil
}

// Replicas is the last count; 0 when the replica cannot tell.
func (c *Counter) Replicas() int { return int(c.count.Load()) }

// NeedLeaderElection is false: every replica counts.
func (c *Counter) NeedLeaderElection() bool { return false }

// Start counts every Options.Every until ctx ends.
func (c *Counter) Start(ctx context.Context) error {
	t := time.NewTicker(c.opts.Every)
	defer t.Stop()
	for {
		c.refresh(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// refresh counts once, logging when the count changes.
func (c *Counter) refresh(ctx context.Context) {
	n, err := Count(ctx, c.opts.Reader, c.opts.Service)
	if err != nil {
		n = 0
	}
	if old := c.count.Swap(int64(n)); old != int64(n) {
		if err != nil {
			c.opts.Log.Info("Cannot count the replicas serving; local rate limits apply whole", "service", c.opts.Service.String(), "error", err.Error())
		} else {
			c.opts.Log.Info("Replicas serving changed; local rate limits are shared among them", "service", c.opts.Service.String(), "replicas", n, "was", old)
		}
	}
	c.gauge.Set(float64(n))
}

// Count is the number of ready endpoints of svc: distinct pods (or
// addresses, for an endpoint without a target) over all its EndpointSlices,
// so that the IPv4 and IPv6 slices of a dual-stack Service count a pod
// once.
func Count(ctx context.Context, r client.Reader, svc types.NamespacedName) (int, error) {
	var slices discoveryv1.EndpointSliceList
	if err := r.List(ctx, &slices, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return 0, fmt.Errorf("list the EndpointSlices of %s: %w", svc, err)
	}
	seen := map[string]bool{}
	for i := range slices.Items {
		for _, ep := range slices.Items[i].Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			key := ""
			switch {
			case ep.TargetRef != nil:
				key = ep.TargetRef.Namespace + "/" + ep.TargetRef.Name
			case len(ep.Addresses) > 0:
				key = ep.Addresses[0]
			default:
				continue
			}
			seen[key] = true
		}
	}
	return len(seen), nil
}
