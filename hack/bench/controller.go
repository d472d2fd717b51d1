package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// writers is the number of concurrent writers of the harness's own client
// (the clients "applied at once", and the plain-client floor).
const writers = 16

// ScaleResult is one controller-scale run.
type ScaleResult struct {
	Clients int `json:"clients"`
	// ApplySeconds is how long the harness took to create the OAuthClients.
	ApplySeconds float64 `json:"apply_seconds"`
	// ReadySeconds is from the first create to the last Ready=True.
	ReadySeconds     float64 `json:"ready_seconds"`
	ClientsPerSecond float64 `json:"clients_per_second"`
	// FloorSeconds is how long a plain client-go program with 16 workers
	// takes to create 2 Secrets per client; FloorSecretsPerSecond its rate.
	FloorSeconds          float64 `json:"floor_seconds"`
	FloorSecretsPerSecond float64 `json:"floor_secrets_per_second"`
	// RatioToFloor is ReadySeconds / FloorSeconds.
	RatioToFloor float64 `json:"ratio_to_floor"`
	// WritesFloorSeconds is how long the same program takes to write, on a
	// fresh control plane of its own, what N Ready clients consist of: per
	// client WritesPerClient writes (the OAuthClient, the manager's Secrets,
	// the status patch, the Events), copied from a client of this run
	// (writesfloor.go). RatioToWritesFloor is ReadySeconds over it.
	WritesFloorSeconds float64 `json:"writes_floor_seconds"`
	WritesPerClient    int     `json:"writes_per_client"`
	RatioToWritesFloor float64 `json:"ratio_to_writes_floor"`
	// WritesFloorCPUSeconds is the CPU time the writes floor's
	// kube-apiserver and etcd spent on those writes, and CPUs the
	// machine's (see writesCPUBound).
	WritesFloorCPUSeconds float64 `json:"writes_floor_cpu_seconds"`
	CPUs                  int     `json:"cpus"`
	// RequestsPerClient counts the manager's API requests from the first
	// create until convergence, by HTTP method, divided by Clients.
	RequestsPerClient map[string]float64 `json:"requests_per_client"`
	// BurstFigures: the reconciles and CPU over the burst (3 routes
	// exist), the (leading) manager's memory and its idle window after it.
	BurstFigures
	// Reissued counts token Secrets past revision 1 (should be 0), after
	// the failover when there is one.
	Reissued int `json:"reissued"`
	// Replication: the replicas, the Lease and the idle writes of the
	// whole control plane (replicas.go); the figures above are the
	// leader's.
	Replication
	// LoadAverage is /proc/loadavg when the run began.
	LoadAverage string `json:"load_average"`
}

const benchNamespace = "bench"

