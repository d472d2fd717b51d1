// Package fanout maps the events of one kind onto reconciles of many
// objects of another, coalesced: the first event that matters arms one
// timer, Delay later (or, with MaxDelay, once the burst pauses) the
// targets are listed and each is queued once, and the events that arrive
// meanwhile join that schedule without any work of their own. A burst of N events among M targets thus costs about M
// reconciles and one list per Delay, not N×M queue operations (1000 route
// events among 10,000 clients would otherwise be 10 million). The
// GatewayRoute status controller uses it for OAuthClient events, the
// OAuthClient controller for GatewayRoute events.
package fanout

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Handler is a handler.EventHandler that fans events out to Targets.
type Handler struct {
	// Targets lists the requests an event schedules. It is called when
	// the schedule fires, so it sees every event of the interval; it may
	// read the cache without deep copies (client.UnsafeDisableDeepCopy):
	// only the keys are used.
	Targets func(ctx context.Context) ([]reconcile.Request, error)
	// Matters reports whether an update can change what the targets
	// compute; nil means every update does. Creates and deletes always do.
	Matters func(old, cur client.Object) bool
	// Delay is how long after the first event of a burst the targets are
	// queued.
	Delay time.Duration
	// MaxDelay, when longer than Delay, waits for the burst to pause
	// instead: each event moves the schedule to Delay after itself, never
	// past MaxDelay after the burst's first event. 1000 routes created
	// over a minute then cost each client one status write or two, not one
	// every Delay while the API server is busiest.
	MaxDelay time.Duration
	Log      logr.Logger

	mu sync.Mutex
	// armed: a schedule is waiting to fire; events join it. first is
	// when its first event came, due when it fires.
	armed      bool
	first, due time.Time
}

var _ handler.EventHandler = (*Handler)(nil)

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// Create schedules the targets, except for the objects of the informer's
// initial list: a controller that starts (a new leader's) queues every
// target through the targets' own initial list, after every cache it
// watches has synced, so fanning those out too would pass over every
// target a second time (10,000 clients reconciled twice in a takeover).
func (h *Handler) Create(ctx context.Context, e event.TypedCreateEvent[client.Object], q queue) {
	if e.IsInInitialList {
		return
	}
	h.schedule(ctx, q)
}

// Update schedules the targets when the update matters.
func (h *Handler) Update(ctx context.Context, e event.TypedUpdateEvent[client.Object], q queue) {
	if h.Matters != nil && !h.Matters(e.ObjectOld, e.ObjectNew) {
		return
	}
	h.schedule(ctx, q)
}

// Delete schedules the targets.
func (h *Handler) Delete(ctx context.Context, _ event.TypedDeleteEvent[client.Object], q queue) {
	h.schedule(ctx, q)
}

// Generic schedules the targets.
func (h *Handler) Generic(ctx context.Context, _ event.TypedGenericEvent[client.Object], q queue) {
	h.schedule(ctx, q)
}

// schedule arms the timer unless it is armed already. The cache has
// applied the event before the handler runs, and the targets are listed
// after the timer fires, so the reconciles it queues see the event.
func (h *Handler) schedule(ctx context.Context, q queue) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.armed {
		if h.MaxDelay > h.Delay {
			// Never earlier than before: the previous due time was at
			// most Delay after an earlier event, and at most MaxDelay
			// after the first.
			h.due = now.Add(h.Delay)
			if last := h.first.Add(h.MaxDelay); h.due.After(last) {
				h.due = last
			}
		}
		return
	}
	h.armed, h.first, h.due = true, now, now.Add(h.Delay)
	// controller-runtime cancels the handler's context when the handler
	// returns; the list runs later, with its values only.
	ctx = context.WithoutCancel(ctx)
	var fire func()
	fire = func() {
		h.mu.Lock()
		if wait := time.Until(h.due); wait > 0 {
			// Moved by later events.
			h.mu.Unlock()
			time.AfterFunc(wait, fire)
			return
		}
		h.armed = false
		h.mu.Unlock()
		if q.ShuttingDown() {
			return // the controller stopped
		}
		reqs, err := h.Targets(ctx)
		if err != nil {
			h.Log.Error(err, "List the objects an event schedules")
			return
		}
		for _, r := range reqs {
			q.Add(r)
		}
	}
	time.AfterFunc(h.Delay, fire)
}

// Every is a Targets that schedules every object of one kind, read from
// reader (the cache) without deep copies: L is the kind's list type, as in
// Every[scopegatev1alpha1.OAuthClientList](mgr.GetClient()).
func Every[L any, PL interface {
	*L
	client.ObjectList
}](reader client.Reader) func(context.Context) ([]reconcile.Request, error) {
	return func(ctx context.Context) ([]reconcile.Request, error) {
		list := PL(new(L))
		if err := reader.List(ctx, list, client.UnsafeDisableDeepCopy); err != nil {
			return nil, err
		}
		out := make([]reconcile.Request, 0, meta.LenList(list))
		err := meta.EachListItem(list, func(o runtime.Object) error {
			obj, err := meta.Accessor(o)
			if err != nil {
				return err
			}
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}})
			return nil
		})
		return out, err
	}
}
