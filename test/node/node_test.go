//go:build linux

package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

const (
	// sgNamespace is where the chart installs scopegate; appNamespace
	// holds the workloads. Both enforce the restricted Pod Security level.
	sgNamespace  = "scopegate-system"
	appNamespace = "team-a"
	// The issuer and the gateway as the chart names them by default; the
	// workloads resolve the name through hostAliases (the node has no
	// cluster DNS).
	sgHost = "scopegate." + sgNamespace + ".svc"
)

func TestNodeIsReadyWithItsOwnAddress(t *testing.T) {
	var n corev1.Node
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: NodeName}, &n); err != nil {
		t.Fatal(err)
	}
	ready, addr := false, ""
	for _, c := range n.Status.Conditions {
		ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			addr = a.Address
		}
	}
	if !ready || addr != NodeIP {
		t.Fatalf("node %s: Ready %t, InternalIP %q; want Ready with %s", NodeName, ready, addr, NodeIP)
	}
}

// TestScopegateOnANode installs scopegate with its chart and runs
// workloads against it as Pods. The steps build on each other.
func TestScopegateOnANode(t *testing.T) {
	if !t.Run("helm install reaches 2 Ready replicas under restricted Pod Security", testHelmInstall) {
		t.FailNow()
	}
	if !t.Run("workload pods start; one mounting a token Secret calls a route through the gateway", testTokenSecretWorkload) {
		t.FailNow()
	}
	t.Run("a secretless pod uses its projected ServiceAccount token", testServiceAccountWorkload)
	t.Run("a pod uses client_credentials trusting only the mounted ca.crt", testClientCredentialsWorkload)
	t.Run("a renewed token reaches the mounted file before the old one expires", testRenewalReachesThePod)
	t.Run("a rolling update while a pod calls the gateway: no call fails", testRollingUpdate)
	t.Run("deleting the leader pod: another replica leads and tokens are still issued", testLeaderPodDeleted)
	t.Run("a kubelet restart: the pods come back Ready and serve", testKubeletRestart)
	t.Run("kubectl apply of the install bundle reaches 2 Ready replicas", testInstallBundle)
}

func restrictedNamespace(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
`, name)
}

func testHelmInstall(t *testing.T) {
	ctx := context.Background()
	if err := node.Apply(ctx, restrictedNamespace(sgNamespace)); err != nil {
		t.Fatal(err)
	}
	repo, tag := splitRef(scopegateImage)
	out, err := node.Command(ctx, filepath.Join(root, "bin", "helm"), "install", "scopegate", filepath.Join(root, "dist", "chart"),
		"--namespace", sgNamespace,
		"--set", "image.repository="+repo, "--set", "image.tag="+tag, "--set", "image.pullPolicy=Never").CombinedOutput()
	if err != nil {
		t.Fatalf("helm install: %v\n%s", err, out)
	}
	waitDeploymentReady(t, sgNamespace, "scopegate", 2)
	var pdb policyv1.PodDisruptionBudget
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: sgNamespace, Name: "scopegate"}, &pdb); err != nil {
		t.Errorf("PodDisruptionBudget: %v", err)
	} else if pdb.Status.ExpectedPods != 2 {
		t.Errorf("PodDisruptionBudget expects %d pods, want 2", pdb.Status.ExpectedPods)
	}
	// One replica leads: its pod holds the Lease.
	eventually(t, 2*time.Minute, "a scopegate pod holds the leader Lease", func() error {
		if leaderPod(t) == "" {
			return fmt.Errorf("no Lease in %s is held by a scopegate pod", sgNamespace)
		}
		return nil
	})
}

// workloads are the objects the workloads use: a backend and its
// Service, a route to it, and three OAuthClients: one with a token Secret,
// one with a client secret, one secretless bound to a ServiceAccount.
func workloads() string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: echo, namespace: %[1]s, labels: {app: echo}}
spec:
  %[2]s
  containers:
  - name: echo
    image: %[3]s
    imagePullPolicy: Never
    args: [backend]
    env: [{name: ADDR, value: ":8080"}, {name: NAME, value: echo}]
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 2}
    %[4]s
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: %[1]s}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 8080, targetPort: http}]
---
apiVersion: scopegate.dev/v1alpha1
kind: GatewayRoute
metadata: {name: echo, namespace: %[1]s}
spec:
  pathPrefix: /echo
  protocol: HTTP
  backend: {service: {name: echo, port: 8080}, path: /}
  requiredScopes: [service]
---
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: token-agent, namespace: %[1]s}
spec:
  scopes: [service]
  tokenSecret: {scopes: [service], duration: 2m}
---
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: cc-agent, namespace: %[1]s}
spec:
  scopes: [service]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa-agent, namespace: %[1]s}
---
apiVersion: scopegate.dev/v1alpha1
kind: OAuthClient
metadata: {name: sa-agent, namespace: %[1]s}
spec:
  scopes: [service]
  clientAuthentication: serviceAccountToken
  serviceAccounts: [{name: sa-agent}]
`, appNamespace, podSecurity, WorkloadImage, containerSecurity)
}

