package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestTwoLeaderElectedReplicasServeOneDeployment is SPEC §8: two manager
// processes with --leader-elect on one control plane, sharing one --issuer
// and --gateway-url as replicas behind a Service do, each called on its own
// listen addresses. One leads the controllers; both serve the token server
// and the gateway from the cluster's keys, clients and revocations; when the
// leader stops, the other takes over.
func TestTwoLeaderElectedReplicasServeOneDeployment(t *testing.T) {
	if suite == nil {
		t.Fatal("e2e: the suite was not started (TestMain)")
	}
	p := startReplicaPair(t, suite)
	a, b := p.replicas[0], p.replicas[1]
	const ns, route = "e2e-replicas", "/e2e/replicas/echo"
	var (
		leader, follower *replica
		leaderID         string
		worker, auditor  creds
		tokA, tokB       string // the worker's tokens issued by A and by B
	)

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"Exactly one replica holds the leader Lease and both answer readyz", func(t *testing.T) {
			leader, leaderID = p.leadership(t, "step 1", 30*time.Second, "", a, b)
			follower = a
			if leader == a {
				follower = b
			}
			for _, r := range p.replicas {
				if err := r.ready(); err != nil {
					t.Errorf("e2e: step 1: replica %s: GET %s/readyz: %v, want 200", r.name, r.healthURL, err)
				}
			}
			t.Logf("e2e: replicas: replica %s leads (Lease holder %s), replica %s follows", leader.name, leaderID, follower.name)
			// The leader wrote the serving certificate; both serve it.
			pool, err := poolOf(a.trust.bundle())
			if err != nil {
				t.Fatal(err)
			}
			ca, errA := a.peer(pool)
			cb, errB := b.peer(pool)
			if errA != nil || errB != nil {
				t.Fatalf("e2e: step 1: TLS to the replicas: A %v, B %v", errA, errB)
			}
			if ca.SerialNumber.Cmp(cb.SerialNumber) != 0 {
				t.Errorf("e2e: step 1: replica A serves certificate %s, B %s: want the one the leader wrote", ca.SerialNumber.Text(16), cb.SerialNumber.Text(16))
			}
		}},

		{"A client applied with kubectl gets its credentials from the leader and both replicas issue tokens the other accepts", func(t *testing.T) {
			a.apply(t, "replicas.yaml", a.vars())
			for _, o := range []string{"oauthclient/worker", "oauthclient/auditor", "gatewayroute/replicas-echo"} {
				a.waitReady(t, ns, o)
			}
			worker, auditor = a.credentials(t, ns, "worker"), a.credentials(t, ns, "auditor")
			if worker.Issuer != p.issuer || worker.TokenURL != p.issuer+"/oauth/token" {
				t.Errorf("e2e: step 2: credentials Secret issuer %q token_url %q, want the shared issuer %s", worker.Issuer, worker.TokenURL, p.issuer)
			}
			// Only the leader runs the OAuthClient controller that writes
			// Secrets and status; the follower's never started.
			if n, err := leader.reconciles(); err != nil || n == 0 {
				t.Errorf("e2e: step 2: leader replica %s: controller_runtime_reconcile_total{controller=\"oauthclient\"} = %v (%v), want > 0", leader.name, n, err)
			}
			if n, err := follower.reconciles(); err != nil || n != 0 {
				t.Errorf("e2e: step 2: follower replica %s: controller_runtime_reconcile_total{controller=\"oauthclient\"} = %v (%v), want 0: only the leader reconciles", follower.name, n, err)
			}
			for _, r := range p.replicas {
				r.expectGateway(t, "step 2: replica "+r.name+": route is served", route, "", http.StatusUnauthorized)
			}

			tokA, tokB = a.tokenFrom(t, "step 2", worker), b.tokenFrom(t, "step 2", worker)
			for from, tok := range map[string]string{"A": tokA, "B": tokB} {
				if c := claimsOf(t, tok); c["iss"] != p.issuer || c["client_id"] != worker.ClientID {
					t.Errorf("e2e: step 2: token issued by replica %s: iss %v client_id %v, want %s and %s", from, c["iss"], c["client_id"], p.issuer, worker.ClientID)
				}
			}
			// Shared signing keys: one key set, published by both.
			kidsA, kidsB := a.publishedKids(t), b.publishedKids(t)
			if !slices.Equal(kidsA, kidsB) {
				t.Errorf("e2e: step 2: JWKS kids differ: replica A %v, replica B %v", kidsA, kidsB)
			}
			for from, tok := range map[string]string{"A": tokA, "B": tokB} {
				if kid, _ := headerOf(t, tok)["kid"].(string); !slices.Contains(kidsA, kid) || !slices.Contains(kidsB, kid) {
					t.Errorf("e2e: step 2: token issued by replica %s has kid %q; JWKS of replica A %v, of replica B %v", from, kid, kidsA, kidsB)
				}
			}
			b.expectGateway(t, "step 2: replica B: token issued by replica A", route+"/a-to-b", tokA, http.StatusOK)
			a.expectGateway(t, "step 2: replica A: token issued by replica B", route+"/b-to-a", tokB, http.StatusOK)
			b.expectActive(t, "step 2: token issued by replica A", auditor, tokA, true)
			a.expectActive(t, "step 2: token issued by replica B", auditor, tokB, true)
		}},

		{"A token revoked at replica A is refused by replica B's gateway within 2 s", func(t *testing.T) {
			tok := a.tokenFrom(t, "step 3", worker)
			b.expectGateway(t, "step 3: replica B: token before its revocation", route+"/revoke", tok, http.StatusOK)
			r, err := a.postForm("/oauth/revoke", worker, url.Values{"token": {tok}, "token_type_hint": {"access_token"}})
			if err != nil || r.Status != http.StatusOK {
				t.Fatalf("e2e: step 3: replica A: POST /oauth/revoke as %s: %v %s, want 200", worker.ClientID, err, r)
			}
			revokedAt := time.Now()
			var last string
			polls := 0
			for {
				polls++
				g, err := b.gateway(http.MethodGet, route+"/revoke", tok)
				if err != nil {
					last = err.Error()
				} else if last = g.String(); g.Status == http.StatusUnauthorized && bearerError(g.Header) == "invalid_token" {
					break
				}
				if time.Since(revokedAt) > 2*time.Second {
					t.Fatalf("e2e: step 3: replica B: gateway still answers %s to a token revoked at replica A %s ago (SPEC §5: within 2 s)", last, time.Since(revokedAt).Round(time.Millisecond))
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("e2e: replicas: replica B's gateway refused the token revoked at replica A %s after the revocation answered (poll %d)",
				time.Since(revokedAt).Round(100*time.Microsecond), polls)
			a.expectGateway(t, "step 3: replica A: token revoked at replica A", route+"/revoke", tok, http.StatusUnauthorized)
			b.expectActive(t, "step 3: token revoked at replica A", auditor, tok, false)
			// Only that jti is revoked: the client's other tokens still pass.
			b.expectGateway(t, "step 3: replica B: another token of the client", route+"/kept", tokA, http.StatusOK)
		}},

		{"Suspending the client with kubectl makes both replicas refuse its tokens", func(t *testing.T) {
			a.mustKubectl(t, "step 4: suspend the worker", "-n", ns, "patch", "oauthclient", "worker", "--type=merge", "-p", `{"spec":{"suspended":true}}`)
			for _, r := range p.replicas {
				for from, tok := range map[string]string{"A": tokA, "B": tokB} {
					step := fmt.Sprintf("step 4: replica %s: suspended client's token issued by replica %s", r.name, from)
					if g := r.expectGateway(t, step, route+"/suspended", tok, http.StatusUnauthorized); bearerError(g.Header) != "invalid_token" {
						t.Errorf("e2e: %s: got %s, want error=\"invalid_token\"", step, g)
					}
					r.expectActive(t, step, auditor, tok, false)
				}
				r.expectInvalidClient(t, "step 4: replica "+r.name+": token request of a suspended client", worker)
			}
		}},

		{"Stopping the leader hands the Lease to the other replica, which goes on reconciling", func(t *testing.T) {
			before, err := p.lease(context.Background())
			if err != nil {
				t.Fatalf("e2e: step 5: %v", err)
			}
			id, transitions := holder(before)
			if id != leaderID {
				t.Errorf("e2e: step 5: Lease holder moved before any replica stopped: %q → %q (transitions %d)", leaderID, id, transitions)
			}

			type exit struct {
				err   error
				after time.Duration
			}
			exited := make(chan exit, 1)
			sigterm := time.Now()
			go func() {
				err := leader.manager.stop(30 * time.Second)
				exited <- exit{err, time.Since(sigterm)}
			}()
			_, newID := p.leadership(t, "step 5: after SIGTERM to leader replica "+leader.name, 45*time.Second, id, follower)
			failover := time.Since(sigterm)
			e := <-exited
			if e.err != nil {
				t.Errorf("e2e: step 5: leader replica %s: %v", leader.name, e.err)
			} else if err := leader.manager.waitErr(); err != nil {
				t.Errorf("e2e: step 5: leader replica %s exited with %v after SIGTERM, want a clean exit", leader.name, err)
			}
			after, err := p.lease(context.Background())
			if err != nil {
				t.Fatalf("e2e: step 5: %v", err)
			}
			if _, tr := holder(after); tr <= transitions {
				t.Errorf("e2e: step 5: Lease transitions %d → %d after the holder changed %q → %q, want an increase", transitions, tr, id, newID)
			}
			t.Logf("e2e: replicas: failover: replica %s held the Lease %s after SIGTERM to replica %s, which exited after %s",
				follower.name, failover.Round(time.Millisecond), leader.name, e.after.Round(time.Millisecond))
			if err := follower.ready(); err != nil {
				t.Errorf("e2e: step 5: replica %s after the failover: GET %s/readyz: %v, want 200", follower.name, follower.healthURL, err)
			}

			follower.apply(t, "replicas-failover.yaml", follower.vars())
			follower.waitReady(t, ns, "oauthclient/successor")
			c := follower.credentials(t, ns, "successor")
			if c.Issuer != p.issuer {
				t.Errorf("e2e: step 5: successor's credentials Secret issuer %q, want the shared %s", c.Issuer, p.issuer)
			}
			s := follower.secret(t, ns, "successor-token", func(s *corev1.Secret) (bool, string) {
				return len(s.Data["access_token"]) > 0, "no access_token yet"
			})
			if n, err := follower.reconciles(); err != nil || n == 0 {
				t.Errorf("e2e: step 5: new leader replica %s: controller_runtime_reconcile_total{controller=\"oauthclient\"} = %v (%v), want > 0", follower.name, n, err)
			}
			step := "step 5: replica " + follower.name + ": successor's "
			follower.expectGateway(t, step+"token Secret", route+"/successor", string(s.Data["access_token"]), http.StatusOK)
			follower.expectGateway(t, step+"token from its token endpoint", route+"/successor", follower.tokenFrom(t, "step 5", c), http.StatusOK)
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.Fatalf("e2e: replicas: step %q failed; the later steps build on it and were not run", s.name)
		}
	}
}
