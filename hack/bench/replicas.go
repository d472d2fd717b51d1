package main

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Replication is what a scale run's replicas add to its figures. With
// -scale-replicas 2 (the default) two managers elect a leader as the
// deployment's replicas do: the second starts once the first holds the
// controllers' Lease, so the first is the leader whose figures the run's
// other fields are, and the second's informers load the control plane as
// they do in a cluster.
type Replication struct {
	// Replicas is how many managers ran.
	Replicas int `json:"replicas"`
	// LeaseTransitions counts the controllers' Lease changing hands from
	// before the burst to the idle window's end; LeaderKept is whether
	// the first replica held it at both ends (with 2 replicas).
	LeaseTransitions int32 `json:"lease_transitions"`
	LeaderKept       bool  `json:"leader_kept"`
	// SecondPeakRSSBytes, SecondIdleCPUCores and SecondIdleRequests are the
	// second replica's, over the same idle window as the leader's.
	SecondPeakRSSBytes int64              `json:"second_peak_rss_bytes,omitempty"`
	SecondIdleCPUCores float64            `json:"second_idle_cpu_cores,omitempty"`
	SecondIdleRequests map[string]float64 `json:"second_idle_requests,omitempty"`
	// SecondCPUSeconds is the second replica's CPU time over the burst.
	SecondCPUSeconds float64 `json:"second_cpu_seconds,omitempty"`
	// IdleClusterWrites are the writes other than to Leases that the API
	// server served over the idle window, by verb and resource, whoever
	// made them (writesButLeases): with leader election the leader renews
	// its Lease every 2 s (PUTs among its idle requests), and this says
	// whether anything else was written.
	IdleClusterWrites map[string]float64 `json:"idle_cluster_writes"`
	// A failover once all is idle (controller-scale runs with 2 replicas):
	// FailoverLeaseSeconds is from stopping the leader as a rollout does
	// (SIGTERM; it gives the Lease up on its way out) until the second
	// replica holds the Lease; FailoverCaughtUpSeconds until the new
	// leader's OAuthClient controller had made its last reconcile of the
	// takeover (FailoverReconciles in all, at least one per client), with
	// no controller queue holding work after it; and
	// FailoverWrites are the writes other than to Leases that the API
	// server served from the stop until failoverQuiet after that, whoever
	// made them.
	// FailoverKilled is whether the leader was killed (-failover kill)
	// rather than stopped: it then cannot give the Lease up, and the
	// second replica waits until the Lease expires.
	FailoverKilled          bool               `json:"failover_killed,omitempty"`
	FailoverLeaseSeconds    float64            `json:"failover_lease_seconds,omitempty"`
	FailoverCaughtUpSeconds float64            `json:"failover_caught_up_seconds,omitempty"`
	FailoverReconciles      float64            `json:"failover_reconciles,omitempty"`
	FailoverWrites          map[string]float64 `json:"failover_writes,omitempty"`
}

// electArgs are the managers' flags for -scale-replicas.
func electArgs(o *options) []string {
	if o.scaleReplicas > 1 {
		return []string{"--leader-elect"}
	}
	return nil
}

// elected is a scale run's control plane and its managers (electArgs):
// env's, and with -scale-replicas 2 the second replica, started once the
// first held the Lease (as lease0 was then); c is the harness's client.
type elected struct {
	*env
	c      client.Client
	second *replica
	lease0 leaseState
}

// startElected starts a scale run's control plane named name and its
// managers. The caller stops them.
func startElected(ctx context.Context, o *options, name string) (*elected, error) {
	e, err := startEnv(ctx, o, name, nil, electArgs(o)...)
	if err != nil {
		return nil, err
	}
	el := &elected{env: e}
	if el.c, err = harnessClient(e.cluster.Config); err == nil {
		el.second, el.lease0, err = startSecond(ctx, o, e, el.c)
	}
	if err != nil {
		el.stop()
		return nil, err
	}
	return el, nil
}

// stop stops the second replica, then the control plane and its manager.
func (el *elected) stop() {
	el.second.stop()
	el.env.stop()
}

// closeBurst closes win (window.close) and records the burst's figures in
// f and the replicas' in r.
func (el *elected) closeBurst(ctx context.Context, o *options, win *window, objects int, idle time.Duration, label string, f *BurstFigures, r *Replication) (*burstEnd, error) {
	end, err := win.close(ctx, objects, idle, label)
	if err != nil {
		return nil, err
	}
	f.set(end)
	return end, r.fill(ctx, o, el.c, el.second, el.lease0, end, label)
}

