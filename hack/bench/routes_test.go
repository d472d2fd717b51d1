package main

import (
	"strings"
	"testing"
)

func TestTheScaleGoalRowsSayWhatWasMetAtTheGoalsSizes(t *testing.T) {
	scale := []*ScaleResult{
		{Clients: 1000, ReadySeconds: 5},
		{Clients: 10000, ReadySeconds: 59.5, WritesFloorSeconds: 41.25, PeakRSSBytes: 320 << 20, IdleCPUCores: 0.002, IdleSeconds: 60, IdleRequests: map[string]float64{"GET": 6, "PATCH": 1}},
	}
	routes := &RoutesResult{Routes: 1000, Clients: 1000, AcceptedSeconds: 31, ConvergedSeconds: 40, IdleCPUCores: 0.001, IdleSeconds: 20, IdleRequests: map[string]float64{"GET": 2}}
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
