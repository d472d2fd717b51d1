package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scopegate/scopegate/internal/promreg"
)

// metrics are the gateway's Prometheus series (SPEC §7).
type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	decisions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
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
}
