package gatewayroute

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// routeLister answers List with fixed routes, as the cache would.
type routeLister struct {
	client.Reader
	routes []scopegatev1alpha1.GatewayRoute
}

func (l routeLister) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	list.(*scopegatev1alpha1.GatewayRouteList).Items = l.routes
	return nil
}

func eventClient(name string, scopes ...scopegatev1alpha1.Scope) *scopegatev1alpha1.OAuthClient {
	return &scopegatev1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name},
		Spec:       scopegatev1alpha1.OAuthClientSpec{Scopes: scopes},
	}
}

func TestABurstOfClientEventsReconcilesEachRouteOnce(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	scoped, other := route("a", "scoped", "/mcp/a", t0), route("b", "other", "/mcp/b", t0)
	scoped.Spec.RequiredScopes = []scopegatev1alpha1.Scope{"mcp"}
	other.Spec.RequiredScopes = []scopegatev1alpha1.Scope{"mcp:b:read"}
	anonymous := route("c", "anonymous", "/mcp/c", t0)
	anonymous.Spec.RequiredScopes, anonymous.Spec.AllowAnonymous = []scopegatev1alpha1.Scope{"mcp"}, true
	open := route("d", "open", "/mcp/d", t0)

	h := clientEvents(routeLister{routes: []scopegatev1alpha1.GatewayRoute{scoped, other, anonymous, open}}, 50*time.Millisecond, logr.Discard())
	q := priorityqueue.New[reconcile.Request]("coalesce-test")
	defer q.ShutDown()
	ctx := context.Background()
	for i := range 1000 {
		c := eventClient("c", "mcp")
		h.Create(ctx, event.TypedCreateEvent[client.Object]{Object: c}, q)
		// The status write that follows each creation maps to nothing.
		written := c.DeepCopy()
		written.Status.ClientID = "team.c"
		written.Generation = int64(i)
		h.Update(ctx, event.TypedUpdateEvent[client.Object]{ObjectOld: c, ObjectNew: written}, q)
	}

	deadline := time.Now().Add(10 * time.Second)
	for q.Len() < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // anything else scheduled would be ready by now
	// Every route counts its authorized clients, so every route is
	// reconciled, each once.
	if got := q.Len(); got != 4 {
		t.Fatalf("%d reconciles queued after 2000 client events, want 4 (one per route)", got)
	}
	got := map[string]bool{}
	for range 4 {
		req, _ := q.Get()
		got[req.String()] = true
		q.Done(req)
	}
	for _, want := range []string{"a/scoped", "b/other", "c/anonymous", "d/open"} {
		if !got[want] {
			t.Fatalf("queued %v, want %s among them", got, want)
		}
	}
}

func TestScopesMayChange(t *testing.T) {
	base := eventClient("c", "mcp", "a2a")
	deleting := base.DeepCopy()
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	suspended := base.DeepCopy()
	suspended.Spec.Suspended = true
	statusOnly := base.DeepCopy()
	statusOnly.Status.ClientID = "team.c"
	withAudiences := base.DeepCopy()
	withAudiences.Spec.Audiences = []scopegatev1alpha1.Audience{"mcp"}
	ttl := base.DeepCopy()
	ttl.Spec.AccessTokenTTL = &metav1.Duration{Duration: time.Hour}
	cases := []struct {
		name string
		cur  *scopegatev1alpha1.OAuthClient
		want bool
	}{
		{"a status write cannot change satisfiability", statusOnly, false},
		{"a spec change outside scopes, audiences and suspension cannot", ttl, false},
		{"a changed audience allow-list can", withAudiences, true},
		{"a changed scope list can", eventClient("c", "mcp"), true},
		{"reordered scopes are treated as changed", eventClient("c", "a2a", "mcp"), true},
		{"a suspension can", suspended, true},
		{"the start of a deletion can", deleting, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := scopesMayChange(base, tc.cur); got != tc.want {
				t.Fatalf("scopesMayChange = %v, want %v", got, tc.want)
			}
		})
	}
}
