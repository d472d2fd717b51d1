// Package deploy tests the ways to install scopegate into a cluster: the
// Helm chart in dist/chart (lint, render with default and other values,
// values.schema.json refusals, a server-side dry run of what it renders)
// and the install bundle of `make build-installer`, against a real API
// server; and that the chart grants exactly the RBAC of config/default.
package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/scopegate/scopegate/internal/testenv"
)

var (
	root string
	k8s  client.Client
	// restCfg is the control plane's administrator.
	restCfg *rest.Config
	// kubectl is envtest's kubectl, configured for the control plane.
	kubectl interface {
		Run(args ...string) (stdout, stderr io.Reader, err error)
	}
)

func TestMain(m *testing.M) {
	var err error
	if root, err = testenv.RepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testenv.MainEnv(m, func(env *envtest.Environment, cfg *rest.Config, c client.Client) {
		k8s, restCfg, kubectl = c, cfg, env.ControlPlane.KubeCtl()
	})
}

// helm runs bin/helm (hack/build-helm.sh) in the repository root.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(root, "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("bin/helm is missing: run `make helm` (hack/build-helm.sh) first: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = root
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

func render(t *testing.T, namespace string, values ...string) string {
	t.Helper()
	args := []string{"template", "scopegate", "dist/chart", "--namespace", namespace, "--kube-version", "v1.37.2", "--include-crds"}
	for _, v := range values {
		args = append(args, "--set", v)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", values, err, out)
	}
	return out
}

func decode(t *testing.T, manifests string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifests), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err == io.EOF {
			return out
		} else if err != nil {
			t.Fatalf("decode rendered manifests: %v", err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func convert[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	if u == nil {
		t.Fatalf("object missing")
	}
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// dryRun applies manifests with a server-side dry run: the API server
// validates every object (schemas, CRD-backed kinds, RBAC rules) and stores
// nothing. The namespace is created for real first, as `helm install
// --create-namespace` or the bundle's Namespace would.
func dryRun(t *testing.T, namespace, manifests string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	if err := k8s.Create(context.Background(), ns); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "manifests.yaml")
	if err := os.WriteFile(f, []byte(manifests), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := kubectl.Run("apply", "--server-side", "--force-conflicts", "--dry-run=server", "-f", f)
	if err != nil {
		o, _ := io.ReadAll(stdout)
		e, _ := io.ReadAll(stderr)
		t.Fatalf("server-side dry run refused the manifests: %v\n%s\n%s", err, o, e)
	}
}

func TestTheChartLints(t *testing.T) {
	for _, values := range [][]string{nil, {"tls.mode=off", "replicaCount=3", "serviceMonitor.enabled=true"}} {
		args := append([]string{"lint", "dist/chart", "--strict", "--kube-version", "v1.37.2"}, setFlags(values)...)
		if out, err := helm(t, args...); err != nil {
			t.Errorf("helm lint %v: %v\n%s", values, err, out)
		}
	}
}

func setFlags(values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, "--set", v)
	}
	return out
}

func TestTheChartWithDefaultValues(t *testing.T) {
	const ns = "scopegate-system"
	manifests := render(t, ns)
	objs := decode(t, manifests)
	d := convert[appsv1.Deployment](t, find(objs, "Deployment", "scopegate"))
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas %d, want 2", *d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	for _, want := range []string{"--leader-elect", "--tls-mode=auto", "--issuer=https://scopegate.scopegate-system.svc:8080",
		"--gateway-url=https://scopegate.scopegate-system.svc:8000", "--signing-keys-secret=scopegate-system/scopegate-signing-keys",
		"--tls-dns-names=scopegate.scopegate-system.svc,scopegate.scopegate-system.svc.cluster.local"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		c.SecurityContext == nil || *c.SecurityContext.AllowPrivilegeEscalation || !*c.SecurityContext.ReadOnlyRootFilesystem ||
		!slices.Contains(c.SecurityContext.Capabilities.Drop, "ALL") {
		t.Errorf("not restricted Pod Security: pod %+v container %+v", pod.SecurityContext, c.SecurityContext)
	}
	if c.LivenessProbe == nil || c.ReadinessProbe == nil || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("probes or resources missing")
	}
	if pod.Affinity == nil || pod.Affinity.PodAntiAffinity == nil {
		t.Errorf("no pod anti-affinity")
	}
	if find(objs, "PodDisruptionBudget", "scopegate") == nil || find(objs, "ServiceMonitor", "scopegate") != nil {
		t.Errorf("want a PodDisruptionBudget and no ServiceMonitor by default")
	}
	if find(objs, "CustomResourceDefinition", "oauthclients.scopegate.dev") == nil || find(objs, "CustomResourceDefinition", "gatewayroutes.scopegate.dev") == nil {
		t.Errorf("the CRDs are not in the chart")
	}
	dryRun(t, ns, manifests)
}