// startSecond starts, with -scale-replicas 2, the second replica on e's
// control plane once e's manager holds the controllers' Lease, and
// returns it with the Lease as it was then; with 1 it returns nil. The
// caller stops it.
func startSecond(ctx context.Context, o *options, e *env, c client.Client) (*replica, leaseState, error) {
	if o.scaleReplicas < 2 {
		return nil, leaseState{}, nil
	}
	lease0, err := waitLease(ctx, c, time.Now().Add(time.Minute), "")
	if err != nil {
		return nil, lease0, err
	}
	// The deployment's replicas share one public gateway URL (the
	// Service's), which route and client status carry: so do these two,
	// or a failover would rewrite every route's status.url.
	second, err := e.startReplica(ctx, o, "manager-b", "--gateway-url", e.gatewayURL)
	return second, lease0, err
}

// fill records the replicas' figures once end's idle window is over:
// the second replica's (nil with one manager), the Lease against lease0
// and the control plane's idle writes.
func (r *Replication) fill(ctx context.Context, o *options, c client.Client, second *replica, lease0 leaseState, end *burstEnd, label string) error {
	r.Replicas = o.scaleReplicas
	r.IdleClusterWrites = end.clusterWrites
	if second == nil {
		return nil
	}
	s := end.others[0]
	r.SecondPeakRSSBytes, r.SecondIdleCPUCores, r.SecondIdleRequests = s.peakRSS, s.cores, s.requests
	r.SecondCPUSeconds = end.managerCPU[1]
	lease1, err := readLease(ctx, c)
	if err != nil {
		return err
	}
	r.LeaseTransitions = lease1.transitions - lease0.transitions
	r.LeaderKept = lease1.holder == lease0.holder
	say("%s: the Lease changed hands %d times; the first replica holds it still: %t", label, r.LeaseTransitions, r.LeaderKept)
	return nil
}

// failoverQuiet is how long the failover's writes are still counted once
// the new leader has caught up.
const failoverQuiet = 10 * time.Second

// failover stops e's manager, the leader, as a rollout does (with
// -failover kill it kills it, as a failed node), and follows second
// taking over (see Replication): until it holds the Lease, then
// until its OAuthClient controller has reconciled every one of clients
// and stopped, with every controller queue empty, then failoverQuiet
// more, within timeout.
func (r *Replication) failover(ctx context.Context, o *options, e *env, second *replica, c client.Client, clients int, label string) error {
	timeout := o.scaleTimeout
	lease0, err := readLease(ctx, c)
	if err != nil {
		return err
	}
	m0, err := scrape(ctx, second.metricsURL)
	if err != nil {
		return err
	}
	api0, err := scrapeAPIServer(ctx, e.cluster.Config)
	if err != nil {
		return err
	}
	r.FailoverKilled = o.failover == "kill"
	start := time.Now()
	deadline := start.Add(timeout)
	if r.FailoverKilled {
		say("%s: failover: killing the leader", label)
		e.manager.kill()
	} else {
		say("%s: failover: stopping the leader", label)
		e.manager.stop(20 * time.Second)
	}
	if _, err := waitLease(ctx, c, deadline, lease0.holder); err != nil {
		return err
	}
	r.FailoverLeaseSeconds = time.Since(start).Seconds()
	reconciles := func(s []sample) float64 {
		return sumBy(s, "controller_runtime_reconcile_total", "", map[string]string{"controller": "oauthclient"})[""]
	}
	// The new leader's controllers start one after the other and each
	// replays its cache, so an empty queue alone can come before all the
	// work of the takeover is queued: caught up is every client
	// reconciled, the queues empty, and no reconcile for a second; the
	// time is when the last was first seen.
	last, lastAt := -1.0, start
	for {
		if second.manager.exited() {
			return fmt.Errorf("the second replica exited: %v (log %s)", second.manager.err, second.manager.logPath)
		}
		m, err := scrape(ctx, second.metricsURL)
		now := time.Now()
		if err != nil {
			return err
		}
		done := reconciles(m) - reconciles(m0)
		if done != last {
			last, lastAt = done, now
		}
		if done >= float64(clients) && sumBy(m, "workqueue_depth", "", nil)[""] == 0 && now.Sub(lastAt) >= time.Second {
			r.FailoverReconciles = done
			break
		}
		if err := pause(ctx, deadline, 250*time.Millisecond, fmt.Sprintf("the new leader to reconcile %d clients (%.0f so far)", clients, done)); err != nil {
			return err
		}
	}
	r.FailoverCaughtUpSeconds = lastAt.Sub(start).Seconds()
	if err := pause(ctx, time.Now().Add(time.Minute), failoverQuiet, ""); err != nil {
		return err
	}
	api1, err := scrapeAPIServer(ctx, e.cluster.Config)
	if err != nil {
		return err
	}
	r.FailoverWrites = delta(writesButLeases(api0), writesButLeases(api1))
	say("%s: failover: the second replica held the Lease after %.1fs and made the last of %.0f OAuthClient reconciles after %.1fs; %.0f writes other than to Leases", label, r.FailoverLeaseSeconds, r.FailoverReconciles, r.FailoverCaughtUpSeconds, total(r.FailoverWrites))
	return nil
}

