package tokenserver

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Outcomes of scopegate_token_requests_total: a fixed set, one per OAuth
// error code plus success and rate limiting.
const (
	outcomeIssued      = "issued"
	outcomeRateLimited = "rate_limited"
)

var outcomes = []string{outcomeIssued, outcomeRateLimited, ErrCodeInvalidRequest, ErrCodeInvalidClient,
	ErrCodeUnauthorizedClient, ErrCodeUnsupportedGrantType, ErrCodeInvalidScope, ErrCodeInvalidTarget,
	ErrCodeServerError, ErrCodeTemporarilyUnavailable}

type metrics struct {
	issued   prometheus.Counter
	requests *prometheus.CounterVec
	verify   *prometheus.CounterVec
	// verifyBy holds verify's four children by [valid][cached], resolved
	// once: Verify is on the gateway's hot path.
	verifyBy     [2][2]prometheus.Counter
	introspected *prometheus.CounterVec
	revoked      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		issued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scopegate_tokens_issued_total", Help: "Access tokens signed (token endpoint and token Secrets).",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopegate_token_requests_total", Help: "Token endpoint requests by outcome (issued, rate_limited or the OAuth error code).",
		}, []string{"outcome"}),
		verify: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopegate_token_verifications_total", Help: "Access-token verifications by result (valid, invalid) and whether the signature cache answered.",
		}, []string{"result", "cache"}),
		introspected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopegate_token_introspections_total", Help: "Introspection answers by active (true, false).",
		}, []string{"active"}),
		revoked: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scopegate_tokens_revoked_total", Help: "Access tokens revoked by their client.",
		}),
	}
	for _, o := range outcomes {
		m.requests.WithLabelValues(o)
	}
	for v, result := range []string{"invalid", "valid"} {
		for c, cache := range []string{"miss", "hit"} {
			m.verifyBy[v][c] = m.verify.WithLabelValues(result, cache)
		}
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.issued, m.requests, m.verify, m.introspected, m.revoked} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register token server metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) outcome(code string) {
	known := false
	for _, o := range outcomes {
		if o == code {
			known = true
			break
		}
	}
	if !known {
		code = ErrCodeServerError
	}
	m.requests.WithLabelValues(code).Inc()
}

// verified is the verification counter for a result.
func (m *metrics) verified(valid, cached bool) prometheus.Counter {
	return m.verifyBy[b2i(valid)][b2i(cached)]
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