func TestTheChartWithOtherValues(t *testing.T) {
	const ns = "platform-auth"
	manifests := render(t, ns, "replicaCount=3", "image.repository=registry.example.com/scopegate", "image.tag=v1.2.3",
		"tls.mode=secret", "tls.secret=platform-auth/serving-cert", "issuer=https://auth.example.com", "gatewayURL=https://gw.example.com",
		"tokenRateLimit=50", "extraArgs[0]=--zap-log-level=debug", "nodeSelector.pool=system", "resources.limits.memory=1Gi",
		"podDisruptionBudget.enabled=false", "leaderElectionFlowSchema.enabled=false")
	objs := decode(t, manifests)
	d := convert[appsv1.Deployment](t, find(objs, "Deployment", "scopegate"))
	c := d.Spec.Template.Spec.Containers[0]
	if *d.Spec.Replicas != 3 || c.Image != "registry.example.com/scopegate:v1.2.3" || d.Spec.Template.Spec.NodeSelector["pool"] != "system" {
		t.Errorf("replicas %d image %s nodeSelector %v", *d.Spec.Replicas, c.Image, d.Spec.Template.Spec.NodeSelector)
	}
	for _, want := range []string{"--tls-mode=secret", "--tls-secret=platform-auth/serving-cert", "--issuer=https://auth.example.com",
		"--gateway-url=https://gw.example.com", "--token-rate-limit=50", "--zap-log-level=debug", "--signing-keys-secret=platform-auth/scopegate-signing-keys"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--tls-dns-names") }) {
		t.Errorf("--tls-dns-names with tls.mode secret: %v", c.Args)
	}
	if find(objs, "PodDisruptionBudget", "scopegate") != nil {
		t.Errorf("a PodDisruptionBudget although disabled")
	}
	if find(objs, "FlowSchema", "scopegate-leader-election") != nil {
		t.Errorf("a FlowSchema although disabled")
	}
	crb := convert[rbacv1.ClusterRoleBinding](t, find(objs, "ClusterRoleBinding", "scopegate-manager-rolebinding"))
	if crb.Subjects[0].Namespace != ns {
		t.Errorf("the ClusterRoleBinding binds %s/%s", crb.Subjects[0].Namespace, crb.Subjects[0].Name)
	}
	dryRun(t, ns, manifests)

	off := decode(t, render(t, ns, "tls.mode=off"))
	c = convert[appsv1.Deployment](t, find(off, "Deployment", "scopegate")).Spec.Template.Spec.Containers[0]
	if !slices.Contains(c.Args, "--issuer=http://scopegate.platform-auth.svc:8080") {
		t.Errorf("tls.mode off: args %v", c.Args)
	}
}

func TestTheChartPointsAtAnExistingRedis(t *testing.T) {
	const ns = "platform-limits"
	def := convert[appsv1.Deployment](t, find(decode(t, render(t, ns)), "Deployment", "scopegate")).Spec.Template.Spec
	for _, want := range []string{"--rate-limit-store=local", "--rate-limit-failure-mode=open", "--rate-limit-replicas-service=" + ns + "/scopegate"} {
		if !slices.Contains(def.Containers[0].Args, want) {
			t.Errorf("default args %v lack %s", def.Containers[0].Args, want)
		}
	}
	if len(def.Volumes) != 0 {
		t.Errorf("default volumes %v, want none", def.Volumes)
	}

	manifests := render(t, ns, "rateLimit.store=rediss://redis.platform-limits.svc:6380/1", "rateLimit.failureMode=closed",
		"rateLimit.redis.passwordSecret.name=redis-auth", "rateLimit.redis.caSecret.name=redis-ca", "rateLimit.redis.caSecret.key=tls.ca",
		"extraVolumes[0].name=scratch", "extraVolumes[0].emptyDir.medium=Memory", "extraVolumeMounts[0].name=scratch", "extraVolumeMounts[0].mountPath=/scratch")
	pod := convert[appsv1.Deployment](t, find(decode(t, manifests), "Deployment", "scopegate")).Spec.Template.Spec
	c := pod.Containers[0]
	for _, want := range []string{"--rate-limit-store=rediss://redis.platform-limits.svc:6380/1", "--rate-limit-failure-mode=closed",
		"--rate-limit-store-password-file=/etc/scopegate/redis-password/password", "--rate-limit-store-ca-file=/etc/scopegate/redis-ca/ca.crt"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args %v lack %s", c.Args, want)
		}
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	if v := vols["redis-password"]; v.Secret == nil || v.Secret.SecretName != "redis-auth" || v.Secret.Items[0].Key != "password" || v.Secret.Items[0].Path != "password" {
		t.Errorf("password volume %+v", v)
	}
	if v := vols["redis-ca"]; v.Secret == nil || v.Secret.SecretName != "redis-ca" || v.Secret.Items[0].Key != "tls.ca" || v.Secret.Items[0].Path != "ca.crt" {
		t.Errorf("CA volume %+v", v)
	}
	if _, ok := vols["scratch"]; !ok || len(c.VolumeMounts) != 3 {
		t.Errorf("the extra volume and mounts are lost: volumes %v, mounts %v", pod.Volumes, c.VolumeMounts)
	}
	dryRun(t, ns, manifests)
}

