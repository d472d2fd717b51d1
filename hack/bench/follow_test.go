package main

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/testenv"
)

// The followers the scale runs wait on see what a LIST saw before they
// started and every change after it, on a real API server.
func TestTheFollowersSeeTheListAndEveryChangeAfterIt(t *testing.T) {
	env, err := testenv.New()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}); err != nil {
		t.Fatal(err)
	}
	// One client exists before the follower starts: its LIST must see it.
	if err := c.Create(ctx, benchClient(0)); err != nil {
		t.Fatal(err)
	}
	setReady(ctx, t, c, benchClient(0).Name, 1)

	const routes, clients = 2, 3
	cf, err := followClients(ctx, cfg, routes)
	if err != nil {
		t.Fatal(err)
	}
	rf, err := followRoutes(ctx, cfg, clients)
	if err != nil {
		t.Fatal(err)
	}
	waitCount(t, cf, clientReady, 1)
	waitCount(t, cf, 0, 1)

	for i := 1; i < clients; i++ {
		if err := c.Create(ctx, benchClient(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitCount(t, cf, 0, clients)
	waitCount(t, cf, clientReady, 1)
	setReady(ctx, t, c, benchClient(1).Name, routes)
	waitCount(t, cf, clientReady, 2)
	waitCount(t, cf, clientReady|clientReachesAll, 1)

	// A condition for an older generation is not Ready.
	var stale scopegatev1alpha1.OAuthClient
	if err := c.Get(ctx, client.ObjectKey{Namespace: benchNamespace, Name: benchClient(1).Name}, &stale); err != nil {
		t.Fatal(err)
	}
	stale.Spec.Scopes = append(stale.Spec.Scopes, "mcp:bench:extra")
	if err := c.Update(ctx, &stale); err != nil {
		t.Fatal(err)
	}
	waitCount(t, cf, clientReady, 1)

	if err := c.Delete(ctx, benchClient(0)); err != nil {
		t.Fatal(err)
	}
	waitCount(t, cf, 0, clients-1)
	waitCount(t, cf, clientReady, 0)

	for i := 0; i < routes; i++ {
		if err := c.Create(ctx, benchRoute(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitCount(t, rf, 0, routes)
	waitCount(t, rf, routeAccepted, 0)
	var gr scopegatev1alpha1.GatewayRoute
	if err := c.Get(ctx, client.ObjectKey{Namespace: benchNamespace, Name: benchRoute(0).Name}, &gr); err != nil {
		t.Fatal(err)
	}
	meta.SetStatusCondition(&gr.Status.Conditions, metav1.Condition{Type: scopegatev1alpha1.ConditionAccepted, Status: metav1.ConditionTrue, Reason: "Accepted", ObservedGeneration: gr.Generation})
	gr.Status.AuthorizedClients = clients
	if err := c.Status().Update(ctx, &gr); err != nil {
		t.Fatal(err)
	}
	waitCount(t, rf, routeAccepted|routeCountsAll, 1)
	if err := rf.lastErr(); err != nil {
		t.Errorf("the route follower failed on the way: %v", err)
	}
	if err := cf.lastErr(); err != nil {
		t.Errorf("the client follower failed on the way: %v", err)
	}
}

// setReady marks an OAuthClient Ready for its generation, reaching the
// given number of routes.
func setReady(ctx context.Context, t *testing.T, c client.Client, name string, reachable int) {
	t.Helper()
	var oc scopegatev1alpha1.OAuthClient
	if err := c.Get(ctx, client.ObjectKey{Namespace: benchNamespace, Name: name}, &oc); err != nil {
		t.Fatal(err)
	}
	meta.SetStatusCondition(&oc.Status.Conditions, metav1.Condition{Type: scopegatev1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Ready", ObservedGeneration: oc.Generation})
	oc.Status.ReachableRouteCount = int32(reachable)
	if err := c.Status().Update(ctx, &oc); err != nil {
		t.Fatal(err)
	}
}

// waitCount waits until f counts want objects with every bit of mask.
func waitCount(t *testing.T, f *follower, mask uint8, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := f.count(mask)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("objects with bits %b: %d, want %d", mask, got, want)
		}
		select {
		case <-f.changed:
		case <-time.After(100 * time.Millisecond):
		}
	}
}
