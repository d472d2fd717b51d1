package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Report is the machine-readable result of one `make bench` (the JSON file)
// and the source of docs/benchmarks.md's measured section.
type Report struct {
	Date      string         `json:"date"`
	GoVersion string         `json:"go_version"`
	Machine   string         `json:"machine"`
	Manager   string         `json:"manager"`
	Commit    string         `json:"commit"`
	Command   string         `json:"command"`
	Note      string         `json:"note,omitempty"`
	TLS       string         `json:"tls"`
	LoadStart string         `json:"load_average_start"`
	LoadEnd   string         `json:"load_average_end"`
	HTTP      *HTTPResult    `json:"http,omitempty"`
	HTTPS     *HTTPResult    `json:"https,omitempty"`
	Scale     []*ScaleResult `json:"controller_scale,omitempty"`
	Routes    *RoutesResult  `json:"route_scale,omitempty"`
	// Revocations is the revocation run (revocations.go).
	Revocations *RevocationResult `json:"revocations,omitempty"`
}

// write prints the Markdown to stdout and writes the files asked for. The
// Markdown goes between markers in the -out file, so the hand-written
// sections around it (profiles, changes) stay.
func (r *Report) write(o *options) error {
	md := r.markdown()
	fmt.Print(md)
	if o.outJSON != "" {
		if err := writeJSON(o.outJSON, r); err != nil {
			return fmt.Errorf("write %s: %w", o.outJSON, err)
		}
	}
	if o.outMD == "" {
		return nil
	}
	return spliceFile(o.outMD, md)
}

const (
	beginMarker = "<!-- BEGIN make bench -->\n"
	endMarker   = "<!-- END make bench -->\n"
)

// spliceFile replaces the text between the markers of path with body, or
// creates the file with just the markers and body.
func spliceFile(path, body string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	var out string
	if i < 0 || j < i {
		out = "# Benchmarks\n\n" + beginMarker + body + endMarker + s
	} else {
		out = s[:i+len(beginMarker)] + body + s[j:]
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

func (r *Report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("Measured by `make bench` (`%s`) on %s, %s, %s, manager %s at commit %s. Load average %s at the start, %s at the end.",
		r.Command, r.Date, r.Machine, r.GoVersion, r.Manager, r.Commit, r.LoadStart, r.LoadEnd)
	if r.Note != "" {
		p(" %s", r.Note)
	}
	p("\n\n")
	if h := r.HTTP; h != nil {
		h.markdown(&b)
	}
	if h := r.HTTPS; h != nil {
		h.markdown(&b)
	}
	if r.Revocations != nil {
		r.Revocations.markdown(&b)
	}
	if len(r.Scale) > 0 {
		p("### Controller scale\n\n")
		p("N OAuthClients with token Secrets created at once by %d writers on a fresh local control plane; the manager runs as its ServiceAccount with the deployment's RBAC. With 2 replicas (the deployment's shape and the default, `-scale-replicas`) both run with `--leader-elect`, the second started once the first holds the controllers' Lease: the first is the leader whose figures the table gives (requests, RSS, idle), the second's informers load the control plane as in a cluster, and its peak RSS and idle figures are in their own column; the Lease column says whether the leader kept the Lease through the burst and the idle window (a loss shows as transitions). Then the leader is stopped as a rollout stops it (SIGTERM; it gives the Lease up on its way out), or killed with `-failover kill` (SIGKILL, as a failed node: the Lease must expire first): the failover column gives when the second replica held the Lease, when its OAuthClient controller made the last reconcile of the takeover (every client at least once; the queues empty and no reconcile for 1 s after it), and the writes other than to Leases that the API server served from the stop until %s after that (a new leader should have nothing to write; both replicas have the same `--gateway-url`, the Service's in a deployment); re-issued counts token Secrets past their first revision after it. The floor is a plain client-go program (the harness) creating 2·N Secrets with %d workers on the same control plane, just before. The writes floor is the same program making, on a fresh control plane of its own with no manager, the writes that N Ready clients consist of (per client: the OAuthClient, the Secrets as the manager wrote them, a status patch to the status it wrote, its Events; copied from the run's first client): each worker makes one client's writes in order, so with a cold control plane and few clients a controller writing with more concurrency can be faster (at 100 clients the manager is); at 10,000 it is what this control plane takes for those writes from a plain client. Its control plane's CPU time for those writes, divided by the machine's CPUs, is a bound no manager can beat here: the time those writes take with every CPU of the machine working on them and nothing else.\n\n", writers, failoverQuiet, writers)
		p("| clients | apply | all Ready | clients/s | floor (2·N Secrets) | Ready / floor | writes floor | writes floor's CPU bound | Ready / writes floor | API requests per client | route status reconciles | client reconciles | control plane CPU per client | manager CPU per client | peak RSS | idle CPU | idle requests | re-issued | replicas | Lease | second replica: peak RSS, idle CPU, idle requests | idle writes other than Leases, served by the API server | failover once idle |\n")
		p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, s := range r.Scale {
			p("| %d | %.1f s | **%.1f s** | %.1f | %.2f s (%.0f/s) | %.1f× | %.1f s (%d writes per client) | %s | %.2f× | %s | %.0f | %.0f | %.1f ms | %s | %.0f MiB | %.4f cores over %.0f s | %s | %d | %d | %s | %s | %s | %s |\n",
				s.Clients, s.ApplySeconds, s.ReadySeconds, s.ClientsPerSecond, s.FloorSeconds, s.FloorSecretsPerSecond, s.RatioToFloor, s.WritesFloorSeconds, s.WritesPerClient, cpuBound(s), s.RatioToWritesFloor,
				verbs(s.RequestsPerClient), s.RouteStatusReconciles, s.ClientReconciles, 1000*s.ControlPlaneCPUSeconds/float64(s.Clients), s.managerCPU(s.ManagerCPUSeconds, s.Clients), float64(s.PeakRSSBytes)/(1<<20),
				s.IdleCPUCores, s.IdleSeconds, counts(s.IdleRequests), s.Reissued, s.Replicas, s.lease(), s.second(), s.clusterWrites(), s.failoverText())
		}
		p("\n")
	}
	if r.Routes != nil {
		r.Routes.markdown(&b)
	}
	scaleGoals(&b, r.Scale, r.Routes)
	return b.String()
}

func verbs(m map[string]float64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	total := 0.0
	for k, v := range m {
		keys = append(keys, k)
		total += v
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, m[k]))
	}
	return fmt.Sprintf("%.2f (%s)", total, strings.Join(parts, ", "))
}

func counts(m map[string]float64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// cpuBound is a scale row's writes floor's CPU bound: its control plane's
// CPU time and that divided by the machine's CPUs.
func cpuBound(s *ScaleResult) string {
	bound, ok := s.writesCPUBound()
	if !ok {
		return "not measured"
	}
	return fmt.Sprintf("%.1f s (%.0f CPU-seconds on %d CPUs)", bound, s.WritesFloorCPUSeconds, s.CPUs)
}
