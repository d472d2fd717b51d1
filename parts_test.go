package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/ptr"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/scopegate/scopegate/internal/part"
)

// recorder records what a part adds to a manager instead of adding it.
type recorder struct {
	manager.Manager
	added []manager.Runnable
}

func (r *recorder) Add(rn manager.Runnable) error {
	r.added = append(r.added, rn)
	return nil
}

// GetControllerOptions lets the same controllers be built again in this
// process (another test, -count).
func (r *recorder) GetControllerOptions() ctrlconfig.Controller {
	o := r.Manager.GetControllerOptions()
	o.SkipNameValidation = ptr.To(true)
	return o
}

func typesOf(rs []manager.Runnable) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%T", r))
	}
	slices.Sort(out)
	return out
}

// deadKubeconfig names an API server that nobody answers at: building the
// parts must not need one.
func deadKubeconfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	const kc = `apiVersion: v1
kind: Config
clusters: [{name: dead, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: dead, context: {cluster: dead, user: u}}]
current-context: dead
`
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testParts builds the manager's parts against an unreachable API server,
// with extra flags.
func testParts(t *testing.T, args ...string) (manager.Manager, part.Parts) {
	t.Helper()
	cfg, err := parse(t, append([]string{"--kubeconfig=" + deadKubeconfig(t), "--metrics-bind-address=0"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := newManager(cfg, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	parts, err := newParts(context.Background(), mgr, cfg, logr.Discard(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return mgr, parts
}

// controllerType is what controller-runtime's builder adds for a controller.
const controllerType = "*controller.Controller[sigs.k8s.io/controller-runtime/pkg/reconcile.Request]"

func TestEveryReplicaRunsTheServingPiecesAndEachTermTheLeaderOnlyOnes(t *testing.T) {
	mgr, parts := testParts(t)

	serving := &recorder{Manager: mgr}
	if err := parts.Serve(serving); err != nil {
		t.Fatal(err)
	}
	wantServing := []string{
		"*apiserver.FirstSync", "*keys.Loop", "*revocation.Cluster", "*servingcert.SecretLoader",
		"*servingcert.Server", "*servingcert.Server",
		controllerType, controllerType, // the registry and route-table feeds
		"part.beforeCacheSync",   // the API-server probe
		"*replicas.Counter",      // the replicas sharing each local rate limit
		"*gatewayroute.keyWatch", // the route-table feed's provider key Secrets
	}
	slices.Sort(wantServing)
	if got := typesOf(serving.added); !slices.Equal(got, wantServing) {
		t.Errorf("every replica runs\n%v, want\n%v", got, wantServing)
	}
	for _, r := range serving.added {
		if le, ok := r.(manager.LeaderElectionRunnable); !ok || le.NeedLeaderElection() {
			t.Errorf("every replica runs %T, which needs leader election", r)
		}
	}

	term := &recorder{Manager: mgr}
	if err := parts.Lead(term); err != nil {
		t.Fatal(err)
	}
	wantLeader := []string{
		"*keys.Loop", "*revocation.Collector", "*servingcert.Issuer",
		controllerType, controllerType, // the OAuthClient reconciler and the GatewayRoute status writer
		// The reconciler's triggers (a new CA bundle, a retired signing key)
		// and the per-client gauges' view of the leader's cache.
		"*oauthclient.bundleWatch", "*oauthclient.gaugeSource", "*oauthclient.keyRetirementWatch",
		"*gatewayroute.keyWatch", // the status writer's provider key Secrets
	}
	slices.Sort(wantLeader)
	if got := typesOf(term.added); !slices.Equal(got, wantLeader) {
		t.Errorf("each term of leadership runs\n%v, want\n%v", got, wantLeader)
	}
	for _, r := range term.added {
		for _, s := range serving.added {
			if r == s {
				t.Errorf("%T runs on every replica and again in each term", r)
			}
		}
	}
}

func TestEveryPartsChecksAreServedUnderTheirNames(t *testing.T) {
	for _, c := range []struct {
		name      string
		args      []string
		wantReady []string
	}{
		{"With TLS the serving certificate is checked", nil, []string{"caches", "revocations", "serving-cert", "signing-keys"}},
		{"Without TLS there is no certificate to check", []string{"--tls-mode=off"}, []string{"caches", "revocations", "signing-keys"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, parts := testParts(t, c.args...)
			live, ready, err := parts.Checks()
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Sorted(maps.Keys(ready)); !slices.Equal(got, c.wantReady) {
				t.Errorf("readiness checks %v, want %v", got, c.wantReady)
			}
			if got := slices.Sorted(maps.Keys(live)); !slices.Equal(got, []string{"healthz"}) {
				t.Errorf("liveness checks %v, want [healthz]", got)
			}
		})
	}
}
