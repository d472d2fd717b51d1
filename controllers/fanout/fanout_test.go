package fanout

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestABurstListsTheTargetsOnceAfterTheHandlersContextIsGone(t *testing.T) {
	var lists atomic.Int32
	targets := []reconcile.Request{
		{NamespacedName: types.NamespacedName{Namespace: "a", Name: "one"}},
		{NamespacedName: types.NamespacedName{Namespace: "a", Name: "two"}},
	}
	h := &Handler{
		Targets: func(ctx context.Context) ([]reconcile.Request, error) {
			if err := ctx.Err(); err != nil {
				t.Errorf("Targets got a finished context: %v", err)
			}
			lists.Add(1)
			return targets, nil
		},
		Delay: 50 * time.Millisecond,
		Log:   logr.Discard(),
	}
	q := priorityqueue.New[reconcile.Request]("fanout-test")
	defer q.ShutDown()
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "x"}}
	for range 1000 {
		// controller-runtime cancels the context as soon as the handler
		// returns.
		ctx, cancel := context.WithCancel(context.Background())
		h.Create(ctx, event.TypedCreateEvent[client.Object]{Object: obj}, q)
		cancel()
	}
	deadline := time.Now().Add(10 * time.Second)
	for q.Len() < len(targets) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // a second schedule would have fired by now
	if got := q.Len(); got != len(targets) {
		t.Fatalf("%d requests queued after 1000 events, want %d", got, len(targets))
	}
	if got := lists.Load(); got != 1 {
		t.Fatalf("the targets were listed %d times for one burst, want 1", got)
	}

	// After the schedule fired, the next event arms a new one.
	for range len(targets) {
		req, _ := q.Get()
		q.Done(req)
	}
	h.Delete(context.Background(), event.TypedDeleteEvent[client.Object]{Object: obj}, q)
	deadline = time.Now().Add(10 * time.Second)
	for q.Len() < len(targets) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got, n := q.Len(), lists.Load(); got != len(targets) || n != 2 {
		t.Fatalf("after a later event: %d queued, %d lists; want %d and 2", got, n, len(targets))
	}
}
