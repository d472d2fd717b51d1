// Package fanout maps the events of one kind onto reconciles of many
// objects of another, coalesced: an event that matters schedules every
// target once, Delay later, and the events of that interval join the
// reconcile already scheduled (the workqueue keeps one entry per request,
// at its earliest time). A burst of N events among M targets thus costs
// about M reconciles per Delay, not N×M. The GatewayRoute status controller
// uses it for OAuthClient events, the OAuthClient controller for
// GatewayRoute events.
package fanout

import (
	"context"
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
	// Targets lists the requests an event schedules.
	Targets func(ctx context.Context) ([]reconcile.Request, error)
	// Matters reports whether an update can change what the targets
	// compute; nil means every update does. Creates and deletes always do.
	Matters func(old, cur client.Object) bool
	Delay   time.Duration
	Log     logr.Logger
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

func (h *Handler) schedule(ctx context.Context, q queue) {
	reqs, err := h.Targets(ctx)
	if err != nil {
		h.Log.Error(err, "List the objects an event schedules")
		return
	}
	for _, r := range reqs {
		q.AddAfter(r, h.Delay)
	}
}
