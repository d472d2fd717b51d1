package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// follower keeps a summary (a set of bits) of every object of one kind in
// the bench namespace, from one LIST and a watch from its resourceVersion,
// listing again whenever the watch ends. The scale runs wait on it.
//
// They used to list every object every 250 ms. At 10,000 OAuthClients
// each of those LISTs made kube-apiserver read, decode and encode 10,000
// custom resources as JSON, and the polling took a large share of the CPU
// that the manager's writes were measured against. A watch costs the
// server one more delivery of events it already encodes for the manager.
type follower struct {
	mu      sync.Mutex
	state   map[string]uint8
	changed chan struct{}
	// err is the last LIST or watch failure, for the timeout's message.
	err error
}

// follow starts following the kind of newList in the bench namespace until
// ctx ends; summarize gives an object's bits.
func follow(ctx context.Context, cfg *rest.Config, newList func() client.ObjectList, summarize func(client.Object) uint8) (*follower, error) {
	c, err := harnessClient(cfg)
	if err != nil {
		return nil, err
	}
	f := &follower{state: map[string]uint8{}, changed: make(chan struct{}, 1)}
	ready := make(chan struct{})
	go f.run(ctx, c, newList, summarize, ready)
	select {
	case <-ready:
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (f *follower) run(ctx context.Context, c client.WithWatch, newList func() client.ObjectList, summarize func(client.Object) uint8, ready chan struct{}) {
	first := true
	for ctx.Err() == nil {
		rv, err := f.list(ctx, c, newList(), summarize)
		if err == nil {
			if first {
				close(ready)
				first = false
			}
			err = f.watch(ctx, c, newList(), rv, summarize)
		}
		if err != nil {
			f.mu.Lock()
			f.err = err
			f.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// list replaces the state with what a LIST returns and gives its
// resourceVersion.
func (f *follower) list(ctx context.Context, c client.Client, list client.ObjectList, summarize func(client.Object) uint8) (string, error) {
	if err := c.List(ctx, list, client.InNamespace(benchNamespace)); err != nil {
		return "", fmt.Errorf("list: %w", err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return "", err
	}
	fresh := make(map[string]uint8, len(items))
	for _, o := range items {
		if obj, ok := o.(client.Object); ok {
			fresh[obj.GetName()] = summarize(obj)
		}
	}
	f.mu.Lock()
	f.state = fresh
	f.mu.Unlock()
	f.notify()
	return list.GetResourceVersion(), nil
}

// watch applies events from rv on until the watch ends; nil when it ended
// by itself (the server's timeout), to be listed and watched again.
func (f *follower) watch(ctx context.Context, c client.WithWatch, list client.ObjectList, rv string, summarize func(client.Object) uint8) error {
	w, err := c.Watch(ctx, list, &client.ListOptions{Namespace: benchNamespace, Raw: &metav1.ListOptions{ResourceVersion: rv}})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		obj, ok := ev.Object.(client.Object)
		switch {
		case ev.Type == watch.Error:
			return fmt.Errorf("watch: %v", apiStatus(ev.Object))
		case !ok:
		case ev.Type == watch.Added || ev.Type == watch.Modified:
			f.mu.Lock()
			f.state[obj.GetName()] = summarize(obj)
			f.mu.Unlock()
			f.notify()
		case ev.Type == watch.Deleted:
			f.mu.Lock()
			delete(f.state, obj.GetName())
			f.mu.Unlock()
			f.notify()
		}
	}
	return nil
}

func apiStatus(o any) string {
	if s, ok := o.(*metav1.Status); ok {
		return s.Message
	}
	return fmt.Sprintf("%T", o)
}

func (f *follower) notify() {
	select {
	case f.changed <- struct{}{}:
	default:
	}
}

// count is how many objects have every bit of mask.
func (f *follower) count(mask uint8) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, bits := range f.state {
		if bits&mask == mask {
			n++
		}
	}
	return n
}

// lastErr is the last failure to list or watch, nil when there was none.
func (f *follower) lastErr() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Bits of an OAuthClient's summary.
const (
	// clientReady: Ready for its generation.
	clientReady uint8 = 1 << iota
	// clientReachesAll: it counts every route of a routes run.
	clientReachesAll
)

// Bits of a GatewayRoute's summary.
const (
	// routeAccepted: Accepted for its generation.
	routeAccepted uint8 = 1 << iota
	// routeCountsAll: it counts every client of a routes run.
	routeCountsAll
)

// followClients follows the bench namespace's OAuthClients; routes is the
// number of routes each must reach for clientReachesAll (0: not asked).
func followClients(ctx context.Context, cfg *rest.Config, routes int) (*follower, error) {
	return follow(ctx, cfg, func() client.ObjectList { return &scopegatev1alpha1.OAuthClientList{} }, func(o client.Object) uint8 {
		oc, ok := o.(*scopegatev1alpha1.OAuthClient)
		if !ok {
			return 0
		}
		var bits uint8
		if trueFor(oc.Status.Conditions, scopegatev1alpha1.ConditionReady, oc.Generation) {
			bits |= clientReady
		}
		if routes > 0 && int(oc.Status.ReachableRouteCount) == routes {
			bits |= clientReachesAll
		}
		return bits
	})
}

// followRoutes follows the bench namespace's GatewayRoutes; clients is the
// number of clients each must count for routeCountsAll.
func followRoutes(ctx context.Context, cfg *rest.Config, clients int) (*follower, error) {
	return follow(ctx, cfg, func() client.ObjectList { return &scopegatev1alpha1.GatewayRouteList{} }, func(o client.Object) uint8 {
		gr, ok := o.(*scopegatev1alpha1.GatewayRoute)
		if !ok {
			return 0
		}
		var bits uint8
		if trueFor(gr.Status.Conditions, scopegatev1alpha1.ConditionAccepted, gr.Generation) {
			bits |= routeAccepted
		}
		if int(gr.Status.AuthorizedClients) == clients {
			bits |= routeCountsAll
		}
		return bits
	})
}

// trueFor reports whether condition t is True for the given generation.
func trueFor(conds []metav1.Condition, t string, generation int64) bool {
	c := meta.FindStatusCondition(conds, t)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == generation
}