func TestTheSchemaRefusesWrongValues(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"replicaCount=two", "replicaCount"},
		{"tls.mode=insecure", "tls/mode"},
		{"tls.mode=secret", "tls/secret"},
		{"issuer=ftp://x", "issuer"},
		{"accessTokenTTL=soon", "accessTokenTTL"},
		{"unknownKey=1", "unknownKey"},
		{"image.pullPolicy=Sometimes", "pullPolicy"},
		{"rateLimit.store=memcached://m:11211", "rateLimit/store"},
		{"rateLimit.failureMode=maybe", "rateLimit/failureMode"},
		{"rateLimit.redis.user=x", "user"},
	} {
		out, err := helm(t, "template", "scopegate", "dist/chart", "--kube-version", "v1.37.2", "--set", tc.set)
		if err == nil {
			t.Errorf("--set %s was accepted", tc.set)
			continue
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("--set %s: the error does not name %s:\n%s", tc.set, tc.want, out)
		}
	}
}

// rules reads the rules of the RBAC object kind/name from a YAML file of
// config/rbac.
func rulesOf(t *testing.T, file string) []rbacv1.PolicyRule {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	objs := decode(t, string(b))
	if len(objs) != 1 {
		t.Fatalf("%s holds %d objects", file, len(objs))
	}
	return convert[rbacv1.ClusterRole](t, objs[0]).Rules
}

func TestTheChartGrantsExactlyTheRBACOfConfigDefault(t *testing.T) {
	objs := decode(t, render(t, "scopegate-system"))
	for _, tc := range []struct{ kind, name, file string }{
		{"ClusterRole", "scopegate-manager-role", "config/rbac/role.yaml"},
		{"Role", "scopegate-leader-election", "config/rbac/leader_election_role.yaml"},
		{"Role", "scopegate-state", "config/rbac/namespace_role.yaml"},
	} {
		got := convert[rbacv1.ClusterRole](t, find(objs, tc.kind, tc.name)).Rules
		if want := rulesOf(t, tc.file); !equalRules(got, want) {
			t.Errorf("%s %s in the chart grants %v; config/default grants %v", tc.kind, tc.name, got, want)
		}
	}
}

func equalRules(a, b []rbacv1.PolicyRule) bool {
	norm := func(rs []rbacv1.PolicyRule) []string {
		var out []string
		for _, r := range rs {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						out = append(out, g+"|"+res+"|"+v+"|"+strings.Join(r.ResourceNames, ","))
					}
				}
			}
			for _, u := range r.NonResourceURLs {
				for _, v := range r.Verbs {
					out = append(out, "url|"+u+"|"+v)
				}
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

func TestTheInstallBundle(t *testing.T) {
	cmd := exec.Command("make", "-s", "build-installer", "IMG=registry.example.com/scopegate:v9.9.9")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-installer: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(root, "dist", "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs := decode(t, string(b))
	d := convert[appsv1.Deployment](t, find(objs, "Deployment", "scopegate"))
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.example.com/scopegate:v9.9.9" {
		t.Errorf("image %s", img)
	}
	for _, kind := range []string{"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Service", "Deployment", "FlowSchema"} {
		if !slices.ContainsFunc(objs, func(o *unstructured.Unstructured) bool { return o.GetKind() == kind }) {
			t.Errorf("dist/install.yaml has no %s", kind)
		}
	}
	dryRun(t, "scopegate-system", string(b))
}

// TestTheControlPlaneReportsItsVersion: the kube-apiserver that hack/
// builds carries the version stamps of a release build, so kubectl version
// and Helm's kubeVersion checks can parse it.
func TestTheControlPlaneReportsItsVersion(t *testing.T) {
	stdout, stderr, err := kubectl.Run("version", "-o", "json")
	out, _ := io.ReadAll(stdout)
	if err != nil {
		e, _ := io.ReadAll(stderr)
		t.Fatalf("kubectl version: %v\n%s\n%s", err, out, e)
	}
	var v struct {
		ClientVersion, ServerVersion struct{ GitVersion, Major, Minor string }
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("decode kubectl version: %v\n%s", err, out)
	}
	for name, got := range map[string]struct{ GitVersion, Major, Minor string }{"server": v.ServerVersion, "client": v.ClientVersion} {
		if got.GitVersion != "v1.37.2" || got.Major != "1" || got.Minor != "37" {
			t.Errorf("%s version %+v, want v1.37.2 (1.37)", name, got)
		}
	}
}
