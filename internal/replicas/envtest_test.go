package replicas

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/scopegate/scopegate/internal/ratelimit"
	"github.com/scopegate/scopegate/internal/testenv"
)

var (
	cfg *rest.Config
	k8s client.Client
)

func TestMain(m *testing.M) {
	testenv.Main(m, func(c *rest.Config, cl client.Client) { cfg, k8s = c, cl })
}

// replica is one replica's counter, on an informer cache of its own, as
// the manager gives it.
func replica(t *testing.T, ctx context.Context) *Counter {
	t.Helper()
	ca, err := cache.New(cfg, cache.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = ca.Start(ctx) }()
	c, err := New(Options{Reader: ca, Service: svc, Every: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.Start(ctx) }()
	return c
}

// eventually waits up to 5s for both replicas to count want.
func eventually(t *testing.T, want int, replicas ...*Counter) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok := true
		for _, r := range replicas {
			ok = ok && r.Replicas() == want
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			for i, r := range replicas {
				t.Errorf("replica %d counts %d, want %d", i+1, r.Replicas(), want)
			}
			t.FailNow()
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTwoReplicasFollowTheServiceWithinSeconds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: svc.Namespace}}); err != nil {
		t.Fatal(err)
	}
	one, two := replica(t, ctx), replica(t, ctx)
	eventually(t, 0, one, two) // no slice: cannot tell, whole limits

	s := slice("scopegate-abc", "scopegate", discoveryv1.AddressTypeIPv4, pod("p1", "10.0.0.1", ptr.To(true)), pod("p2", "10.0.0.2", ptr.To(true)))
	if err := k8s.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2, one, two)
	l := ratelimit.Limit{PerSecond: 30, Burst: 60}
	if got := ratelimit.Share(l, one.Replicas()); got != (ratelimit.Limit{PerSecond: 15, Burst: 30}) {
		t.Errorf("share of two replicas %v", got)
	}

	// Scaled to three, then one of them stops being ready (terminating).
	s.Endpoints = append(s.Endpoints, pod("p3", "10.0.0.3", ptr.To(true)))
	if err := k8s.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3, one, two)
	s.Endpoints[2].Conditions.Ready = ptr.To(false)
	if err := k8s.Update(ctx, s); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2, one, two)

	// The Service gone: back to the whole limit.
	if err := k8s.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	eventually(t, 0, one, two)
}