func testTokenSecretWorkload(t *testing.T) {
	ctx := context.Background()
	if err := node.Apply(ctx, restrictedNamespace(appNamespace)); err != nil {
		t.Fatal(err)
	}
	if err := node.Apply(ctx, workloads()); err != nil {
		t.Fatal(err)
	}
	for _, oc := range []string{"token-agent", "cc-agent", "sa-agent"} {
		waitOAuthClientReady(t, appNamespace, oc)
	}
	waitRouteReady(t, appNamespace, "echo")
	startAgent(t)
	res := agentCall(t, "tokenfile", "/echo/hello")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "backend echo /hello authorization=false") {
		t.Fatalf("the gateway answered %d %q; want 200 from the backend, which got no credentials", res.Status, res.Body)
	}
	// A path no route serves is refused: the call above went through the
	// gateway's routing, not around it.
	if res := agentCall(t, "tokenfile", "/nowhere"); res.Status != http.StatusNotFound {
		t.Fatalf("a path with no route answered %d %q; want 404", res.Status, res.Body)
	}
}

// testServiceAccountWorkload: a secretless pod gets a token with its
// projected ServiceAccount token (audience: the issuer) and calls the route.
func testServiceAccountWorkload(t *testing.T) {
	res := agentCall(t, "serviceaccount", "/echo/sa")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "backend echo /sa") {
		t.Fatalf("the gateway answered %d %q; want 200 from the backend", res.Status, res.Body)
	}
}

// testClientCredentialsWorkload: a pod with the credentials Secret uses
// client_credentials, trusting only the Secret's ca.crt.
func testClientCredentialsWorkload(t *testing.T) {
	res := agentCall(t, "client_credentials", "/echo/cc")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "backend echo /cc") {
		t.Fatalf("the gateway answered %d %q; want 200 from the backend", res.Status, res.Body)
	}
}

// testRenewalReachesThePod: the token Secret (2m) is renewed 90 s before
// expiry; the kubelet, at its default sync period, must bring the new token
// into the pod before the old one expires, and the new token works.
func testRenewalReachesThePod(t *testing.T) {
	const dir = "/var/run/secrets/scopegate"
	first := agentFile(t, dir+"/access_token")
	expiresAt := agentFile(t, dir+"/expires_at")
	oldExpiry, err := time.Parse(time.RFC3339, strings.TrimSpace(expiresAt))
	if err != nil {
		t.Fatalf("expires_at %q: %v", expiresAt, err)
	}
	t.Logf("the mounted token expires at %s (in %s); waiting for the renewed one", oldExpiry.Format(time.RFC3339), time.Until(oldExpiry).Round(time.Second))
	var changedAt time.Time
	eventually(t, time.Until(oldExpiry)+time.Minute, "the mounted access_token changes", func() error {
		if agentFile(t, dir+"/access_token") == first {
			return fmt.Errorf("still the first token")
		}
		changedAt = time.Now()
		return nil
	})
	t.Logf("the new token reached the pod %s before the old one's expiry", oldExpiry.Sub(changedAt).Round(time.Second))
	if !changedAt.Before(oldExpiry) {
		t.Fatalf("the renewed token reached the pod at %s, after the old one expired at %s", changedAt.Format(time.RFC3339), oldExpiry.Format(time.RFC3339))
	}
	if res := agentCall(t, "tokenfile", "/echo/renewed"); res.Status != http.StatusOK {
		t.Fatalf("the renewed token: the gateway answered %d %q; want 200", res.Status, res.Body)
	}
}

