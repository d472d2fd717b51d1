package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// outageLength is how long TestTheDataPlaneSurvivesAnAPIServerOutage keeps
// the API server frozen: twice the Lease duration, so that the leader
// certainly loses the Lease.
const outageLength = 30 * time.Second

// frozenAPIServer is the pair's kube-apiserver process, which a test stops
// (SIGSTOP) and continues (SIGCONT) as a stand-in for a control-plane
// upgrade, an etcd hiccup or a network partition: connections are accepted
// by the kernel, and nothing answers.
type frozenAPIServer struct {
	proc *os.Process
	mu   sync.Mutex
	at   time.Time // when frozen; zero when running
}

// apiServer finds the pair's kube-apiserver and makes sure it runs again
// when t ends, whatever happened.
func (p *replicaSet) apiServer(t *testing.T) *frozenAPIServer {
	t.Helper()
	proc, err := p.cluster.APIServerProcess()
	if err != nil {
		t.Fatalf("e2e: outage: %v", err)
	}
	f := &frozenAPIServer{proc: proc}
	t.Cleanup(func() { f.thaw(t) })
	return f
}

func (f *frozenAPIServer) freeze(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("e2e: outage: SIGSTOP kube-apiserver (pid %d): %v", f.proc.Pid, err)
	}
	f.at = time.Now()
	t.Logf("e2e: outage: kube-apiserver (pid %d) frozen", f.proc.Pid)
}

func (f *frozenAPIServer) thaw(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.at.IsZero() {
		return
	}
	if err := f.proc.Signal(syscall.SIGCONT); err != nil {
		t.Errorf("e2e: outage: SIGCONT kube-apiserver (pid %d): %v", f.proc.Pid, err)
		return
	}
	t.Logf("e2e: outage: kube-apiserver (pid %d) continued after %s", f.proc.Pid, time.Since(f.at).Round(time.Millisecond))
	f.at = time.Time{}
}

// impatient is r with an HTTP client that gives up after 5 s, so that a
// request that hangs counts as failed instead of stalling the test.
func impatient(r *replica) *replica {
	v := *r.harness
	v.http = &http.Client{Timeout: 5 * time.Second, Transport: r.http.Transport} // the pair's CA trust
	return &replica{name: r.name, harness: &v}
}

// healthy reports r's /healthz answer.
func (r *replica) healthy() error {
	res, err := r.http.Get(r.healthURL + "/healthz")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /healthz: %s", res.Status)
	}
	return nil
}

// reachable is r's scopegate_apiserver_reachable gauge.
func (r *replica) reachable() (float64, error) {
	v, found, err := r.metricSum("scopegate_apiserver_reachable")
	if err == nil && !found {
		err = fmt.Errorf("no scopegate_apiserver_reachable sample on %s/metrics", r.metricsURL)
	}
	return v, err
}

// revocation is the answer to one revocation request and how long it took.
type revocation struct {
	res  oauthResponse
	err  error
	took time.Duration
}

func (r *replica) revoke(c creds, tok string) revocation {
	start := time.Now()
	res, err := r.postForm("/oauth/revoke", c, url.Values{"token": {tok}})
	return revocation{res: res, err: err, took: time.Since(start)}
}

