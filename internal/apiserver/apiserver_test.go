package apiserver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	testingclock "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
)

func TestTheStaticMapperMapsTheGivenKindsWithoutAnAPIServer(t *testing.T) {
	m, err := StaticRESTMapper(clientgoscheme.Scheme, []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}, []client.Object{&authenticationv1.TokenReview{}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := m.RESTMapping(schema.GroupKind{Group: "authentication.k8s.io", Kind: "TokenReview"}, "v1")
	if err != nil {
		t.Fatalf("RESTMapping(TokenReview): %v", err)
	}
	if tr.Resource.Resource != "tokenreviews" || tr.Scope.Name() != meta.RESTScopeNameRoot {
		t.Errorf("TokenReview maps to %v scope %s, want tokenreviews, cluster-scoped", tr.Resource, tr.Scope.Name())
	}
	got, err := m.RESTMapping(schema.GroupKind{Kind: "ConfigMap"}, "v1")
	if err != nil {
		t.Fatalf("RESTMapping(ConfigMap): %v", err)
	}
	if got.Resource.Resource != "configmaps" || got.Scope.Name() != meta.RESTScopeNameNamespace {
		t.Errorf("ConfigMap maps to %v scope %s, want configmaps, namespaced", got.Resource, got.Scope.Name())
	}
	if _, err := m.RESTMapping(schema.GroupKind{Kind: "Pod"}, "v1"); !meta.IsNoMatchError(err) {
		t.Errorf("RESTMapping(Pod) error %v, want a no-match error for a kind not listed", err)
	}
}

func TestFailingChecksAnswer503AndPassingOnes200(t *testing.T) {
	var ready atomic.Bool
	h := HealthHandler(
		map[string]healthz.Checker{"healthz": healthz.Ping},
		map[string]healthz.Checker{"caches": func(*http.Request) error {
			if !ready.Load() {
				return errors.New("not synced")
			}
			return nil
		}},
	)
	get := func(path string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w.Code
	}
	for _, c := range []struct {
		path string
		want int
	}{
		{"/readyz", http.StatusServiceUnavailable},
		{"/readyz/caches", http.StatusServiceUnavailable},
		{"/healthz", http.StatusOK},
		{"/healthz/healthz", http.StatusOK},
	} {
		if got := get(c.path); got != c.want {
			t.Errorf("GET %s before the sync: %d, want %d", c.path, got, c.want)
		}
	}
	ready.Store(true)
	if got := get("/readyz"); got != http.StatusOK {
		t.Errorf("GET /readyz after the sync: %d, want 200", got)
	}
}

// apiServer answers /readyz 200 unless down, in which case it hangs like a
// frozen kube-apiserver until the client gives up.
func apiServer(t *testing.T, down *atomic.Bool) rest.Interface {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		if down.Load() {
			<-r.Context().Done()
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	c, err := rest.UnversionedRESTClientFor(&rest.Config{Host: srv.URL, ContentConfig: rest.ContentConfig{
		NegotiatedSerializer: clientgoscheme.Codecs.WithoutConversion(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTheProbeReportsReachabilityAndLastContact(t *testing.T) {
	var down atomic.Bool
	clock := testingclock.NewFakeClock(time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	p, err := NewProbe(ProbeOptions{Client: apiServer(t, &down), Timeout: 100 * time.Millisecond, Now: clock.Now, Metrics: reg, Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	p.probe(ctx)
	contact := float64(clock.Now().Unix())
	if v := testutil.ToFloat64(p.reachable); v != 1 {
		t.Errorf("scopegate_apiserver_reachable %v after a successful probe, want 1", v)
	}
	if v := testutil.ToFloat64(p.lastContact); v != contact {
		t.Errorf("last contact %v, want %v", v, contact)
	}

	down.Store(true)
	clock.Step(time.Minute)
	start := time.Now()
	p.probe(ctx)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a probe of a hung API server took %s, want about its 100ms timeout", took)
	}
	if v := testutil.ToFloat64(p.reachable); v != 0 {
		t.Errorf("scopegate_apiserver_reachable %v with the API server hung, want 0", v)
	}
	if v := testutil.ToFloat64(p.lastContact); v != contact {
		t.Errorf("last contact %v after a failed probe, want the earlier %v", v, contact)
	}
	if err := p.Healthz(nil); err != nil {
		t.Errorf("Healthz with an unreachable API server: %v, want healthy: only a stalled loop is unhealthy", err)
	}
	if !strings.Contains(strings.Join(metricNames(t, reg), " "), "scopegate_apiserver_last_contact_timestamp_seconds") {
		t.Errorf("registered metrics %v lack scopegate_apiserver_last_contact_timestamp_seconds", metricNames(t, reg))
	}

	// No probe finished for longer than three intervals and a timeout: the
	// loop is stuck, the process is wedged.
	clock.Step(3*p.opts.Interval + p.opts.Timeout + time.Second)
	if err := p.Healthz(nil); err == nil {
		t.Errorf("Healthz after the probe loop stalled: nil, want an error")
	}
}

func metricNames(t *testing.T, reg *prometheus.Registry) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		out = append(out, mf.GetName())
	}
	return out
}

func TestTheFirstPassEndsOnceTheFeedReconciledEveryObjectOfTheFirstSync(t *testing.T) {
	objs := []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "one"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "two"}},
	}
	reader := fake.NewClientBuilder().WithObjects(objs...).Build()
	p := NewFirstPass(&corev1.ConfigMapList{})
	p.Fed(types.NamespacedName{Namespace: "a", Name: "one"})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.wait(ctx, reader, 10*time.Millisecond); err == nil {
		t.Fatal("wait returned with b/two never fed, want it to wait")
	}

	p.Fed(types.NamespacedName{Namespace: "b", Name: "two"})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := p.wait(ctx2, reader, 10*time.Millisecond); err != nil {
		t.Fatalf("wait after both were fed: %v", err)
	}
	// Done: the pass forgets its keys and records no more.
	p.Fed(types.NamespacedName{Namespace: "c", Name: "three"})
	if p.fed != nil {
		t.Errorf("the first pass still records keys after it ended: %v", p.fed)
	}
}
