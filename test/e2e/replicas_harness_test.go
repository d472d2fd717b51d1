package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/scopegate/scopegate/internal/devcluster"
)

// leaseName is the leader-election Lease of the controllers (run.go's
// LeaderElectionID); it lives in the operator namespace by default.
const leaseName = "scopegate.dev"

// replicaSet is one scopegate deployment of leader-elected replicas on a
// control plane of its own. The suite's manager runs without leader
// election and reconciles every namespace, so on the suite's control plane it
// would write the set's Secrets too (with another issuer) and keep
// reconciling while the set's leader is down: a failover could not be told
// apart from it.
type replicaSet struct {
	cluster *devcluster.Cluster
	// issuer and gatewayURL are the --issuer and --gateway-url of every
	// replica: the first replica's addresses, as one Service in front of
	// them would give.
	issuer, gatewayURL string
	replicas           []*replica

	// base, kubeconfig and trust are what add starts another replica with.
	base       *harness
	kubeconfig string
	trust      *trust
}

// replica is one manager process of the set, seen from outside. Its
// harness is a view of the suite whose cluster is the set's and whose
// issuer, gatewayURL, metricsURL and healthURL are this replica's own listen
// addresses, the ones the test calls directly; manager is its process.
type replica struct {
	name string // "A", "B", ...
	*harness
}

// replicaSpec names a replica to start and the manager flags it takes on
// top of the ones every replica has.
type replicaSpec struct {
	name string
	args []string
}

// startReplicaPair starts a control plane and two managers, A and B, with
// --leader-elect at the same time, so that they race for the Lease, and
// waits until both serve. Everything it started is stopped when t ends.
func startReplicaPair(t *testing.T, base *harness) *replicaSet {
	t.Helper()
	return startReplicas(t, base, replicaSpec{name: "A"}, replicaSpec{name: "B"})
}

// startReplicas starts a control plane and one manager with --leader-elect
// per spec, all at the same time, and waits until every one serves. The
// first spec's addresses are the shared --issuer and --gateway-url.
// Everything it started is stopped when t ends.
func startReplicas(t *testing.T, base *harness, specs ...replicaSpec) *replicaSet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, err := devcluster.Start(ctx, devcluster.Options{Namespaces: []string{operatorNamespace}})
	if err != nil {
		t.Fatalf("e2e: replicas: start a second local control plane: %v", err)
	}
	s := &replicaSet{cluster: cluster, base: base}
	// Cleanups run last-in first-out: the managers stop before their
	// control plane.
	t.Cleanup(func() {
		if err := cluster.Stop(); err != nil {
			t.Errorf("e2e: replicas: stop the control plane: %v", err)
		}
	})
	t.Cleanup(func() { s.stop(t) })

	// Every replica runs as the manager's ServiceAccount with the
	// deployment's RBAC, leader-election Role included.
	setView := *base
	setView.cluster = cluster
	if s.kubeconfig, err = setView.managerKubeconfig("replicas.kubeconfig"); err != nil {
		t.Fatalf("e2e: replicas: %v", err)
	}
	// The set has a CA of its own, in its own control plane.
	s.trust = newTrust(base.dir, "replicas-ca.crt")
	ports, err := freePorts(4 * len(specs))
	if err != nil {
		t.Fatalf("e2e: replicas: %v", err)
	}
	var started []*replica
	for i, spec := range specs {
		r := s.newReplica(spec, ports[4*i:4*i+4])
		if err := r.manager.start(); err != nil {
			t.Fatalf("e2e: replica %s: %v", r.name, err)
		}
		started = append(started, r)
	}
	s.waitServing(t, started...)
	var where []string
	for _, r := range s.replicas {
		where = append(where, fmt.Sprintf("%s on %s and %s", r.name, r.issuer, r.gatewayURL))
	}
	t.Logf("e2e: replicas: shared issuer %s gateway %s; %s; logs %s", s.issuer, s.gatewayURL, strings.Join(where, ", "), base.dir)
	return s
}

