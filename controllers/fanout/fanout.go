// Package fanout maps the events of one kind onto reconciles of many
// objects of another, coalesced: the first event that matters arms one
// timer, Delay later the targets are listed and each is queued once, and
// the events that arrive meanwhile join that schedule without any work of
// their own. A burst of N events among M targets thus costs about M
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
	Delay   time.Duration
	Log     logr.Logger

	mu sync.Mutex
	// armed: a schedule is waiting to fire; events join it.
	armed bool
}

var _ handler.EventHandler = (*Handler)(nil)

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// Create schedules the targets.
func (h *Handler) Create(ctx context.Context, _ event.TypedCreateEvent[client.Object], q queue) {
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
	h.mu.Lock()
	if h.armed {
		h.mu.Unlock()
		return
	}
	h.armed = true
	h.mu.Unlock()
	// controller-runtime cancels the handler's context when the handler
	// returns; the list runs later, with its values only.
	ctx = context.WithoutCancel(ctx)
	time.AfterFunc(h.Delay, func() {
		h.mu.Lock()
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
	})
}
