package fanout

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
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
	q, obj := newQueue(t, "fanout-test")
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

func TestWithMaxDelayTheTargetsWaitForAPauseButNotPastMaxDelay(t *testing.T) {
	listed := make(chan time.Time, 10)
	h := &Handler{
		Targets: func(context.Context) ([]reconcile.Request, error) {
			listed <- time.Now()
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "a", Name: "one"}}}, nil
		},
		Delay:    300 * time.Millisecond,
		MaxDelay: 2 * time.Second,
		Log:      logr.Discard(),
	}
	q, obj := newQueue(t, "fanout-max-delay-test")

	// A burst with gaps shorter than Delay: listed once, after its last
	// event.
	var last time.Time
	for range 5 {
		last = time.Now()
		h.Create(context.Background(), event.TypedCreateEvent[client.Object]{Object: obj}, q)
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case at := <-listed:
		if at.Before(last) {
			t.Fatalf("listed %s before the burst's last event", last.Sub(at))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the targets were never listed")
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(listed); n != 0 {
		t.Fatalf("listed %d more times for one burst, want once", n)
	}

	// Events that never pause for Delay are listed anyway, by MaxDelay.
	stop := time.After(20 * time.Second)
	for {
		select {
		case <-listed:
			return
		case <-stop:
			t.Fatal("steady events postponed the targets past MaxDelay")
		case <-time.After(20 * time.Millisecond):
			h.Create(context.Background(), event.TypedCreateEvent[client.Object]{Object: obj}, q)
		}
	}
}

func TestEveryTargetsEachObjectOfItsKindAndNothingElse(t *testing.T) {
	reader := fake.NewClientBuilder().WithObjects(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "one"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "two"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "not-a-configmap"}},
	).Build()
	got, err := Every[corev1.ConfigMapList](reader)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []reconcile.Request{
		{NamespacedName: types.NamespacedName{Namespace: "a", Name: "one"}},
		{NamespacedName: types.NamespacedName{Namespace: "b", Name: "two"}},
	}
	slices.SortFunc(got, func(x, y reconcile.Request) int { return strings.Compare(x.String(), y.String()) })
	if !slices.Equal(got, want) {
		t.Fatalf("Every = %v, want %v", got, want)
	}
}

func TestTheInitialListFansNothingOutButALaterCreateDoes(t *testing.T) {
	var lists atomic.Int32
	h := &Handler{
		Targets: func(context.Context) ([]reconcile.Request, error) {
			lists.Add(1)
			return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: "a", Name: "one"}}}, nil
		},
		Delay: 20 * time.Millisecond,
		Log:   logr.Discard(),
	}
	q, obj := newQueue(t, "fanout-initial-list-test")
	for range 100 {
		h.Create(context.Background(), event.TypedCreateEvent[client.Object]{Object: obj, IsInInitialList: true}, q)
	}
	time.Sleep(200 * time.Millisecond) // ten delays: a schedule would have fired
	if got, n := q.Len(), lists.Load(); got != 0 || n != 0 {
		t.Fatalf("the initial list queued %d requests after %d lists; want none: the targets' own initial list queues them", got, n)
	}
	h.Create(context.Background(), event.TypedCreateEvent[client.Object]{Object: obj}, q)
	deadline := time.Now().Add(10 * time.Second)
	for q.Len() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got, n := q.Len(), lists.Load(); got != 1 || n != 1 {
		t.Fatalf("a create after the initial list: %d queued, %d lists; want 1 and 1", got, n)
	}
}

// newQueue is a controller's queue for a test, shut down when it ends, and
// an object whose events the test hands the Handler.
func newQueue(t *testing.T, name string) (queue, client.Object) {
	q := priorityqueue.New[reconcile.Request](name)
	t.Cleanup(q.ShutDown)
	return q, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "x"}}
}