// add starts one more replica on the set's control plane, with the shared
// issuer and gateway URL, and waits until it serves.
func (s *replicaSet) add(t *testing.T, spec replicaSpec) *replica {
	t.Helper()
	ports, err := freePorts(4)
	if err != nil {
		t.Fatalf("e2e: replicas: %v", err)
	}
	r := s.newReplica(spec, ports)
	if err := r.manager.start(); err != nil {
		t.Fatalf("e2e: replica %s: %v", r.name, err)
	}
	s.waitServing(t, r)
	t.Logf("e2e: replicas: replica %s added on %s and %s", r.name, r.issuer, r.gatewayURL)
	return r
}

// newReplica prepares the manager of spec on the four ports given (token
// server, gateway, metrics, health probes) and adds it to the set; the
// first replica's token server and gateway become the shared issuer and
// gateway URL.
func (s *replicaSet) newReplica(spec replicaSpec, ports []int) *replica {
	addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", ports[i]) }
	oauth, gw, metrics, health := addr(0), addr(1), addr(2), addr(3)
	if s.issuer == "" {
		s.issuer, s.gatewayURL = "https://"+oauth, "https://"+gw
	}
	view := *s.base
	view.cluster = s.cluster
	view.trust, view.http = s.trust, s.trust.client()
	view.issuer, view.gatewayURL = "https://"+oauth, "https://"+gw
	view.metricsURL, view.healthURL = "http://"+metrics, "http://"+health
	view.manager = &manager{
		bin:     s.base.manager.bin,
		logPath: filepath.Join(s.base.dir, "replica-"+strings.ToLower(spec.name)+".log"),
		args: append([]string{
			"--kubeconfig", s.kubeconfig,
			"--leader-elect",
			"--oauth-bind-address", oauth,
			"--gateway-bind-address", gw,
			"--metrics-bind-address", metrics,
			"--health-probe-bind-address", health,
			"--issuer", s.issuer,
			"--gateway-url", s.gatewayURL,
		}, spec.args...),
	}
	r := &replica{name: spec.name, harness: &view}
	s.replicas = append(s.replicas, r)
	return r
}

// waitServing waits, in parallel, until each of rs serves, and fails t
// naming the first that does not.
func (s *replicaSet) waitServing(t *testing.T, rs ...*replica) {
	t.Helper()
	errs := make([]error, len(rs))
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() { errs[i] = r.waitServing(90 * time.Second) })
	}
	wg.Wait()
	for i, r := range rs {
		if errs[i] != nil {
			t.Fatalf("e2e: replica %s (log %s): %v", r.name, r.manager.logPath, errs[i])
		}
	}
}

// stop stops every replica still running, with SIGTERM, and prints their log
// tails when t failed.
func (s *replicaSet) stop(t *testing.T) {
	for _, r := range s.replicas {
		if err := r.manager.stop(20 * time.Second); err != nil {
			t.Errorf("e2e: replica %s: %v", r.name, err)
		}
	}
	if t.Failed() {
		for _, r := range s.replicas {
			t.Logf("e2e: replica %s log tail (%s):\n%s", r.name, r.manager.logPath, prefixLines("e2e: replica "+r.name+"| ", r.manager.tail(40)))
		}
	}
}

// lease reads the controllers' leader-election Lease.
func (p *replicaSet) lease(ctx context.Context) (*coordinationv1.Lease, error) {
	var l coordinationv1.Lease
	key := types.NamespacedName{Namespace: operatorNamespace, Name: leaseName}
	if err := p.cluster.Client.Get(ctx, key, &l); err != nil {
		return nil, fmt.Errorf("get Lease %s: %w", key, err)
	}
	return &l, nil
}

// holder is the Lease's holder identity and transition count ("" and 0 when
// unset).
func holder(l *coordinationv1.Lease) (string, int32) {
	var id string
	var transitions int32
	if l.Spec.HolderIdentity != nil {
		id = *l.Spec.HolderIdentity
	}
	if l.Spec.LeaseTransitions != nil {
		transitions = *l.Spec.LeaseTransitions
	}
	return id, transitions
}