func testLeaderPodDeleted(t *testing.T) {
	ctx := context.Background()
	leader := leaderPod(t)
	t.Logf("the leader is %s", leader)
	if err := k8s.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: sgNamespace, Name: leader}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Minute, "another pod leads", func() error {
		if l := leaderPod(t); l == leader || l == "" {
			return fmt.Errorf("the Lease is held by %q", l)
		}
		return nil
	})
	waitDeploymentReady(t, sgNamespace, "scopegate", 2)
	if res := agentCall(t, "client_credentials", "/echo/after-leader"); res.Status != http.StatusOK {
		t.Fatalf("after the leader's deletion the gateway answered %d %q; want 200", res.Status, res.Body)
	}
	// The new leader issues: a new OAuthClient gets its credentials.
	if err := node.Apply(ctx, fmt.Sprintf("apiVersion: scopegate.dev/v1alpha1\nkind: OAuthClient\nmetadata: {name: after-leader, namespace: %s}\nspec: {scopes: [service]}\n", appNamespace)); err != nil {
		t.Fatal(err)
	}
	waitOAuthClientReady(t, appNamespace, "after-leader")
}

func testKubeletRestart(t *testing.T) {
	if err := node.StopKubelet(); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := node.StartKubelet(); err != nil {
		t.Fatal(err)
	}
	// The node's Lease is what a kubelet renews every 10 s; the Ready
	// condition's heartbeat is only rewritten when the status changes.
	eventually(t, 3*time.Minute, "the restarted kubelet renews the node's Lease and the node is Ready", func() error {
		var l coordinationv1.Lease
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: "kube-node-lease", Name: NodeName}, &l); err != nil {
			return err
		}
		if l.Spec.RenewTime == nil || !l.Spec.RenewTime.After(before) {
			return fmt.Errorf("the node Lease was last renewed %v, before the restart", l.Spec.RenewTime)
		}
		var n corev1.Node
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: NodeName}, &n); err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("node %s is not Ready", NodeName)
	})
	waitDeploymentReady(t, sgNamespace, "scopegate", 2)
	waitPodReady(t, appNamespace, "agent")
	// The restarted kubelet runs new pods: the backend is made anew, and
	// the route follows it to its new address.
	ctx := context.Background()
	if err := k8s.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "echo"}}, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "the old backend pod is gone", func() error {
		err := k8s.Get(ctx, client.ObjectKey{Namespace: appNamespace, Name: "echo"}, &corev1.Pod{})
		if err == nil {
			return fmt.Errorf("still there")
		}
		return client.IgnoreNotFound(err)
	})
	if err := node.Apply(ctx, workloads()); err != nil {
		t.Fatal(err)
	}
	waitPodReady(t, appNamespace, "echo")
	for _, auth := range []string{"tokenfile", "client_credentials", "serviceaccount"} {
		res := agentCall(t, auth, "/echo/after-restart")
		for deadline := time.Now().Add(time.Minute); res.Status >= 500 && time.Now().Before(deadline); {
			// Until the gateway learns the new endpoint from the
			// EndpointSlice: 502 or 503.
			time.Sleep(time.Second)
			res = agentCall(t, auth, "/echo/after-restart")
		}
		if res.Status != http.StatusOK {
			t.Fatalf("%s after the kubelet restart: the gateway answered %d %q; want 200", auth, res.Status, res.Body)
		}
	}
}