// runScale measures one controller-scale run of n clients on its own
// control plane and manager.
func runScale(ctx context.Context, o *options, n int, idle time.Duration) (*ScaleResult, error) {
	res := &ScaleResult{Clients: n, LoadAverage: loadAverage()}
	el, err := startElected(ctx, o, fmt.Sprintf("scale-%d", n))
	if err != nil {
		return nil, err
	}
	defer el.stop()
	e, c, second := el.env, el.c, el.second
	for _, ns := range []string{benchNamespace, "floor"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return nil, fmt.Errorf("create namespace %s: %w", ns, err)
		}
	}

	say("Scale %d: plain-client floor, %d Secrets with %d workers", n, 2*n, writers)
	floor, err := createFloorSecrets(ctx, c, 2*n)
	if err != nil {
		return nil, err
	}
	res.FloorSeconds = floor.Seconds()
	res.FloorSecretsPerSecond = float64(2*n) / floor.Seconds()

	if err := createRoutes(ctx, c); err != nil {
		return nil, err
	}
	// Let the routes settle so that their reconciles are not counted.
	time.Sleep(2 * time.Second)
	win, err := openWindow(ctx, e, second)
	if err != nil {
		return nil, err
	}
	// With -profile: kube-apiserver's CPU over the burst's first minute, the
	// manager's heap every 2 s until all are Ready, and its heap then.
	stopProfiles := func() {}
	if o.profileDir != "" {
		dir := filepath.Join(o.profileDir, fmt.Sprintf("scale-%d", n))
		waitAPIServer := profileAPIServer(ctx, e.cluster.Config, dir, 60*time.Second)
		stopHeaps := pollHeap(ctx, e.pprofURL, dir, 2*time.Second)
		defer stopHeaps()
		stopProfiles = func() {
			stopHeaps()
			if err := fetch(ctx, e.pprofURL+"/debug/pprof/heap", filepath.Join(dir, "heap.pprof"), 30*time.Second); err != nil {
				say("heap profile: %v", err)
			}
			waitAPIServer()
		}
	}
	// Followed from before the burst: the harness learns of each client's
	// Ready from the watch, as kubectl get -w would.
	followCtx, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	clients, err := followClients(followCtx, e.cluster.Config, 0)
	if err != nil {
		return nil, err
	}
	say("Scale %d: creating %d OAuthClients with token Secrets (%d writers)", n, n, writers)
	start := time.Now()
	if err := forEach(ctx, n, func(i int) error {
		return c.Create(ctx, benchClient(i))
	}); err != nil {
		return nil, err
	}
	res.ApplySeconds = time.Since(start).Seconds()
	readyAt, err := waitAllReady(ctx, clients, e, n, o.scaleTimeout, second)
	stopFollowing()
	if err != nil {
		return nil, err
	}
	res.ReadySeconds = readyAt.Sub(start).Seconds()
	stopProfiles()
	res.ClientsPerSecond = float64(n) / res.ReadySeconds
	res.RatioToFloor = res.ReadySeconds / res.FloorSeconds
	say("Scale %d: all Ready after %.1fs (apply %.1fs, floor %.1fs)", n, res.ReadySeconds, res.ApplySeconds, res.FloorSeconds)

	end, err := el.closeBurst(ctx, o, win, n, idle, fmt.Sprintf("Scale %d", n), &res.BurstFigures, &res.Replication)
	if err != nil {
		return nil, err
	}
	res.RequestsPerClient = end.perObject
	if second != nil {
		if err := res.failover(ctx, o, e, second, c, n, fmt.Sprintf("Scale %d", n)); err != nil {
			return nil, fmt.Errorf("failover: %w", err)
		}
	}

	var secrets corev1.SecretList
	if err := c.List(ctx, &secrets, client.InNamespace(benchNamespace)); err != nil {
		return nil, fmt.Errorf("list token Secrets: %w", err)
	}
	for _, s := range secrets.Items {
		if rev, _ := strconv.Atoi(s.Annotations[scopegatev1alpha1.AnnotationRevision]); rev > 1 {
			res.Reissued++
		}
	}

	sample, err := sampleWrites(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("sample a Ready client's objects: %w", err)
	}
	// The floor's control plane runs alone.
	el.stop()
	say("Scale %d: writes floor, %d clients' objects written by a plain client with %d workers", n, n, writers)
	wf, err := writesFloor(ctx, o, n, sample)
	if err != nil {
		return nil, fmt.Errorf("writes floor: %w", err)
	}
	res.WritesFloorSeconds, res.WritesPerClient = wf.wall.Seconds(), wf.perClient
	res.RatioToWritesFloor = res.ReadySeconds / res.WritesFloorSeconds
	res.WritesFloorCPUSeconds, res.CPUs = wf.controlPlaneCPU.Seconds(), runtime.NumCPU()
	return res, nil
}

// writesCPUBound is the writes floor's control-plane CPU time divided by
// the machine's CPUs: no manager can make these clients Ready on this
// machine sooner, even with the whole machine given to the control plane
// and every CPU busy throughout. ok is false when it was not measured.
func (s *ScaleResult) writesCPUBound() (seconds float64, ok bool) {
	if s.WritesFloorCPUSeconds <= 0 || s.CPUs <= 0 {
		return 0, false
	}
	return s.WritesFloorCPUSeconds / float64(s.CPUs), true
}