// isLeader reports whether r says, on its /metrics, that it holds the Lease
// (controller-runtime's leader_election_master_status, which a replica that
// never led does not export at all).
func (r *replica) isLeader() (bool, error) {
	v, found, err := r.metricSum("leader_election_master_status", `name="`+leaseName+`"`)
	if err != nil {
		return false, err
	}
	return found && v == 1, nil
}

// leadership polls until the Lease has a holder other than except ("" for
// any) and exactly one of candidates reports itself its master on /metrics
// while the other candidates report they are not; it returns that replica
// and the holder identity.
func (p *replicaSet) leadership(t *testing.T, step string, timeout time.Duration, except string, candidates ...*replica) (leader *replica, id string) {
	t.Helper()
	eventually(t, step+": exactly one replica holds Lease "+operatorNamespace+"/"+leaseName, timeout, 50*time.Millisecond, func() (bool, string) {
		l, err := p.lease(context.Background())
		if err != nil {
			return false, err.Error()
		}
		var transitions int32
		id, transitions = holder(l)
		var leaders []*replica
		var states []string
		for _, r := range candidates {
			if r.manager.exited() {
				return false, fmt.Sprintf("replica %s exited: %v", r.name, r.manager.waitErr())
			}
			ok, err := r.isLeader()
			if err != nil {
				return false, fmt.Sprintf("replica %s: %v", r.name, err)
			}
			states = append(states, fmt.Sprintf("replica %s leader_election_master_status=%v", r.name, ok))
			if ok {
				leaders = append(leaders, r)
			}
		}
		detail := fmt.Sprintf("Lease holder %q (transitions %d); %s", id, transitions, strings.Join(states, ", "))
		if id == "" || id == except || len(leaders) != 1 {
			return false, detail
		}
		leader = leaders[0]
		return true, ""
	})
	return leader, id
}

// metricSum scrapes r's /metrics once and sums the samples of name that
// carry every label given (as `key="value"`); found is false when there is
// none.
func (r *replica) metricSum(name string, labels ...string) (sum float64, found bool, err error) {
	res, err := r.http.Get(r.metricsURL + "/metrics")
	if err != nil {
		return 0, false, fmt.Errorf("scrape %s/metrics: %w", r.metricsURL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("scrape %s/metrics: %s: %v", r.metricsURL, res.Status, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, false, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
		found = true
	}
	return sum, found, nil
}

// reconciles is how many times r's leader-only OAuthClient controller
// reconciled (0 when it never started).
func (r *replica) reconciles() (float64, error) {
	v, _, err := r.metricSum("controller_runtime_reconcile_total", `controller="oauthclient"`)
	return v, err
}

// ready reports r's /readyz answer.
func (r *replica) ready() error {
	res, err := r.http.Get(r.healthURL + "/readyz")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
		return errors.New(res.Status + " " + oneLine(string(b)))
	}
	return nil
}

// via is c addressed to r's own token endpoint, as a client whose Service
// sent it to r would reach it; the Secret's token_url names the shared
// issuer.
func (r *replica) via(c creds) creds {
	c.TokenURL = r.issuer + "/oauth/token"
	return c
}

// tokenFrom fetches a token for c from r's token endpoint with
// golang.org/x/oauth2 and fails t naming the replica and step.
func (r *replica) tokenFrom(t *testing.T, step string, c creds) string {
	t.Helper()
	tok, err := r.tokenWith(r.via(c), "mcp", nil, oauth2.AuthStyleInHeader)
	if err != nil {
		t.Fatalf("e2e: replica %s: %s: token for %s at %s/oauth/token: %v", r.name, step, c.ClientID, r.issuer, err)
	}
	return tok.AccessToken
}

// expectActive polls r's introspection endpoint, authenticated as auditor,
// until it answers active == want for token.
func (r *replica) expectActive(t *testing.T, step string, auditor creds, token string, want bool) {
	t.Helper()
	eventually(t, fmt.Sprintf("replica %s: %s: introspection answers active=%v", r.name, step, want), defaultWait, pollInterval, func() (bool, string) {
		res, err := r.postForm("/oauth/introspect", auditor, url.Values{"token": {token}})
		if err != nil {
			return false, err.Error()
		}
		return res.Status == http.StatusOK && res.active() == want, res.String()
	})
}
