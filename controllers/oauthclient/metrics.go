package oauthclient

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// Metrics are the OAuthClient gauges (SPEC §7). They are exported by the
// leader, which computes them; the series of a deleted client are removed.
type Metrics struct {
	expiration *prometheus.GaugeVec
	ready      *prometheus.GaugeVec
	issuances  *prometheus.CounterVec
}

// Results of scopegate_token_secret_issuances_total.
const (
	issuanceIssued = "issued"
	issuanceFailed = "failed"
)

// NewMetrics creates the gauges and registers them on reg (the manager
// passes controller-runtime's metrics.Registry).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		expiration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scopegate_token_secret_expiration_timestamp_seconds",
			Help: "Expiry of the access token in an OAuthClient's token Secret, in Unix seconds.",
		}, []string{"namespace", "name"}),
		ready: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scopegate_oauthclient_ready",
			Help: "1 when the OAuthClient's Ready condition is True, else 0.",
		}, []string{"namespace", "name"}),
		issuances: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scopegate_token_secret_issuances_total",
			Help: "Token Secret issuances by result (issued, failed) and reason (DoesNotExist, SpecChanged, SecretMismatch, SigningKeyRetired, Expired, Renewing).",
		}, []string{"result", "reason"}),
	}
	for _, c := range []prometheus.Collector{m.expiration, m.ready, m.issuances} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register OAuthClient metrics: %w", err)
		}
	}
	return m, nil
}

// observe updates the gauges of obj from its status. A nil Metrics does
// nothing.
func (m *Metrics) observe(obj *scopegatev1alpha1.OAuthClient) {
	if m == nil {
		return
	}
	labels := prometheus.Labels{"namespace": obj.Namespace, "name": obj.Name}
	if t := obj.Status.Token; t != nil && t.NotAfter != nil {
		m.expiration.With(labels).Set(float64(t.NotAfter.Unix()))
	} else {
		m.expiration.Delete(labels)
	}
	ready := 0.0
	if meta.IsStatusConditionTrue(obj.Status.Conditions, scopegatev1alpha1.ConditionReady) {
		ready = 1
	}
	m.ready.With(labels).Set(ready)
}

// forget removes the series of a deleted client.
func (m *Metrics) forget(namespace, name string) {
	if m == nil {
		return
	}
	labels := prometheus.Labels{"namespace": namespace, "name": name}
	m.expiration.Delete(labels)
	m.ready.Delete(labels)
}

// issuance counts one token Secret issuance attempt.
func (m *Metrics) issuance(result, reason string) {
	if m == nil {
		return
	}
	m.issuances.WithLabelValues(result, reason).Inc()
}
