package tokenserver

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/scopegate/scopegate/tokenserver/keys"
)

// Outcomes of scopegate_token_requests_total: a fixed set, one per OAuth
// error code plus success and rate limiting.
const (
	outcomeIssued      = "issued"
	outcomeRateLimited = "rate_limited"
)

var outcomes = []string{outcomeIssued, outcomeRateLimited, ErrCodeInvalidRequest, ErrCodeInvalidClient,
	ErrCodeUnauthorizedClient, ErrCodeUnsupportedGrantType, ErrCodeInvalidScope, ErrCodeInvalidTarget,
	ErrCodeServerError, ErrCodeTemporarilyUnavailable, ErrCodeInvalidDPoPProof, ErrCodeUseDPoPNonce}

// Endpoints of scopegate_token_request_duration_seconds.
const (
	endpointToken      = "token"
	endpointIntrospect = "introspect"
	endpointRevoke     = "revoke"
)

type metrics struct {
	issued prometheus.Counter
	// durationBy holds scopegate_token_request_duration_seconds' children
	// by endpoint, resolved once.
	duration   *prometheus.HistogramVec
	durationBy map[string]prometheus.Observer
	requests   *prometheus.CounterVec
	verify     *prometheus.CounterVec
	// verifyBy holds verify's four children by [valid][cached], resolved
	// once: Verify is on the gateway's hot path.
	verifyBy     [2][2]prometheus.Counter
	introspected *prometheus.CounterVec
	revoked      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, ring *keys.Ring) (*metrics, error) {
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
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scopegate_token_request_duration_seconds",
			Help:    "Time to answer a request of the token, introspection or revocation endpoint, by endpoint.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
		}, []string{"endpoint"}),
		durationBy: map[string]prometheus.Observer{},
	}
	for _, e := range []string{endpointToken, endpointIntrospect, endpointRevoke} {
		m.durationBy[e] = m.duration.WithLabelValues(e)
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
	// When the current signing key started signing, read at scrape time:
	// an alert on its age catches a rotation that stopped (no leader, no
	// write access to the signing-keys Secret).
	signingKey := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "scopegate_signing_key_activation_timestamp_seconds",
		Help: "When the signing key this replica signs with became active, in Unix seconds; 0 before the keys are loaded.",
	}, func() float64 {
		k, err := ring.Signing()
		if err != nil {
			return 0
		}
		return float64(k.ActivateAt.Unix())
	})
	for _, c := range []prometheus.Collector{m.issued, m.requests, m.verify, m.introspected, m.revoked, m.duration, signingKey} {
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

// timed observes how long h takes to answer, as the endpoint's latency.
func (s *Server) timed(endpoint string, h http.HandlerFunc) http.HandlerFunc {
	obs := s.metrics.durationBy[endpoint]
	return func(w http.ResponseWriter, r *http.Request) {
		start := s.opts.Now()
		h(w, r)
		obs.Observe(s.opts.Now().Sub(start).Seconds())
	}
}