func testRollingUpdate(t *testing.T) {
	ctx := context.Background()
	repo, tag := splitRef(scopegateImage)
	newTag := tag + "-rolled"
	// The same image under a new tag: a new pod template, as an upgrade.
	if err := node.TagImage(ctx, scopegateImage, repo+":"+newTag); err != nil {
		t.Fatal(err)
	}
	agentGet(t, "/loop/start?auth=client_credentials&scope=service&path=/echo/rolling")
	loopRunning := true
	defer func() {
		if loopRunning {
			agentGet(t, "/loop/stop")
		}
	}()
	time.Sleep(3 * time.Second)
	out, err := node.Command(ctx, filepath.Join(root, "bin", "helm"), "upgrade", "scopegate", filepath.Join(root, "dist", "chart"),
		"--namespace", sgNamespace, "--reuse-values", "--set", "image.tag="+newTag).CombinedOutput()
	if err != nil {
		t.Fatalf("helm upgrade: %v\n%s", err, out)
	}
	eventually(t, 5*time.Minute, "every scopegate pod runs "+newTag, func() error {
		var pods corev1.PodList
		if err := k8s.List(ctx, &pods, client.InNamespace(sgNamespace), client.MatchingLabels{"app.kubernetes.io/name": "scopegate"}); err != nil {
			return err
		}
		n := 0
		for _, p := range pods.Items {
			if !strings.HasSuffix(p.Spec.Containers[0].Image, ":"+newTag) {
				return fmt.Errorf("pod %s still runs %s", p.Name, p.Spec.Containers[0].Image)
			}
			if podReady(&p) {
				n++
			}
		}
		if n != 2 {
			return fmt.Errorf("%d of the new pods Ready", n)
		}
		return nil
	})
	// A few seconds more: calls after the last old pod went.
	time.Sleep(5 * time.Second)
	var res struct {
		Calls, Failed int
		Errors        []string
	}
	body := agentGet(t, "/loop/stop")
	loopRunning = false
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatalf("loop result %q: %v", body, err)
	}
	t.Logf("%d calls through the scopegate Service during the rolling update, %d failed", res.Calls, res.Failed)
	if res.Calls < 50 {
		t.Fatalf("only %d calls: the loop did not run", res.Calls)
	}
	if res.Failed > 0 {
		t.Fatalf("%d of %d calls failed during the rolling update; the first: %s", res.Failed, res.Calls, strings.Join(res.Errors, "; "))
	}
}

// testInstallBundle replaces the Helm release with the install bundle of
// `make build-installer`, applied as the README says; the workloads keep
// working against it.
func testInstallBundle(t *testing.T) {
	ctx := context.Background()
	out, err := node.Command(ctx, filepath.Join(root, "bin", "helm"), "uninstall", "scopegate", "--namespace", sgNamespace, "--wait").CombinedOutput()
	if err != nil {
		t.Fatalf("helm uninstall: %v\n%s", err, out)
	}
	eventually(t, 3*time.Minute, "the Helm release's pods are gone", func() error {
		var pods corev1.PodList
		if err := k8s.List(ctx, &pods, client.InNamespace(sgNamespace)); err != nil {
			return err
		}
		if len(pods.Items) > 0 {
			return fmt.Errorf("%d pods left", len(pods.Items))
		}
		return nil
	})
	cmd := exec.Command("make", "-s", "build-installer", "IMG="+scopegateImage)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-installer: %v\n%s", err, out)
	}
	if out, err := node.Kubectl(ctx, "apply", "-f", filepath.Join(root, "dist", "install.yaml")); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	waitDeploymentReady(t, sgNamespace, "scopegate", 2)
	var pdb policyv1.PodDisruptionBudget
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: sgNamespace, Name: "scopegate"}, &pdb); err != nil {
		t.Errorf("PodDisruptionBudget: %v", err)
	}
	eventually(t, 2*time.Minute, "a scopegate pod holds the leader Lease", func() error {
		if leaderPod(t) == "" {
			return fmt.Errorf("no Lease in %s is held by a scopegate pod", sgNamespace)
		}
		return nil
	})
	// The Service was made anew, with a new ClusterIP: the agent starts
	// again to resolve it.
	restartAgent(t)
	for _, auth := range []string{"tokenfile", "client_credentials", "serviceaccount"} {
		if res := agentCall(t, auth, "/echo/bundle"); res.Status != http.StatusOK {
			t.Fatalf("%s against the bundle's scopegate: the gateway answered %d %q; want 200", auth, res.Status, res.Body)
		}
	}
}

// leaderPod is the pod holding scopegate's leader Lease, or "".
func leaderPod(t *testing.T) string {
	t.Helper()
	var leases coordinationv1.LeaseList
	if err := k8s.List(context.Background(), &leases, client.InNamespace(sgNamespace)); err != nil {
		t.Fatal(err)
	}
	var pods corev1.PodList
	if err := k8s.List(context.Background(), &pods, client.InNamespace(sgNamespace)); err != nil {
		t.Fatal(err)
	}
	for _, l := range leases.Items {
		if l.Spec.HolderIdentity == nil {
			continue
		}
		for _, p := range pods.Items {
			if strings.HasPrefix(*l.Spec.HolderIdentity, p.Name) && p.DeletionTimestamp == nil {
				return p.Name
			}
		}
	}
	return ""
}

