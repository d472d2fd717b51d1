package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FirstSync is the "caches" readiness check: it passes once the informers
// of the given kinds have synced once and the feeds have reconciled what
// they held, and from then on, whether or not the API server is still
// reachable (informers keep serving their last state). It never blocks a
// probe.
type FirstSync struct {
	cache  cache.Cache
	kinds  []client.Object
	passes []*FirstPass
	synced atomic.Bool
}

// NewFirstSync registers an informer for each kind on c (without waiting),
// so that the manager waits for them before it starts its controllers.
func NewFirstSync(ctx context.Context, c cache.Cache, kinds []client.Object, passes ...*FirstPass) (*FirstSync, error) {
	for _, k := range kinds {
		if _, err := c.GetInformer(ctx, k, cache.BlockUntilSynced(false)); err != nil {
			return nil, fmt.Errorf("watch %T: %w", k, err)
		}
	}
	return &FirstSync{cache: c, kinds: kinds, passes: passes}, nil
}

// NeedLeaderElection is false: every replica serves.
func (s *FirstSync) NeedLeaderElection() bool { return false }

// Start waits for the first sync and returns.
func (s *FirstSync) Start(ctx context.Context) error {
	if !s.cache.WaitForCacheSync(ctx) {
		return nil // stopped before the first sync
	}
	for _, k := range s.kinds {
		// Blocks until that informer has synced.
		if _, err := s.cache.GetInformer(ctx, k); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("wait for %T to sync: %w", k, err)
		}
	}
	for _, p := range s.passes {
		if err := p.wait(ctx, s.cache, 50*time.Millisecond); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("wait for the first pass of a feed: %w", err)
		}
	}
	s.synced.Store(true)
	return nil
}

// Check is a healthz.Checker.
func (s *FirstSync) Check(*http.Request) error {
	if !s.synced.Load() {
		return errors.New("informer caches not synced yet")
	}
	return nil
}
