package main

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// stopBeforeSyncGrace is how long a manager stopped before its caches synced
// gets to finish syncing (and then stop the usual way) before the process
// leaves without it.
const stopBeforeSyncGrace = 5 * time.Second

// start runs mgr until ctx ends, and returns once it stopped, or, when ctx
// ends before mgr's caches synced, at most grace later.
//
// controller-runtime v0.25.2's manager never returns when its context ends
// while it still waits for its caches: the wait loop sees the cancelled
// context, keeps looping on it (one CPU busy) and waits for a sync that a
// cancelled cache never reports. A replica started while the API server is
// unreachable would then ignore SIGTERM until the kubelet kills it. Before
// the caches synced no leader term has begun, nothing was written and
// /readyz has never answered 200 (no traffic to cut off), so leaving without
// the manager loses nothing.
func start(ctx context.Context, mgr manager.Manager, log logr.Logger, grace time.Duration) error {
	synced := make(chan struct{})
	// Runnables that need no election start after the caches synced.
	if err := mgr.Add(afterSync(func() { close(synced) })); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- mgr.Start(ctx) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-errc:
		return err
	case <-synced:
		return <-errc
	case <-t.C:
		select {
		case <-synced:
			return <-errc
		default:
		}
		log.Info("Stopped before the caches synced with the API server", "waited", grace.String())
		return nil
	}
}

// afterSync calls its function when the manager starts it: once the caches
// synced, on every replica.
type afterSync func()

func (f afterSync) Start(context.Context) error { f(); return nil }

func (afterSync) NeedLeaderElection() bool { return false }