// Security contexts of the restricted Pod Security level.
const (
	podSecurity       = `securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}`
	containerSecurity = `securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}`
)

// startAgent starts the agent pod, as ServiceAccount sa-agent: it mounts
// the token Secret of token-agent, the credentials Secrets of cc-agent and
// sa-agent, and a projected ServiceAccount token for the issuer; it
// resolves scopegate's Service name to the Service's ClusterIP (the node
// has no cluster DNS; kube-proxy serves the ClusterIP).
func startAgent(t *testing.T) {
	t.Helper()
	var svc corev1.Service
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: sgNamespace, Name: "scopegate"}, &svc); err != nil {
		t.Fatal(err)
	}
	ip := svc.Spec.ClusterIP
	if err := node.Apply(context.Background(), fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: %[1]s}
spec:
  serviceAccountName: sa-agent
  %[2]s
  hostAliases: [{ip: %[5]q, hostnames: [%[6]q]}]
  containers:
  - name: agent
    image: %[3]s
    imagePullPolicy: Never
    args: [agent]
    env:
    - {name: GATEWAY_URL, value: "https://%[6]s:8000"}
    - {name: TOKEN_FILE, value: /var/run/secrets/scopegate/access_token}
    - {name: CREDENTIALS_DIR, value: /var/run/secrets/cc-agent}
    - {name: SA_CREDENTIALS_DIR, value: /var/run/secrets/sa-agent}
    - {name: SA_TOKEN_FILE, value: /var/run/secrets/sa-token/token}
    ports: [{name: http, containerPort: 8090}]
    readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 2}
    %[4]s
    volumeMounts:
    - {name: token, mountPath: /var/run/secrets/scopegate, readOnly: true}
    - {name: cc, mountPath: /var/run/secrets/cc-agent, readOnly: true}
    - {name: sa, mountPath: /var/run/secrets/sa-agent, readOnly: true}
    - {name: sa-token, mountPath: /var/run/secrets/sa-token, readOnly: true}
  volumes:
  - name: token
    secret: {secretName: token-agent-token}
  - name: cc
    secret: {secretName: cc-agent-credentials}
  - name: sa
    secret: {secretName: sa-agent-credentials}
  - name: sa-token
    projected:
      sources:
      - serviceAccountToken: {audience: %[7]q, expirationSeconds: 3600, path: token}