// readyAgainstFloor is the scale goal's result: the time to Ready beside
// the writes floor and, when measured, the bound that the floor's
// control-plane CPU sets on this machine.
func readyAgainstFloor(s *ScaleResult) string {
	out := fmt.Sprintf("%.1f s (the control plane's writes floor: %.1f s", s.ReadySeconds, s.WritesFloorSeconds)
	if bound, ok := s.writesCPUBound(); ok {
		out += fmt.Sprintf("; those writes cost the control plane %.0f CPU-seconds, at least %.1f s on this machine's %d CPUs", s.WritesFloorCPUSeconds, bound, s.CPUs)
	}
	return out + ")"
}

// benchClient is the i-th OAuthClient of a scale run: a client secret and a
// token Secret, as in the measurement.
func benchClient(i int) *scopegatev1alpha1.OAuthClient {
	return &scopegatev1alpha1.OAuthClient{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("client-%04d", i), Namespace: benchNamespace},
		Spec: scopegatev1alpha1.OAuthClientSpec{
			Scopes:      []scopegatev1alpha1.Scope{"mcp", "mcp:bench:read"},
			TokenSecret: &scopegatev1alpha1.TokenSecretSpec{},
		},
	}
}

// createRoutes creates three GatewayRoutes whose ScopesSatisfiable the
// clients affect: one that the first client satisfies, one that none does,
// and one that requires all of two scopes.
func createRoutes(ctx context.Context, c client.Client) error {
	routes := []struct {
		name, prefix string
		scopes       []scopegatev1alpha1.Scope
		match        scopegatev1alpha1.ScopeMatch
	}{
		{"satisfied", "/bench/satisfied", []scopegatev1alpha1.Scope{"mcp:bench:read"}, ""},
		{"unsatisfied", "/bench/unsatisfied", []scopegatev1alpha1.Scope{"mcp:nobody:write"}, ""},
		{"all", "/bench/all", []scopegatev1alpha1.Scope{"mcp", "mcp:bench:read"}, scopegatev1alpha1.ScopeMatchAll},
	}
	for _, r := range routes {
		gr := &scopegatev1alpha1.GatewayRoute{
			ObjectMeta: metav1.ObjectMeta{Name: r.name, Namespace: benchNamespace},
			Spec: scopegatev1alpha1.GatewayRouteSpec{
				PathPrefix:     r.prefix,
				Backend:        scopegatev1alpha1.Backend{URL: "http://127.0.0.1:9"},
				RequiredScopes: r.scopes,
				ScopeMatch:     r.match,
			},
		}
		if err := c.Create(ctx, gr); err != nil {
			return fmt.Errorf("create GatewayRoute %s: %w", r.name, err)
		}
	}
	return nil
}

// createFloorSecrets creates n Secrets of about a token Secret's size with
// the harness's writers and returns how long that took.
func createFloorSecrets(ctx context.Context, c client.Client, n int) (time.Duration, error) {
	payload := make([]byte, 1536)
	if _, err := rand.Read(payload); err != nil {
		return 0, err
	}
	start := time.Now()
	err := forEach(ctx, n, func(i int) error {
		return c.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("floor-%05d", i), Namespace: "floor"},
			Data:       map[string][]byte{"payload": payload},
		})
	})
	return time.Since(start), err
}

// forEach runs f(0..n-1) on the harness's writers and returns the first
// error.
func forEach(ctx context.Context, n int, f func(i int) error) error {
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return fmt.Errorf("create objects: %w", first)
	}
	return ctx.Err()
}

