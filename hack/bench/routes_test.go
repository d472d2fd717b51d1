package main

import (
	"strings"
	"testing"
)

func TestTheScaleGoalRowsSayWhatWasMetAtTheGoalsSizes(t *testing.T) {
	scale := []*ScaleResult{
		{Clients: 1000, ReadySeconds: 5},
		{Clients: 10000, ReadySeconds: 59.5, WritesFloorSeconds: 41.25, BurstFigures: BurstFigures{PeakRSSBytes: 320 << 20, IdleCPUCores: 0.002, IdleSeconds: 60, IdleRequests: map[string]float64{"GET": 6, "PATCH": 1}}},
	}
	routes := &RoutesResult{Routes: 1000, Clients: 1000, AcceptedSeconds: 31, ConvergedSeconds: 40, BurstFigures: BurstFigures{IdleCPUCores: 0.001, IdleSeconds: 20, IdleRequests: map[string]float64{"GET": 2}}}
	var b strings.Builder
	scaleGoals(&b, scale, routes)
	out := b.String()
	for _, want := range []string{
		"| 10000 OAuthClients with token Secrets applied at once all Ready ≤ 60 s | 59.5 s (the control plane's writes floor: 41.2 s) | met |",
		"| manager peak RSS ≤ 300 MiB at 10000 clients | 320 MiB | missed |",
		// A PATCH in the idle window is a write; GETs are not.
		"| idle at 10000 clients: no writes, CPU ≈ 0 (≤ 0.01 cores) | 1 writes, 0.0020 cores over 60 s | missed |",
		"| 1000 GatewayRoutes applied at once all Accepted ≤ 30 s | 31.0 s (audit converged 40.0 s) | missed |",
		"| idle at 1000 routes: no writes, CPU ≈ 0 (≤ 0.01 cores) | 0 writes, 0.0010 cores over 20 s | met |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("goal rows lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "CPU-seconds") {
		t.Errorf("a goal row gives a CPU bound that was not measured:\n%s", out)
	}
	if strings.Contains(out, "| 1000 OAuthClients") {
		t.Errorf("a run below the goal's size got a goal row:\n%s", out)
	}

	// With the floor's control-plane CPU measured, the row gives the bound
	// it sets on this machine.
	b.Reset()
	scale[1].WritesFloorCPUSeconds, scale[1].CPUs = 70, 2
	scaleGoals(&b, scale, nil)
	if want := "| 59.5 s (the control plane's writes floor: 41.2 s; those writes cost the control plane 70 CPU-seconds, at least 35.0 s on this machine's 2 CPUs) | met |"; !strings.Contains(b.String(), want) {
		t.Errorf("goal rows lack %q:\n%s", want, b.String())
	}

	b.Reset()
	scaleGoals(&b, scale[:1], nil)
	if b.Len() != 0 {
		t.Fatalf("goal rows without a run at the goals' sizes:\n%s", b.String())
	}
}

