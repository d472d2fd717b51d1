package oauthclient

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/testenv"
)

// series gathers reg and returns name{namespace/name} -> value.
func series(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if m.GetGauge() == nil {
				continue
			}
			key := f.GetName() + "{"
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + ","
			}
			out[key+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestTheGaugesDescribeTheLeadersClientsWhileItsTermRuns(t *testing.T) {
	notAfter := metav1.NewTime(time.Unix(1900000000, 0))
	ready := &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "ready"}}
	ready.Status.Token = &scopegatev1alpha1.TokenStatus{NotAfter: &notAfter}
	ready.Status.Conditions = []metav1.Condition{{Type: scopegatev1alpha1.ConditionReady, Status: metav1.ConditionTrue}}
	pending := &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "pending"}}
	now := metav1.Now()
	doomed := &scopegatev1alpha1.OAuthClient{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "doomed", DeletionTimestamp: &now, Finalizers: []string{"test"}}}
	r := fake.NewClientBuilder().WithScheme(testenv.Scheme()).WithObjects(ready, pending, doomed).Build()

	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if got := series(t, reg); len(got) != 0 {
		t.Fatalf("series outside a leader's term: %v", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.from(nil, r, logr.Discard()).Start(ctx) }()
	want := map[string]float64{
		"scopegate_oauthclient_ready{name=ready,namespace=a,}":                         1,
		"scopegate_oauthclient_ready{name=pending,namespace=a,}":                       0,
		"scopegate_token_secret_expiration_timestamp_seconds{name=ready,namespace=a,}": 1900000000,
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := series(t, reg)
		if len(got) == len(want) {
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("series during the term: %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := series(t, reg); len(got) != 0 {
		t.Errorf("series after the term ended: %v", got)
	}

	// A cache that cannot be read costs these gauges one scrape, not the
	// scrape of every metric.
	failing := fake.NewClientBuilder().WithScheme(testenv.Scheme()).WithInterceptorFuncs(interceptor.Funcs{
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return errors.New("cache unavailable")
		},
	}).Build()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = m.from(nil, failing, logr.Discard()).Start(ctx) }()
	for m.source.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	if got := series(t, reg); len(got) != 0 {
		t.Errorf("series from a cache that failed: %v", got)
	}
}