// waitAllReady waits until n OAuthClients of the bench namespace are Ready
// for their generation, as clients (a follower of them) sees them, and
// returns when it saw the last.
func waitAllReady(ctx context.Context, clients *follower, e *env, n int, timeout time.Duration, others ...*replica) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	for {
		if e.manager.exited() {
			return time.Time{}, fmt.Errorf("manager exited: %v (log %s)", e.manager.err, e.manager.logPath)
		}
		for _, r := range others {
			if r != nil && r.manager.exited() {
				return time.Time{}, fmt.Errorf("%s exited: %v (log %s)", r.manager.name, r.manager.err, r.manager.logPath)
			}
		}
		ready := clients.count(clientReady)
		now := time.Now()
		if ready >= n {
			return now, nil
		}
		if now.After(deadline) {
			return time.Time{}, fmt.Errorf("only %d of %d OAuthClients Ready after %s (last list or watch error: %v)", ready, n, timeout, clients.lastErr())
		}
		if now.Sub(lastLog) > 15*time.Second {
			say("  %d of %d Ready", ready, n)
			lastLog = now
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-clients.changed:
		case <-time.After(time.Second):
		}
	}
}

// Issue 22's goals for the scale runs.
const (
	goalClients      = 10000
	goalReadySeconds = 60
	goalPeakRSSMiB   = 300
	goalRoutes       = 1000
	goalAccepted     = 30
	// goalIdleCores is what "idle CPU ≈ 0" is taken to mean.
	goalIdleCores = 0.01
)

// scaleGoals writes issue 22's goal rows for the scale runs that were
// measured at the goal's size (none otherwise).
func scaleGoals(b *strings.Builder, scale []*ScaleResult, routes *RoutesResult) {
	var rows [][3]string
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "missed"
	}
	for _, s := range scale {
		if s.Clients != goalClients {
			continue
		}
		rssText, rssOK := s.rssGoal(s.PeakRSSBytes)
		idleText, idleOK := s.idleGoal(s.IdleRequests, s.IdleCPUCores, s.IdleSeconds)
		rows = append(rows,
			[3]string{fmt.Sprintf("%d OAuthClients with token Secrets applied at once all Ready ≤ %d s", goalClients, goalReadySeconds), readyAgainstFloor(s), met(s.ReadySeconds <= goalReadySeconds)},
			[3]string{fmt.Sprintf("manager peak RSS ≤ %d MiB at %d clients", goalPeakRSSMiB, goalClients), rssText, met(rssOK)},
			[3]string{fmt.Sprintf("idle at %d clients: no writes, CPU ≈ 0 (≤ %.2f cores)", goalClients, goalIdleCores), idleText, met(idleOK)})
	}
	if r := routes; r != nil && r.Routes == goalRoutes {
		idleText, idleOK := r.idleGoal(r.IdleRequests, r.IdleCPUCores, r.IdleSeconds)
		rows = append(rows,
			[3]string{fmt.Sprintf("%d GatewayRoutes applied at once all Accepted ≤ %d s", goalRoutes, goalAccepted), fmt.Sprintf("%.1f s (audit converged %.1f s)", r.AcceptedSeconds, r.ConvergedSeconds), met(r.AcceptedSeconds <= goalAccepted)},
			[3]string{fmt.Sprintf("idle at %d routes: no writes, CPU ≈ 0 (≤ %.2f cores)", goalRoutes, goalIdleCores), idleText, met(idleOK)})
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "| scale goal (issue 22) | measured | |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(b, "| %s | %s | %s |\n", r[0], r[1], r[2])
	}
	b.WriteString("\n")
}

// writes counts the requests of m that are not reads.
func writes(m map[string]float64) float64 {
	n := 0.0
	for verb, v := range m {
		if verb != "GET" && verb != "LIST" && verb != "WATCH" {
			n += v
		}
	}
	return n
}

// window measures one burst of a scale run from its start: the manager's
// metrics and the control plane's CPU time then.
type window struct {
	e      *env
	before []sample
	cp0    time.Duration
	// cpu0 is the CPU time of the manager and of each of others then.
	cpu0 []time.Duration
	// others are further replicas whose idle window is measured beside
	// the manager's.
	others []*replica
}