func TestWithTwoReplicasTheGoalsHoldForEach(t *testing.T) {
	s := &ScaleResult{Clients: 10000, ReadySeconds: 50, WritesFloorSeconds: 45, BurstFigures: BurstFigures{PeakRSSBytes: 250 << 20, IdleCPUCores: 0.002, IdleSeconds: 60, IdleRequests: map[string]float64{"GET": 6}},
		Replication: Replication{Replicas: 2, LeaderKept: true, SecondPeakRSSBytes: 240 << 20, SecondIdleCPUCores: 0.001, SecondIdleRequests: map[string]float64{"GET": 30}, IdleClusterWrites: map[string]float64{}}}
	rows := func() string {
		var b strings.Builder
		scaleGoals(&b, []*ScaleResult{s}, nil)
		return b.String()
	}
	for _, want := range []string{
		"| manager peak RSS ≤ 300 MiB at 10000 clients | leader 250 MiB, second replica 240 MiB | met |",
		"| idle at 10000 clients: no writes, CPU ≈ 0 (≤ 0.01 cores) | 0 writes other than Lease renewals served by the API server (none); leader 0 requests that write, 0.0020 cores over 60 s; second replica 0, 0.0010 cores | met |",
	} {
		if out := rows(); !strings.Contains(out, want) {
			t.Errorf("goal rows lack %q:\n%s", want, out)
		}
	}
	if got, want := s.lease(), "kept (0 transitions)"; got != want {
		t.Errorf("lease() = %q, want %q", got, want)
	}
	if got, want := s.second(), "240 MiB, 0.0010 cores, GET 30"; got != want {
		t.Errorf("second() = %q, want %q", got, want)
	}

	// The leader's Lease renewals (PUTs among its requests) are not
	// writes of the converged state when the API server served nothing
	// else.
	s.IdleRequests = map[string]float64{"GET": 6, "PUT": 30}
	if want := "| 0 writes other than Lease renewals served by the API server (none); leader 30 requests that write, 0.0020 cores over 60 s; second replica 0, 0.0010 cores | met |"; !strings.Contains(rows(), want) {
		t.Errorf("goal rows lack %q:\n%s", want, rows())
	}

	// The second replica over the budget, or any other write, misses the
	// goal though the leader meets it.
	s.SecondPeakRSSBytes, s.SecondIdleRequests = 310<<20, map[string]float64{"GET": 30, "PATCH": 2}
	s.IdleClusterWrites = map[string]float64{"PATCH oauthclients": 2}
	for _, want := range []string{
		"| leader 250 MiB, second replica 310 MiB | missed |",
		"| 2 writes other than Lease renewals served by the API server (PATCH oauthclients 2); leader 30 requests that write, 0.0020 cores over 60 s; second replica 2, 0.0010 cores | missed |",
	} {
		if out := rows(); !strings.Contains(out, want) {
			t.Errorf("goal rows lack %q:\n%s", want, out)
		}
	}

	// A Lease that changed hands is said, also when it came back.
	s.LeaseTransitions = 2
	if got, want := s.lease(), "**lost** (2 transitions; the first replica holds it at the end: true)"; got != want {
		t.Errorf("lease() = %q, want %q", got, want)
	}
	s.LeaseTransitions, s.LeaderKept = 1, false
	if got, want := s.lease(), "**lost** (1 transitions; the first replica holds it at the end: false)"; got != want {
		t.Errorf("lease() = %q, want %q", got, want)
	}

	// The route-scale run's idle row follows the same rule.
	routes := &RoutesResult{Routes: 1000, AcceptedSeconds: 8, BurstFigures: BurstFigures{IdleCPUCores: 0.003, IdleSeconds: 20, IdleRequests: map[string]float64{"PUT": 10}},
		Replication: Replication{Replicas: 2, LeaderKept: true, SecondIdleCPUCores: 0.002, IdleClusterWrites: map[string]float64{"POST events": 1}}}
	var b strings.Builder
	scaleGoals(&b, nil, routes)
	if want := "| idle at 1000 routes: no writes, CPU ≈ 0 (≤ 0.01 cores) | 1 writes other than Lease renewals served by the API server (POST events 1); leader 10 requests that write, 0.0030 cores over 20 s; second replica 0, 0.0020 cores | missed |"; !strings.Contains(b.String(), want) {
		t.Errorf("goal rows lack %q:\n%s", want, b.String())
	}

	// The failover column, once measured.
	if got := s.failoverText(); got != "none" {
		t.Errorf("failoverText() before a failover = %q, want none", got)
	}
	s.FailoverLeaseSeconds, s.FailoverCaughtUpSeconds, s.FailoverReconciles, s.FailoverWrites = 1.3, 9.5, 10000, map[string]float64{}
	if got, want := s.failoverText(), "leader stopped: Lease after 1.3 s, the last of 10000 client reconciles after 9.5 s, 0 writes other than Leases (none)"; got != want {
		t.Errorf("failoverText() = %q, want %q", got, want)
	}
	s.FailoverWrites, s.FailoverKilled = map[string]float64{"PATCH oauthclients": 3}, true
	if got, want := s.failoverText(), "leader killed: Lease after 1.3 s, the last of 10000 client reconciles after 9.5 s, 3 writes other than Leases (PATCH oauthclients 3)"; got != want {
		t.Errorf("failoverText() = %q, want %q", got, want)
	}

	// The manager CPU column, per client and in all.
	s.ManagerCPUSeconds, s.SecondCPUSeconds = 30, 5
	if got, want := s.managerCPU(s.ManagerCPUSeconds, 10000), "3.0 ms (second replica 0.5 ms)"; got != want {
		t.Errorf("managerCPU() = %q, want %q", got, want)
	}
	if got, want := s.managerCPU(s.ManagerCPUSeconds, 0), "30.0 s (second replica 5.0 s)"; got != want {
		t.Errorf("managerCPU() = %q, want %q", got, want)
	}

	// One unelected manager: no Lease, no second replica, no failover.
	one := &ScaleResult{Replication: Replication{Replicas: 1}}
	if one.lease() != "not elected" || one.second() != "none" || one.failoverText() != "none" || one.managerCPU(2, 1000) != "2.0 ms" {
		t.Errorf("one replica: lease() = %q, second() = %q, failoverText() = %q", one.lease(), one.second(), one.failoverText())
	}
}

func TestWritesButLeasesLeavesOutReadsAndLeases(t *testing.T) {
	in := []sample{
		{name: "apiserver_request_total", labels: map[string]string{"verb": "PUT", "resource": "leases", "code": "200"}, value: 40},
		{name: "apiserver_request_total", labels: map[string]string{"verb": "GET", "resource": "secrets", "code": "200"}, value: 7},
		{name: "apiserver_request_total", labels: map[string]string{"verb": "WATCH", "resource": "secrets", "code": "200"}, value: 3},
		{name: "apiserver_request_total", labels: map[string]string{"verb": "LIST", "resource": "oauthclients", "code": "200"}, value: 2},
		{name: "apiserver_request_total", labels: map[string]string{"verb": "PATCH", "resource": "oauthclients", "code": "200"}, value: 1},
		{name: "apiserver_request_total", labels: map[string]string{"verb": "PATCH", "resource": "oauthclients", "code": "409"}, value: 1},
		{name: "apiserver_request_total", labels: map[string]string{"verb": "POST", "resource": "events", "code": "201"}, value: 4},
		{name: "apiserver_request_duration_seconds_count", labels: map[string]string{"verb": "POST", "resource": "events"}, value: 9},
	}
	got := writesButLeases(in)
	want := map[string]float64{"PATCH oauthclients": 2, "POST events": 4}
	if len(got) != len(want) {
		t.Fatalf("writesButLeases = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("writesButLeases[%q] = %v, want %v", k, got[k], v)
		}
	}
}
