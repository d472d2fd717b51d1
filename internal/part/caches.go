package part

import (
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// BeforeCacheSync returns r placed among the manager's caches, where c is
// the manager's own cache (GetCache()). Added to a manager, r starts at once
// with the caches, before they first synced, instead of after their first
// sync as the runnables that need no leader election do; it runs on every
// replica; and, like every runnable's, an error it returns stops the
// manager, which returns that error from Start.
//
// controller-runtime (v0.25, manager/runnable_group.go) groups runnables by
// type: its HTTP servers (*manager.Server) start first, then webhook
// servers, then everything that has a cache (GetCache), and only when those
// caches synced the rest. Its start sequence reads runnables' errors once it
// has started them all; an error returned while the caches still wait for an
// unreachable API server is kept, and Start returns it as soon as they
// synced.
func BeforeCacheSync(r manager.Runnable, c cache.Cache) manager.Runnable {
	return beforeCacheSync{Runnable: r, cache: c}
}

type beforeCacheSync struct {
	manager.Runnable
	cache cache.Cache
}

// GetCache puts the runnable in the manager's cache group; the manager
// waits for c's sync there, which it does anyway for its own cache.
func (b beforeCacheSync) GetCache() cache.Cache { return b.cache }

// NeedLeaderElection is false: every replica runs it.
func (beforeCacheSync) NeedLeaderElection() bool { return false }
