package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
	"github.com/scopegate/scopegate/internal/devcluster"
)

// RoutesResult is one GatewayRoute-scale run: Routes GatewayRoutes created
// at once among Clients OAuthClients that are already Ready, every client
// reaching every route, so that each route's authorizedClients and each
// client's reachableRouteCount change with the burst (the audit fan-out
// and the route status coalescing under load).
type RoutesResult struct {
	Routes  int `json:"routes"`
	Clients int `json:"clients"`
	// ApplySeconds is how long the harness took to create the routes.
	ApplySeconds float64 `json:"apply_seconds"`
	// AcceptedSeconds is from the first create to the last Accepted=True
	// for the route's generation.
	AcceptedSeconds float64 `json:"accepted_seconds"`
	// ConvergedSeconds is from the first create until every route counts
	// every client in authorizedClients and every client counts every
	// route in reachableRouteCount.
	ConvergedSeconds float64 `json:"converged_seconds"`
	// RequestsPerRoute counts the manager's API requests from the first
	// create until convergence, by HTTP method, divided by Routes (client
	// status patches included: each client's audit changes).
	RequestsPerRoute map[string]float64 `json:"requests_per_route"`
	// BurstFigures: the reconciles and CPU over the same window, the
	// (leading) manager's memory and the idle window after it.
	BurstFigures
	LoadAverage string `json:"load_average"`
	// Replication: the replicas, the Lease and the idle writes of the
	// whole control plane (replicas.go); the figures above are the
	// leader's.
	Replication
}

// runRoutes measures one GatewayRoute-scale run on its own control plane
// and manager.
func runRoutes(ctx context.Context, o *options, routes, clients int, idle time.Duration) (*RoutesResult, error) {
	res := &RoutesResult{Routes: routes, Clients: clients, LoadAverage: loadAverage()}
	el, err := startElected(ctx, o, fmt.Sprintf("routes-%d", routes))
	if err != nil {
		return nil, err
	}
	defer el.stop()
	e, c, second := el.env, el.c, el.second
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", benchNamespace, err)
	}
	followCtx, stopFollowing := context.WithCancel(ctx)
	defer stopFollowing()
	cf, err := followClients(followCtx, e.cluster.Config, routes)
	if err != nil {
		return nil, err
	}
	rf, err := followRoutes(followCtx, e.cluster.Config, clients)
	if err != nil {
		return nil, err
	}
	say("Routes %d: %d OAuthClients first", routes, clients)
	if err := forEach(ctx, clients, func(i int) error {
		cl := benchClient(i)
		cl.Spec.TokenSecret = nil // the clients are the audience here, not the load
		return c.Create(ctx, cl)
	}); err != nil {
		return nil, err
	}
	if _, err := waitAllReady(ctx, cf, e, clients, o.scaleTimeout, second); err != nil {
		return nil, err
	}
	// Let the clients' own passes settle so that they are not counted.
	time.Sleep(3 * time.Second)
	win, err := openWindow(ctx, e, second)
	if err != nil {
		return nil, err
	}

	say("Routes %d: creating %d GatewayRoutes (%d writers)", routes, routes, writers)
	start := time.Now()
	if err := forEach(ctx, routes, func(i int) error {
		return c.Create(ctx, benchRoute(i))
	}); err != nil {
		return nil, err
	}
	res.ApplySeconds = time.Since(start).Seconds()
	acceptedAt, convergedAt, err := waitRoutesConverged(ctx, rf, cf, e, routes, clients, o.scaleTimeout)
	if err != nil {
		return nil, err
	}
	stopFollowing()
	res.AcceptedSeconds = acceptedAt.Sub(start).Seconds()
	res.ConvergedSeconds = convergedAt.Sub(start).Seconds()
	say("Routes %d: all Accepted after %.1fs, audit converged after %.1fs (apply %.1fs)", routes, res.AcceptedSeconds, res.ConvergedSeconds, res.ApplySeconds)

	end, err := el.closeBurst(ctx, o, win, routes, idle, fmt.Sprintf("Routes %d", routes), &res.BurstFigures, &res.Replication)
	if err != nil {
		return nil, err
	}
	res.RequestsPerRoute = end.perObject
	return res, nil
}

// benchRoute is the i-th GatewayRoute of a routes run: a prefix of its own,
// a URL backend, and a scope every bench client holds.
func benchRoute(i int) *scopegatev1alpha1.GatewayRoute {
	return &scopegatev1alpha1.GatewayRoute{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("route-%04d", i), Namespace: benchNamespace},
		Spec: scopegatev1alpha1.GatewayRouteSpec{
			PathPrefix:     fmt.Sprintf("/bench/r-%04d", i),
			Backend:        scopegatev1alpha1.Backend{URL: "http://127.0.0.1:9"},
			RequiredScopes: []scopegatev1alpha1.Scope{"mcp:bench:read"},
		},
	}
}