`, appNamespace, podSecurity, WorkloadImage, containerSecurity, ip, sgHost, "https://"+sgHost+":8080")); err != nil {
		t.Fatal(err)
	}
	waitPodReady(t, appNamespace, "agent")
	agentIP = ""
}

// restartAgent deletes the agent pod and starts it again.
func restartAgent(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := k8s.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: appNamespace, Name: "agent"}}, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Minute, "the agent pod is gone", func() error {
		err := k8s.Get(ctx, client.ObjectKey{Namespace: appNamespace, Name: "agent"}, &corev1.Pod{})
		if err == nil {
			return fmt.Errorf("still there")
		}
		return client.IgnoreNotFound(err)
	})
	startAgent(t)
}

// agentCall asks the agent pod to call the gateway.
func agentCall(t *testing.T, auth, path string) Result {
	t.Helper()
	var res Result
	body := agentGet(t, "/call?auth="+auth+"&scope=service&path="+path)
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatalf("agent answered %q: %v", body, err)
	}
	return res
}

// Result is the agent's answer (test/node/workload).
type Result struct {
	Status      int    `json:"status"`
	Body        string `json:"body"`
	TokenSource string `json:"tokenSource"`
}

func agentFile(t *testing.T, path string) string {
	t.Helper()
	return agentGet(t, "/file?p="+path)
}

var agentIP string

func agentGet(t *testing.T, pathAndQuery string) string {
	t.Helper()
	if agentIP == "" {
		var p corev1.Pod
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: appNamespace, Name: "agent"}, &p); err != nil {
			t.Fatal(err)
		}
		agentIP = p.Status.PodIP
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: node.Netns.DialContext, DisableKeepAlives: true}}
	resp, err := hc.Get("http://" + agentIP + ":8090" + pathAndQuery)
	if err != nil {
		t.Fatalf("agent %s: %v", pathAndQuery, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("agent %s answered %d: %s", pathAndQuery, resp.StatusCode, b)
	}
	return string(b)
}

func scopegatePods(t *testing.T) []corev1.Pod {
	t.Helper()
	var pods corev1.PodList
	if err := k8s.List(context.Background(), &pods, client.InNamespace(sgNamespace), client.MatchingLabels{"app.kubernetes.io/name": "scopegate"}); err != nil {
		t.Fatal(err)
	}
	var ready []corev1.Pod
	for _, p := range pods.Items {
		if podReady(&p) && p.DeletionTimestamp == nil {
			ready = append(ready, p)
		}
	}
	if len(ready) == 0 {
		t.Fatalf("no Ready scopegate pod in %s", sgNamespace)
	}
	return ready
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func waitPodReady(t *testing.T, ns, name string) {
	t.Helper()
	eventually(t, 3*time.Minute, "pod "+ns+"/"+name+" Ready", func() error {
		var p corev1.Pod
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
			return err
		}
		if !podReady(&p) {
			return fmt.Errorf("phase %s, %s", p.Status.Phase, containerStates(&p))
		}
		return nil
	})
}

func containerStates(p *corev1.Pod) string {
	var s []string
	for _, c := range p.Status.ContainerStatuses {
		switch {
		case c.State.Waiting != nil:
			s = append(s, fmt.Sprintf("%s waiting: %s %s", c.Name, c.State.Waiting.Reason, c.State.Waiting.Message))
		case c.State.Terminated != nil:
			s = append(s, fmt.Sprintf("%s terminated: %s (exit %d)", c.Name, c.State.Terminated.Reason, c.State.Terminated.ExitCode))
		default:
			s = append(s, fmt.Sprintf("%s running, ready %t, restarts %d", c.Name, c.Ready, c.RestartCount))
		}
	}
	return strings.Join(s, "; ")
}

func waitDeploymentReady(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	eventually(t, 5*time.Minute, fmt.Sprintf("deployment %s/%s with %d Ready replicas", ns, name, replicas), func() error {
		var d appsv1.Deployment
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
			return err
		}
		if d.Status.ReadyReplicas != replicas || d.Status.UpdatedReplicas != replicas || d.Status.Replicas != replicas {
			var pods corev1.PodList
			_ = k8s.List(context.Background(), &pods, client.InNamespace(ns))
			var s []string
			for _, p := range pods.Items {
				s = append(s, p.Name+": "+string(p.Status.Phase)+" "+containerStates(&p))
			}
			return fmt.Errorf("%d ready, %d updated, %d in all; pods: %s; conditions %v", d.Status.ReadyReplicas, d.Status.UpdatedReplicas, d.Status.Replicas, strings.Join(s, " | "), d.Status.Conditions)
		}
		return nil
	})
}

func waitOAuthClientReady(t *testing.T, ns, name string) {
	t.Helper()
	eventually(t, 2*time.Minute, "OAuthClient "+ns+"/"+name+" Ready", func() error {
		var oc scopegatev1alpha1.OAuthClient
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &oc); err != nil {
			return err
		}
		return conditionTrue(oc.Status.Conditions, "Ready")
	})
}

func waitRouteReady(t *testing.T, ns, name string) {
	t.Helper()
	eventually(t, 2*time.Minute, "GatewayRoute "+ns+"/"+name+" Ready", func() error {
		var gr scopegatev1alpha1.GatewayRoute
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &gr); err != nil {
			return err
		}
		return conditionTrue(gr.Status.Conditions, "Ready")
	})
}

func conditionTrue(conds []metav1.Condition, typ string) error {
	c := meta.FindStatusCondition(conds, typ)
	if c == nil || c.Status != metav1.ConditionTrue {
		return fmt.Errorf("%s is not True: %+v", typ, c)
	}
	return nil
}

func eventually(t *testing.T, timeout time.Duration, what string, ok func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := ok()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(time.Second)
	}
}

func splitRef(ref string) (repo, tag string) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "latest"
	}
	return ref[:i], ref[i+1:]
}