// pause waits d, or fails once deadline has passed, saying what it waited
// for.
func pause(ctx context.Context, deadline time.Time, d time.Duration, what string) error {
	if time.Now().After(deadline) {
		return fmt.Errorf("gave up waiting for %s", what)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// failoverText is a result's failover column.
func (r *Replication) failoverText() string {
	if r.FailoverWrites == nil {
		return "none"
	}
	how := "stopped"
	if r.FailoverKilled {
		how = "killed"
	}
	return fmt.Sprintf("leader %s: Lease after %.1f s, the last of %.0f client reconciles after %.1f s, %.0f writes other than Leases (%s)",
		how, r.FailoverLeaseSeconds, r.FailoverReconciles, r.FailoverCaughtUpSeconds, total(r.FailoverWrites), counts(r.FailoverWrites))
}

// rssGoal is the peak RSS goal's result for the leader's peak RSS: every
// replica's must be within it.
func (r *Replication) rssGoal(leader int64) (string, bool) {
	rss := float64(leader) / (1 << 20)
	if r.Replicas < 2 {
		return fmt.Sprintf("%.0f MiB", rss), rss <= goalPeakRSSMiB
	}
	rss2 := float64(r.SecondPeakRSSBytes) / (1 << 20)
	return fmt.Sprintf("leader %.0f MiB, second replica %.0f MiB", rss, rss2), rss <= goalPeakRSSMiB && rss2 <= goalPeakRSSMiB
}

// idleGoal is the idle goal's result ("no writes, CPU ≈ 0") for the
// leader's idle requests and CPU. With one manager its own write requests
// decide. With two, its Lease renewals are its heartbeat, not a write of
// the converged state: the API server's count of every other write
// decides, and each replica's CPU must be idle.
func (r *Replication) idleGoal(leaderRequests map[string]float64, leaderCores, seconds float64) (string, bool) {
	w := writes(leaderRequests)
	if r.Replicas < 2 {
		return fmt.Sprintf("%.0f writes, %.4f cores over %.0f s", w, leaderCores, seconds), w == 0 && leaderCores <= goalIdleCores
	}
	cw := total(r.IdleClusterWrites)
	text := fmt.Sprintf("%.0f writes other than Lease renewals served by the API server (%s); leader %.0f requests that write, %.4f cores over %.0f s; second replica %.0f, %.4f cores",
		cw, counts(r.IdleClusterWrites), w, leaderCores, seconds, writes(r.SecondIdleRequests), r.SecondIdleCPUCores)
	return text, cw == 0 && leaderCores <= goalIdleCores && r.SecondIdleCPUCores <= goalIdleCores
}

// lease is a result's Lease column: whether the leader kept the
// controllers' Lease, and how often it changed hands.
func (r *Replication) lease() string {
	if r.Replicas < 2 {
		return "not elected"
	}
	if r.LeaderKept && r.LeaseTransitions == 0 {
		return "kept (0 transitions)"
	}
	return fmt.Sprintf("**lost** (%d transitions; the first replica holds it at the end: %t)", r.LeaseTransitions, r.LeaderKept)
}

// second is a result's second-replica column.
func (r *Replication) second() string {
	if r.Replicas < 2 {
		return "none"
	}
	return fmt.Sprintf("%.0f MiB, %.4f cores, %s", float64(r.SecondPeakRSSBytes)/(1<<20), r.SecondIdleCPUCores, counts(r.SecondIdleRequests))
}

// clusterWrites is a result's count of the idle window's writes other
// than to Leases; runs before the harness measured it have none.
func (r *Replication) clusterWrites() string {
	if r.IdleClusterWrites == nil {
		return "not measured"
	}
	return fmt.Sprintf("%.0f (%s)", total(r.IdleClusterWrites), counts(r.IdleClusterWrites))
}

// managerCPU is a result's manager CPU column: the leader's CPU seconds
// over the burst, and the second replica's, per object in milliseconds
// (per > 0) or in seconds.
func (r *Replication) managerCPU(leader float64, per int) string {
	f := func(v float64) string {
		if per > 0 {
			return fmt.Sprintf("%.1f ms", 1000*v/float64(per))
		}
		return fmt.Sprintf("%.1f s", v)
	}
	if r.Replicas < 2 {
		return f(leader)
	}
	return f(leader) + " (second replica " + f(r.SecondCPUSeconds) + ")"
}

// total sums m.
func total(m map[string]float64) float64 {
	n := 0.0
	for _, v := range m {
		n += v
	}
	return n
}