// openWindow scrapes the manager and reads the control plane's CPU time
// just before a burst; others (nil ones left out) are measured beside the
// manager in the idle window.
func openWindow(ctx context.Context, e *env, others ...*replica) (*window, error) {
	before, err := scrape(ctx, e.metricsURL)
	if err != nil {
		return nil, err
	}
	cp0, err := e.controlPlaneCPU()
	if err != nil {
		return nil, err
	}
	w := &window{e: e, before: before, cp0: cp0}
	for _, r := range others {
		if r != nil {
			w.others = append(w.others, r)
		}
	}
	for _, pid := range w.pids() {
		st, err := readProcStats(pid)
		if err != nil {
			return nil, err
		}
		w.cpu0 = append(w.cpu0, st.CPU)
	}
	return w, nil
}

// pids are the manager's and the other replicas' processes, in order.
func (w *window) pids() []int {
	pids := []int{w.e.manager.pid()}
	for _, r := range w.others {
		pids = append(pids, r.manager.pid())
	}
	return pids
}

// BurstFigures are what a scale run (clients or routes) measures of its
// burst beside the objects' own figures.
type BurstFigures struct {
	// RouteStatusReconciles is the GatewayRoute status controller's
	// reconciles from the first create until convergence;
	// ClientReconciles the OAuthClient controller's.
	RouteStatusReconciles float64 `json:"route_status_reconciles"`
	ClientReconciles      float64 `json:"client_reconciles"`
	// ControlPlaneCPUSeconds is kube-apiserver's and etcd's CPU time from
	// the first create until convergence: what the burst costs the
	// control plane, less dependent on what else runs on the machine than
	// the wall-clock figures.
	ControlPlaneCPUSeconds float64 `json:"control_plane_cpu_seconds"`
	// ManagerCPUSeconds is the (leading) manager's CPU time over the
	// same window: with the control plane's, where the machine's CPUs
	// went during the burst.
	ManagerCPUSeconds float64 `json:"manager_cpu_seconds"`
	// PeakRSSBytes is the manager's peak RSS at the idle window's end;
	// IdleCPUCores its CPU time over the idle window (IdleSeconds long)
	// divided by the window's length, IdleRequests its API requests in
	// that window by method.
	PeakRSSBytes int64              `json:"peak_rss_bytes"`
	IdleSeconds  float64            `json:"idle_seconds"`
	IdleCPUCores float64            `json:"idle_cpu_cores"`
	IdleRequests map[string]float64 `json:"idle_requests"`
}

// set fills f from a closed window's end.
func (f *BurstFigures) set(end *burstEnd) {
	f.RouteStatusReconciles, f.ClientReconciles = end.routeStatus, end.clients
	f.ControlPlaneCPUSeconds, f.ManagerCPUSeconds = end.controlPlaneCPU, end.managerCPU[0]
	f.IdleSeconds, f.IdleCPUCores, f.IdleRequests, f.PeakRSSBytes = end.idle.seconds, end.idle.cores, end.idle.requests, end.idle.peakRSS
}

// burstEnd is a burst counted per object, the control plane's CPU seconds
// over it, and the idle window after it.
type burstEnd struct {
	burst
	controlPlaneCPU float64
	// managerCPU is the CPU seconds of the manager and of each other
	// replica over the burst, in the window's order.
	managerCPU []float64
	idle       *idleStats
	// others is the idle window of the window's other replicas, in order.
	others []*idleStats
	// clusterWrites are the writes other than to Leases that the API
	// server served over the idle window, whoever made them
	// (writesButLeases).
	clusterWrites map[string]float64
}

