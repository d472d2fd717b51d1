package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
)

// ProbeOptions configure a Probe.
type ProbeOptions struct {
	// Client reaches the API server (a discovery client's RESTClient()).
	Client rest.Interface
	// Interval between probes; default 5s. Timeout bounds each; default 2s.
	Interval time.Duration
	Timeout  time.Duration
	Now      func() time.Time
	// Metrics receives scopegate_apiserver_reachable and
	// scopegate_apiserver_last_contact_timestamp_seconds.
	Metrics prometheus.Registerer
	Log     logr.Logger
}

// Probe asks the API server's /readyz every Interval. It tells operators
// whether the API server is reachable and when it last was (how stale the
// caches may be); it changes nothing in how the replica serves. Its loop
// doubles as the liveness check: a process whose probe loop has stopped
// ticking is wedged.
type Probe struct {
	opts        ProbeOptions
	reachable   prometheus.Gauge
	lastContact prometheus.Gauge
	up          atomic.Bool
	known       bool         // a probe finished; touched only by Start's goroutine
	lastTick    atomic.Int64 // Unix nanoseconds of the last finished probe
}

// NewProbe registers the metrics and returns a Probe; add it to the manager
// with part.BeforeCacheSync (NewPart does).
func NewProbe(o ProbeOptions) (*Probe, error) {
	if o.Client == nil || o.Metrics == nil {
		return nil, errors.New("API-server probe needs a Client and Metrics")
	}
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &Probe{
		opts: o,
		reachable: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scopegate_apiserver_reachable",
			Help: "1 when the last probe of the API server's /readyz succeeded, else 0. The token server and gateway serve from caches either way.",
		}),
		lastContact: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scopegate_apiserver_last_contact_timestamp_seconds",
			Help: "Unix time of the last successful probe of the API server; time() minus this bounds how stale the caches may be (0: never reached).",
		}),
	}
	for _, c := range []prometheus.Collector{p.reachable, p.lastContact} {
		if err := o.Metrics.Register(c); err != nil {
			return nil, fmt.Errorf("register API-server probe metrics: %w", err)
		}
	}
	p.lastTick.Store(o.Now().UnixNano())
	return p, nil
}

// Start probes until ctx ends. Add it to the manager placed before the
// caches' first sync (part.BeforeCacheSync, as NewPart does): the manager
// starts other runnables only after its caches first synced, and the probe
// must also report an outage at start.
func (p *Probe) Start(ctx context.Context) error {
	t := time.NewTicker(p.opts.Interval)
	defer t.Stop()
	for {
		p.probe(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Probe) probe(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	err := p.opts.Client.Get().AbsPath("/readyz").Do(ctx).Error()
	now := p.opts.Now()
	p.lastTick.Store(now.UnixNano())
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
		return // shutting down
	}
	was, known := p.up.Swap(err == nil), p.known
	p.known = true
	if err != nil {
		p.reachable.Set(0)
		if was || !known {
			p.opts.Log.Info("API server unreachable; serving from caches, leader-only work waits", "error", err.Error())
		}
		return
	}
	p.reachable.Set(1)
	p.lastContact.Set(float64(now.UnixNano()) / 1e9)
	if !was {
		p.opts.Log.Info("API server reachable", "afterOutage", known)
	}
}

// Reachable reports the last probe's result.
func (p *Probe) Reachable() bool { return p.up.Load() }

// Healthz is a healthz.Checker for /healthz: it fails when the probe loop
// has not finished a probe for three intervals plus a timeout, i.e. the
// process is wedged. An unreachable API server does not fail it.
func (p *Probe) Healthz(*http.Request) error {
	last := time.Unix(0, p.lastTick.Load())
	if limit := 3*p.opts.Interval + p.opts.Timeout; p.opts.Now().Sub(last) > limit {
		return fmt.Errorf("API-server probe loop stalled: last probe %s ago (limit %s)", p.opts.Now().Sub(last).Round(time.Second), limit)
	}
	return nil
}
