package keys

import (
	"context"
	"time"

	"github.com/go-logr/logr"
)

// Loader is the runnable that every replica runs: it reloads the Secret
// from the cache every ReloadInterval. It does not need leader election.
func (s *Store) Loader() *Loop {
	return &Loop{name: "signing-key-loader", interval: s.opts.ReloadInterval, leader: false, fn: func(ctx context.Context) error {
		return s.Reload(ctx)
	}, log: s.opts.Log}
}

// Rotator is the runnable that only the leader runs: it creates the Secret
// and applies the rotation policy every CheckInterval.
func (s *Store) Rotator() *Loop {
	return &Loop{name: "signing-key-rotator", interval: s.opts.CheckInterval, leader: true, fn: func(ctx context.Context) error {
		_, err := s.Rotate(ctx)
		return err
	}, log: s.opts.Log}
}

// Loop runs fn at start and then every interval until the context ends. It
// implements controller-runtime's manager.Runnable and
// LeaderElectionRunnable.
type Loop struct {
	name     string
	interval time.Duration
	leader   bool
	fn       func(context.Context) error
	log      logr.Logger
}

// NeedLeaderElection tells the manager whether only the leader runs it.
func (l *Loop) NeedLeaderElection() bool { return l.leader }

// Start runs the loop; errors are logged and retried at the next tick.
func (l *Loop) Start(ctx context.Context) error {
	log := l.log.WithValues("runnable", l.name)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		// Each run is bounded by the interval: a hung API server costs one
		// run, and the next tick tries again.
		runCtx, cancel := context.WithTimeout(ctx, l.interval)
		err := l.fn(runCtx)
		cancel()
		if err != nil && ctx.Err() == nil {
			log.Error(err, "Signing-key maintenance failed")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