// close ends the window once the burst has converged: whatever the manager
// still does in the next 3 s belongs to the burst; then the idle window
// (label names the run in the log).
func (w *window) close(ctx context.Context, objects int, idle time.Duration, label string) (*burstEnd, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(3 * time.Second):
	}
	pids := w.pids()
	procs := []watched{{pid: pids[0], metricsURL: w.e.metricsURL}}
	for i, r := range w.others {
		procs = append(procs, watched{pid: pids[i+1], metricsURL: r.metricsURL})
	}
	end := &burstEnd{}
	for i := range procs {
		var err error
		if procs[i].after, err = scrape(ctx, procs[i].metricsURL); err != nil {
			return nil, err
		}
		st, err := readProcStats(procs[i].pid)
		if err != nil {
			return nil, err
		}
		end.managerCPU = append(end.managerCPU, (st.CPU - w.cpu0[i]).Seconds())
	}
	cp1, err := w.e.controlPlaneCPU()
	if err != nil {
		return nil, err
	}
	end.controlPlaneCPU = (cp1 - w.cp0).Seconds()
	end.count(w.before, procs[0].after, objects)
	say("%s: idle window of %s", label, idle)
	api0, err := scrapeAPIServer(ctx, w.e.cluster.Config)
	if err != nil {
		return nil, err
	}
	stats, err := idleWindow(ctx, idle, procs)
	if err != nil {
		return nil, err
	}
	api1, err := scrapeAPIServer(ctx, w.e.cluster.Config)
	if err != nil {
		return nil, err
	}
	end.idle, end.others = stats[0], stats[1:]
	end.clusterWrites = delta(writesButLeases(api0), writesButLeases(api1))
	return end, nil
}

// burst is what the manager's metrics say about one burst: its API
// requests per object created, by method, and the reconciles of the route
// status and OAuthClient controllers.
type burst struct {
	perObject            map[string]float64
	routeStatus, clients float64
}

// count fills b from the metrics scraped before and after a burst of
// objects creations.
func (b *burst) count(before, after []sample, objects int) {
	b.perObject = map[string]float64{}
	for m, v := range delta(sumBy(before, "rest_client_requests_total", "method", nil), sumBy(after, "rest_client_requests_total", "method", nil)) {
		b.perObject[m] = v / float64(objects)
	}
	recon := func(s []sample, name string) float64 {
		return sumBy(s, "controller_runtime_reconcile_total", "", map[string]string{"controller": name})[""]
	}
	b.routeStatus = recon(after, "gatewayroute-status") - recon(before, "gatewayroute-status")
	b.clients = recon(after, "oauthclient") - recon(before, "oauthclient")
}

// idleStats is the manager over an idle window after convergence.
type idleStats struct {
	seconds, cores float64
	requests       map[string]float64
	peakRSS        int64
}

// watched is a manager process measured over an idle window: its pid, its
// metrics, and the scrape of them that the window starts from.
type watched struct {
	pid        int
	metricsURL string
	after      []sample
}

// idleWindow waits d and measures each of procs meanwhile, over the same
// window: its CPU, its API requests since its after scrape, and its peak
// RSS at the end.
func idleWindow(ctx context.Context, d time.Duration, procs []watched) ([]*idleStats, error) {
	p0 := make([]procStats, len(procs))
	for i, p := range procs {
		var err error
		if p0[i], err = readProcStats(p.pid); err != nil {
			return nil, err
		}
	}
	t0 := time.Now()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(d):
	}
	seconds := time.Since(t0).Seconds()
	out := make([]*idleStats, len(procs))
	for i, p := range procs {
		p1, err := readProcStats(p.pid)
		if err != nil {
			return nil, err
		}
		end, err := scrape(ctx, p.metricsURL)
		if err != nil {
			return nil, err
		}
		w := &idleStats{seconds: seconds, peakRSS: p1.PeakRSS}
		w.cores = (p1.CPU - p0[i].CPU).Seconds() / seconds
		w.requests = delta(sumBy(p.after, "rest_client_requests_total", "method", nil), sumBy(end, "rest_client_requests_total", "method", nil))
		out[i] = w
	}
	return out, nil
}