// expectRefusedWithin polls every replica's gateway until each refuses tok
// as invalid_token, and fails t when one does not within d of since.
func expectRefusedWithin(t *testing.T, step, path, tok string, since time.Time, d time.Duration, rs ...*replica) {
	t.Helper()
	for _, r := range rs {
		var last string
		for {
			g, err := r.gateway(http.MethodGet, path, tok)
			if err != nil {
				last = err.Error()
			} else if last = g.String(); g.Status == http.StatusUnauthorized && bearerError(g.Header) == "invalid_token" {
				break
			}
			if time.Since(since) > d {
				t.Fatalf("e2e: %s: replica %s: gateway still answers %s %s after the revocation answered 200, want 401 invalid_token within %s",
					step, r.name, last, time.Since(since).Round(time.Millisecond), d)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestTheDataPlaneSurvivesAnAPIServerOutage freezes the kube-apiserver of two
// leader-elected replicas for 30 s. Both stay up and ready, issue tokens
// and enforce at the gateway from their caches without one failed request;
// a revocation, which must be stored in the cluster, fails fast with 503;
// afterwards one replica leads again and everything converges. A replica
// started while the API server is frozen waits, unready, and serves once
// it is back.
func TestTheDataPlaneSurvivesAnAPIServerOutage(t *testing.T) {
	if suite == nil {
		t.Fatal("e2e: the suite was not started (TestMain)")
	}
	p := startReplicaPair(t, suite)
	a, b := impatient(p.replicas[0]), impatient(p.replicas[1])
	both := []*replica{a, b}
	api := p.apiServer(t)
	const ns, route = "e2e-outage", "/e2e/outage/echo"
	var (
		leader, follower *replica
		steady, auditor  creds
		revokedBefore    string // revoked, answered 200, just before the freeze
	)

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"Before the outage one replica leads and both serve a client and a route", func(t *testing.T) {
			l, _ := p.leadership(t, "outage step 1", 30*time.Second, "", p.replicas...)
			leader, follower = a, b
			if l == p.replicas[1] {
				leader, follower = b, a
			}
			a.apply(t, "outage.yaml", a.vars())
			for _, o := range []string{"oauthclient/steady", "oauthclient/auditor", "gatewayroute/outage-echo"} {
				a.waitReady(t, ns, o)
			}
			steady, auditor = a.credentials(t, ns, "steady"), a.credentials(t, ns, "auditor")
			for _, r := range both {
				r.expectGateway(t, "outage step 1: replica "+r.name, route+"/before", r.tokenFrom(t, "outage step 1", steady), http.StatusOK)
				eventually(t, "outage step 1: replica "+r.name+": scopegate_apiserver_reachable 1", defaultWait, pollInterval, func() (bool, string) {
					v, err := r.reachable()
					return err == nil && v == 1, fmt.Sprintf("%v %v", v, err)
				})
			}
		}},

		{"For 30 s of frozen API server both replicas stay ready, issue tokens and enforce, and revocations answer 503 fast", func(t *testing.T) {
			revokedBefore = a.tokenFrom(t, "outage step 2", steady)
			rv := a.revoke(steady, revokedBefore)
			if rv.err != nil || rv.res.Status != http.StatusOK {
				t.Fatalf("e2e: outage step 2: revocation before the freeze: %v %s, want 200", rv.err, rv.res)
			}
			expectRefusedWithin(t, "outage step 2: before the freeze", route+"/revoked", revokedBefore, time.Now(), 2*time.Second, both...)
			// Tokens to revoke during the outage, one per replica.
			toRevoke := map[*replica]string{a: a.tokenFrom(t, "outage step 2", steady), b: b.tokenFrom(t, "outage step 2", steady)}

			api.freeze(t)
			start := time.Now()
			var (
				requests int
				failures []string
				mu       sync.Mutex
				revoked  = map[*replica]revocation{}
				wg       sync.WaitGroup
				checked  bool
			)
			fail := func(format string, args ...any) {
				failures = append(failures, fmt.Sprintf("%5.1fs: ", time.Since(start).Seconds())+fmt.Sprintf(format, args...))
			}
			for time.Since(start) < outageLength {
				for _, r := range both {
					if r.manager.exited() {
						t.Fatalf("e2e: outage: replica %s exited %s into the outage: %v", r.name, time.Since(start).Round(time.Second), r.manager.waitErr())
					}
					requests += 4
					tok, err := r.tokenWith(r.via(steady), "mcp", nil, 0)
					if err != nil {
						fail("replica %s: token request: %v", r.name, err)
					} else if g, err := r.gateway(http.MethodGet, route+"/during", tok.AccessToken); err != nil || g.Status != http.StatusOK {
						fail("replica %s: gateway with a fresh token: %v %s", r.name, err, g)
					}
					if g, err := r.gateway(http.MethodGet, route+"/revoked", revokedBefore); err != nil || g.Status != http.StatusUnauthorized {
						fail("replica %s: gateway with the token revoked before the outage: %v %s, want 401", r.name, err, g)
					}
					if err := r.ready(); err != nil {
						fail("replica %s: /readyz: %v", r.name, err)
					}
				}
				if !checked && time.Since(start) > 5*time.Second {
					checked = true
					for r, tok := range toRevoke {
						wg.Go(func() {
							rv := r.revoke(steady, tok)
							mu.Lock()
							revoked[r] = rv
							mu.Unlock()
						})
					}
				}
				time.Sleep(250 * time.Millisecond)
			}
			wg.Wait()
			// Checked before the thaw: the leader has lost its Lease and
			// nobody could take it, so no replica leads, and both know the
			// API server is gone.
			for _, r := range both {
				if ok, err := r.isLeader(); err != nil || ok {
					t.Errorf("e2e: outage: replica %s reports leader_election_master_status=%v (%v) %s into the outage, want 0: a leader that cannot renew stops leading", r.name, ok, err, time.Since(start).Round(time.Second))
				}
				if v, err := r.reachable(); err != nil || v != 0 {
					t.Errorf("e2e: outage: replica %s: scopegate_apiserver_reachable %v (%v) during the outage, want 0", r.name, v, err)
				}
			}
			api.thaw(t)

			t.Logf("e2e: outage: %d requests to the two replicas during %s of frozen API server, %d failed", requests, outageLength, len(failures))
			if len(failures) > 0 {
				t.Errorf("e2e: outage: %d of %d requests failed during the outage, want none; first ones:\n%s", len(failures), requests, strings.Join(failures[:min(10, len(failures))], "\n"))
			}
			for _, r := range both {
				rv := revoked[r]
				switch {
				case rv.err != nil:
					t.Errorf("e2e: outage: replica %s: revocation during the outage: %v after %s, want 503 within 5 s", r.name, rv.err, rv.took.Round(time.Millisecond))
				case rv.res.Status != http.StatusServiceUnavailable || rv.took > 5*time.Second:
					t.Errorf("e2e: outage: replica %s: revocation during the outage answered %s after %s, want 503 within 5 s (it cannot be stored)", r.name, rv.res, rv.took.Round(time.Millisecond))
				case rv.res.Header.Get("Retry-After") == "" || rv.res.Body["error"] != "temporarily_unavailable":
					t.Errorf("e2e: outage: replica %s: revocation during the outage: %s, Retry-After %q; want Retry-After and error temporarily_unavailable", r.name, rv.res, rv.res.Header.Get("Retry-After"))
				default:
					t.Logf("e2e: outage: replica %s answered the revocation during the outage with 503 after %s", r.name, rv.took.Round(time.Millisecond))
				}
			}
		}},

		{"After the outage exactly one replica leads and a client created then becomes Ready", func(t *testing.T) {
			l, _ := p.leadership(t, "outage step 3", 45*time.Second, "", p.replicas...)
			leader, follower = a, b
			if l == p.replicas[1] {
				leader, follower = b, a
			}
			for _, r := range both {
				if err := r.ready(); err != nil {
					t.Errorf("e2e: outage step 3: replica %s: /readyz: %v", r.name, err)
				}
				eventually(t, "outage step 3: replica "+r.name+": scopegate_apiserver_reachable 1", defaultWait, pollInterval, func() (bool, string) {
					v, err := r.reachable()
					return err == nil && v == 1, fmt.Sprintf("%v %v", v, err)
				})
			}
			leader.apply(t, "outage-after.yaml", leader.vars())
			leader.waitReady(t, ns, "oauthclient/latecomer")
			late := leader.credentials(t, ns, "latecomer")
			for _, r := range both {
				r.expectGateway(t, "outage step 3: replica "+r.name+": latecomer's token", route+"/late", r.tokenFrom(t, "outage step 3", late), http.StatusOK)
			}
		}},

		{"After the outage a revocation is enforced on both replicas within 2 s, and the one from before the freeze still is", func(t *testing.T) {
			tok := follower.tokenFrom(t, "outage step 4", steady)
			for _, r := range both {
				r.expectGateway(t, "outage step 4: replica "+r.name+": before its revocation", route+"/after", tok, http.StatusOK)
			}
			rv := leader.revoke(steady, tok)
			if rv.err != nil || rv.res.Status != http.StatusOK {
				t.Fatalf("e2e: outage step 4: revocation at replica %s: %v %s, want 200", leader.name, rv.err, rv.res)
			}
			expectRefusedWithin(t, "outage step 4", route+"/after", tok, time.Now(), 2*time.Second, follower, leader)
			for _, r := range both {
				r.expectGateway(t, "outage step 4: replica "+r.name+": token revoked before the freeze", route+"/revoked", revokedBefore, http.StatusUnauthorized)
				r.expectActive(t, "outage step 4: token revoked before the freeze", auditor, revokedBefore, false)
			}
		}},

		{"A replica started while the API server is frozen stays up and unready, then serves once it is back", func(t *testing.T) {
			if err := follower.manager.stop(30 * time.Second); err != nil {
				t.Fatalf("e2e: outage step 5: stop replica %s: %v", follower.name, err)
			}
			api.freeze(t)
			if err := follower.manager.start(); err != nil {
				t.Fatalf("e2e: outage step 5: start replica %s: %v", follower.name, err)
			}
			const frozen = 10 * time.Second
			start := time.Now()
			answered := 0
			for time.Since(start) < frozen {
				if follower.manager.exited() {
					t.Fatalf("e2e: outage step 5: replica %s, started during the outage, exited after %s: %v", follower.name, time.Since(start).Round(time.Second), follower.manager.waitErr())
				}
				res, err := follower.http.Get(follower.healthURL + "/readyz")
				if err == nil {
					_ = res.Body.Close()
					answered++
					if res.StatusCode != http.StatusServiceUnavailable {
						t.Fatalf("e2e: outage step 5: replica %s: /readyz %s with the API server unreachable since before it started, want 503: it has no keys or clients", follower.name, res.Status)
					}
					if err := follower.healthy(); err != nil {
						t.Errorf("e2e: outage step 5: replica %s: /healthz: %v, want 200: an unreachable API server is not a wedged process", follower.name, err)
					}
				}
				time.Sleep(250 * time.Millisecond)
			}
			if answered == 0 {
				t.Errorf("e2e: outage step 5: replica %s never answered /readyz during %s", follower.name, frozen)
			}
			if v, err := follower.reachable(); err != nil || v != 0 {
				t.Errorf("e2e: outage step 5: replica %s: scopegate_apiserver_reachable %v (%v), want 0", follower.name, v, err)
			}
			api.thaw(t)
			thawed := time.Now()
			if err := follower.waitServing(60 * time.Second); err != nil {
				t.Fatalf("e2e: outage step 5: replica %s after the API server came back: %v", follower.name, err)
			}
			t.Logf("e2e: outage: replica %s, started during the outage, ready %s after the API server came back", follower.name, time.Since(thawed).Round(time.Millisecond))
			follower.expectGateway(t, "outage step 5: replica "+follower.name+": fresh token", route+"/restarted", follower.tokenFrom(t, "outage step 5", steady), http.StatusOK)
			follower.expectGateway(t, "outage step 5: replica "+follower.name+": token revoked before the freeze", route+"/revoked", revokedBefore, http.StatusUnauthorized)
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.Fatalf("e2e: outage: step %q failed; the later steps build on it and were not run", s.name)
		}
	}
}

// A replica started while the API server is unreachable is unready, and
// stops when the kubelet tells it to: within seconds of SIGTERM, not at the
// kubelet's SIGKILL (controller-runtime's manager alone would wait for its
// caches forever, one CPU busy).
func TestAReplicaStartedDuringAnOutageStopsOnSIGTERM(t *testing.T) {
	if suite == nil {
		t.Fatal("e2e: the suite was not started (TestMain)")
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "unreachable.kubeconfig")
	// Nothing listens on the API server's port.
	if err := os.WriteFile(kubeconfig, fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster: {server: "https://127.0.0.1:%d"}
users:
- name: u
  user: {token: unused}
contexts:
- name: gone
  context: {cluster: gone, user: u}
current-context: gone
`, freePort(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	ports, err := freePorts(4)
	if err != nil {
		t.Fatal(err)
	}
	health := fmt.Sprintf("127.0.0.1:%d", ports[3])
	m := &manager{
		bin:     suite.manager.bin,
		logPath: filepath.Join(dir, "manager.log"),
		args: []string{
			"--kubeconfig", kubeconfig,
			"--oauth-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[0]),
			"--gateway-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[1]),
			"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[2]),
			"--health-probe-bind-address", health,
			"--tls-mode", "off",
		},
	}
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.stop(time.Second) })

	// Unready (so a Service sends it nothing) but alive.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m.exited() {
			t.Fatalf("e2e: the replica exited on its own: %v\n%s", m.waitErr(), m.tail(20))
		}
		res, err := http.Get("http://" + health + "/readyz")
		if err == nil {
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				t.Fatalf("e2e: /readyz answered 200 without an API server")
			}
			if strings.Contains(tailFile(m.logPath, 50), "API server unreachable") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("e2e: the replica did not report the outage within 30s:\n%s", m.tail(20))
		}
		time.Sleep(200 * time.Millisecond)
	}

	stopped := time.Now()
	if err := m.stop(20 * time.Second); err != nil {
		t.Fatalf("e2e: %v\n%s", err, m.tail(20))
	}
	t.Logf("e2e: exited %s after SIGTERM", time.Since(stopped).Round(time.Millisecond))
	if err := m.waitErr(); err != nil {
		t.Errorf("e2e: exit status: %v, want 0\n%s", err, m.tail(20))
	}
	if !strings.Contains(m.tail(5), "Stopped before the caches synced with the API server") {
		t.Errorf("e2e: no line says why it stopped:\n%s", m.tail(5))
	}
}
