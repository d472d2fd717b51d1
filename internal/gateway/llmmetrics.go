package gateway

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scopegate/scopegate/internal/llm"
	"github.com/scopegate/scopegate/internal/promreg"
)

// llmMetrics are the series of LLM routes, named after the OpenTelemetry
// GenAI semantic conventions (gen_ai.client.token.usage,
// gen_ai.server.request.duration) with scopegate's route and client_id.
type llmMetrics struct {
	tokens   *prometheus.HistogramVec
	duration *prometheus.HistogramVec
	// quotaFailures count token-quota checks and charges the shared
	// store did not answer.
	quotaFailures *prometheus.CounterVec

	// series caches the observers of a call's labels, so that a call
	// does not hash six label values three times; forget drops a route's.
	mu     sync.RWMutex
	series map[llmSeriesKey]*llmSeries
}

// llmSeriesKey are a call's label values.
type llmSeriesKey struct {
	route, client, op, provider, model, outcome string
}

// llmSeries are the observers of one llmSeriesKey.
type llmSeries struct {
	input, output, duration prometheus.Observer
}

func newLLMMetrics(reg prometheus.Registerer) (*llmMetrics, error) {
	m := &llmMetrics{
		tokens: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gen_ai_client_token_usage",
			Help: "Tokens per LLM call through the gateway, as the provider counted them, by route, client_id, operation (chat, embeddings), provider, request model (the model route's pattern when it is one) and token type (input, output).",
			// The GenAI conventions' advice for gen_ai.client.token.usage.
			Buckets: []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864},
		}, []string{"route", "client_id", "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_token_type"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gen_ai_server_request_duration_seconds",
			Help:    "Time of an LLM call through the gateway, from the decision to the answer's last byte, by route, client_id, operation, provider, request model and outcome (ok, error).",
			Buckets: []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92},
		}, []string{"route", "client_id", "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "outcome"}),
		quotaFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopegate_gateway_llm_quota_failures_total",
			Help: "Token-quota operations the shared rate-limit store (Redis) did not answer, by op: check (the call passed unchecked with --rate-limit-failure-mode=open, was refused with 503 with closed) and charge (the call's tokens were not counted).",
		}, []string{"op"}),
		series: map[llmSeriesKey]*llmSeries{},
	}
	if reg == nil {
		return m, nil
	}
	var err error
	if m.tokens, err = promreg.Register(reg, "gateway", m.tokens); err != nil {
		return nil, err
	}
	if m.duration, err = promreg.Register(reg, "gateway", m.duration); err != nil {
		return nil, err
	}
	if m.quotaFailures, err = promreg.Register(reg, "gateway", m.quotaFailures); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *llmMetrics) observe(route, client string, lc *llmCall, u llm.Usage, d time.Duration, outcome string) {
	k := llmSeriesKey{route, client, llmOperation(lc.call.Operation), lc.provider.Name, lc.label, outcome}
	m.mu.RLock()
	s := m.series[k]
	m.mu.RUnlock()
	if s == nil {
		s = m.add(k)
	}
	s.input.Observe(float64(u.Input))
	if lc.call.Operation != llm.Embeddings {
		s.output.Observe(float64(u.Output))
	}
	s.duration.Observe(d.Seconds())
}

// add caches k's observers. It holds the lock while it looks them up so
// that a concurrent forget never leaves a deleted series cached.
func (m *llmMetrics) add(k llmSeriesKey) *llmSeries {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.series[k]; s != nil {
		return s
	}
	s := &llmSeries{
		input:    m.tokens.WithLabelValues(k.route, k.client, k.op, k.provider, k.model, "input"),
		duration: m.duration.WithLabelValues(k.route, k.client, k.op, k.provider, k.model, k.outcome),
	}
	if k.op != "embeddings" {
		s.output = m.tokens.WithLabelValues(k.route, k.client, k.op, k.provider, k.model, "output")
	}
	m.series[k] = s
	return s
}

func (m *llmMetrics) forget(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.series {
		if k.route == key {
			delete(m.series, k)
		}
	}
	m.tokens.DeletePartialMatch(prometheus.Labels{"route": key})
	m.duration.DeletePartialMatch(prometheus.Labels{"route": key})
}
