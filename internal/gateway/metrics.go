package gateway

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scopegate/scopegate/internal/promreg"
)

// metrics are the gateway's Prometheus series (SPEC §7).
type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	decisions *prometheus.CounterVec

	// series caches the children of the three vectors by label values, so
	// that a request's decision costs one map lookup rather than three
	// label hashes and lookups (the profile of issue 22). gen moves on
	// every forget: an entry resolved before it is resolved again, so a
	// child deleted from its vector is never counted into.
	mu     sync.RWMutex
	series map[seriesKey]*seriesSet
	gen    atomic.Uint64
}

// seriesKey is the label values of one decision's series.
type seriesKey struct {
	route, decision, reason, method, item string
	code                                  int
}

// seriesSet is the children of one seriesKey.
type seriesSet struct {
	gen       uint64
	requests  prometheus.Counter
	duration  prometheus.Observer
	decisions prometheus.Counter
}

// maxCachedSeries bounds the cache; past it, lookups go to the vectors.
const maxCachedSeries = 4096

// of returns the children of k.
func (m *metrics) of(k seriesKey) *seriesSet {
	gen := m.gen.Load()
	m.mu.RLock()
	s := m.series[k]
	m.mu.RUnlock()
	if s != nil && s.gen == gen {
		return s
	}
	s = &seriesSet{gen: gen,
		requests:  m.requests.WithLabelValues(k.route, strconv.Itoa(k.code), k.decision),
		duration:  m.duration.WithLabelValues(k.route, k.decision),
		decisions: m.decisions.WithLabelValues(k.route, k.decision, k.reason, k.method, k.item),
	}
	m.mu.Lock()
	if len(m.series) < maxCachedSeries || m.series[k] != nil {
		m.series[k] = s
	}
	m.mu.Unlock()
	return s
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		series: map[seriesKey]*seriesSet{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopegate_gateway_requests_total",
			Help: "Requests handled by the gateway, by route (namespace/name, empty when none matched), status code and decision (allow or deny).",
		}, []string{"route", "code", "decision"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scopegate_gateway_request_duration_seconds",
			Help:    "Time from receiving a request to finishing its response, by route and decision.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
		}, []string{"route", "decision"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopegate_gateway_decisions_total",
			Help: "Gateway decisions by route, decision (allow, deny), reason code (authorized, missing_token, revoked, insufficient_scope, rate_limited, ...; the reason codes of the decision log and of explain) and, on routes with item rules, the JSON-RPC method (batch for a batch, other for a method the protocol does not define) and the item (the tool name, glob or resource prefix of the rule naming it, other when none does).",
		}, []string{"route", "decision", "reason", "jsonrpc_method", "item"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = promreg.Register(reg, "gateway", m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = promreg.Register(reg, "gateway", m.duration); err != nil {
		return nil, err
	}
	if m.decisions, err = promreg.Register(reg, "gateway", m.decisions); err != nil {
		return nil, err
	}
	return m, nil
}

// forget drops every series of the route key (namespace/name).
func (m *metrics) forget(key string) {
	m.requests.DeletePartialMatch(prometheus.Labels{"route": key})
	m.duration.DeletePartialMatch(prometheus.Labels{"route": key})
	m.decisions.DeletePartialMatch(prometheus.Labels{"route": key})
	m.gen.Add(1)
	m.mu.Lock()
	for k := range m.series {
		if k.route == key {
			delete(m.series, k)
		}
	}
	m.mu.Unlock()
}
