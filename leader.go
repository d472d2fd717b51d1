package main

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/scopegate/scopegate/internal/leader"
)

// leaderElectionID is the name of the controllers' Lease.
const leaderElectionID = "scopegate.dev"

// setupLeaderWork adds the leader-only work that work registers to mgr: with
// --leader-elect, an elector that runs it in terms of leadership and stops
// it, never the process, when the Lease is lost (internal/leader); without,
// for the life of the process. Either way it runs on a manager of its own
// that borrows mgr's cache.
func setupLeaderWork(mgr ctrl.Manager, cfg *config, log logr.Logger, work func(manager.Manager) error) error {
	run := leader.ManagerTerm(mgr, leader.TermOptions{MaxConcurrentReconciles: cfg.MaxConcurrentReconciles}, work)
	leading := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "scopegate_leader",
		Help: "1 while this replica runs the controllers (holds the Lease, or runs without leader election), else 0.",
	})
	if err := metrics.Registry.Register(leading); err != nil {
		return fmt.Errorf("register scopegate_leader: %w", err)
	}
	term := func(ctx context.Context) error {
		leading.Set(1)
		defer leading.Set(0)
		return run(ctx)
	}
	if !cfg.LeaderElect {
		return mgr.Add(leader.Unelected(term))
	}
	lock, err := leader.NewLeaseLock(mgr.GetConfig(), cfg.LeaderElectionNS, leaderElectionID, leader.DefaultRenewDeadline)
	if err != nil {
		return err
	}
	e, err := leader.New(leader.Options{Lock: lock, Name: leaderElectionID, Term: term, Log: log.WithName("leader-election")})
	if err != nil {
		return err
	}
	if err := mgr.Add(e); err != nil {
		return fmt.Errorf("add leader elector: %w", err)
	}
	return nil
}