// waitRoutesConverged waits until every route is Accepted for its
// generation (the first time returned) and then until every route counts
// every client and every client every route (the second), as the
// followers of the routes and the clients see them.
func waitRoutesConverged(ctx context.Context, rf, cf *follower, e *env, routes, clients int, timeout time.Duration) (accepted, converged time.Time, err error) {
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	for {
		if e.manager.exited() {
			return accepted, converged, fmt.Errorf("manager exited: %v (log %s)", e.manager.err, e.manager.logPath)
		}
		nAccepted, nAuthorized := rf.count(routeAccepted), rf.count(routeCountsAll)
		now := time.Now()
		if accepted.IsZero() && nAccepted >= routes {
			accepted = now
		}
		nReaching := 0
		if !accepted.IsZero() && nAuthorized >= routes {
			if nReaching = cf.count(clientReachesAll); nReaching >= clients {
				return accepted, now, nil
			}
		}
		if now.After(deadline) {
			return accepted, converged, fmt.Errorf("after %s: %d of %d routes Accepted, %d count every client, %d of %d clients count every route (last list or watch errors: %v, %v)",
				timeout, nAccepted, routes, nAuthorized, nReaching, clients, rf.lastErr(), cf.lastErr())
		}
		if now.Sub(lastLog) > 15*time.Second {
			say("  %d of %d routes Accepted, %d count every client, %d of %d clients count every route", nAccepted, routes, nAuthorized, nReaching, clients)
			lastLog = now
		}
		select {
		case <-ctx.Done():
			return accepted, converged, ctx.Err()
		case <-rf.changed:
		case <-cf.changed:
		case <-time.After(time.Second):
		}
	}
}

// controlPlaneCPU is the CPU time that this env's kube-apiserver and etcd
// have used so far (each found in /proc by a flag naming a directory of
// its own).
func (e *env) controlPlaneCPU() (time.Duration, error) {
	return clusterCPU(e.cluster, filepath.Join(e.dir, "cluster"))
}

// clusterCPU is the CPU time that cl's kube-apiserver and etcd (whose data
// lies under dir) have used so far.
func clusterCPU(cl *devcluster.Cluster, dir string) (time.Duration, error) {
	api, err := cl.APIServerProcess()
	if err != nil {
		return 0, err
	}
	etcd, err := pidWithArg("etcd", "--data-dir="+dir)
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, pid := range []int{api.Pid, etcd} {
		st, err := readProcStats(pid)
		if err != nil {
			return 0, err
		}
		total += st.CPU
	}
	return total, nil
}

// pidWithArg finds the process named base with an argument starting with
// prefix.
func pidWithArg(base, prefix string) (int, error) {
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		return 0, err
	}
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := bytes.Split(b, []byte{0})
		if len(args) == 0 || filepath.Base(string(args[0])) != base {
			continue
		}
		for _, a := range args[1:] {
			if strings.HasPrefix(string(a), prefix) {
				return strconv.Atoi(filepath.Base(filepath.Dir(p)))
			}
		}
	}
	return 0, fmt.Errorf("no %s process with an argument %s…", base, prefix)
}

// markdown is the routes run's table.
func (r *RoutesResult) markdown(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### GatewayRoute scale\n\n")
	p("%d GatewayRoutes created at once by %d writers on a fresh local control plane, among %d OAuthClients (credentials only) that are Ready before; every client reaches every route, so each route's `authorizedClients` and each client's `reachableRouteCount` change with the burst. Converged: every route counts every client and every client every route. Replicas as in the controller-scale runs.\n\n", r.Routes, writers, r.Clients)
	p("| routes | clients | apply | all Accepted | audit converged | API requests per route | route status reconciles | client reconciles | control plane CPU | manager CPU | peak RSS | idle CPU | idle requests | replicas | Lease | second replica: peak RSS, idle CPU, idle requests | idle writes other than Leases, served by the API server |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	p("| %d | %d | %.1f s | **%.1f s** | %.1f s | %s | %.0f | %.0f | %.1f s | %s | %.0f MiB | %.4f cores over %.0f s | %s | %d | %s | %s | %s |\n\n",
		r.Routes, r.Clients, r.ApplySeconds, r.AcceptedSeconds, r.ConvergedSeconds, verbs(r.RequestsPerRoute), r.RouteStatusReconciles, r.ClientReconciles,
		r.ControlPlaneCPUSeconds, r.managerCPU(r.ManagerCPUSeconds, 0), float64(r.PeakRSSBytes)/(1<<20), r.IdleCPUCores, r.IdleSeconds, counts(r.IdleRequests), r.Replicas, r.lease(), r.second(), r.clusterWrites())
}
