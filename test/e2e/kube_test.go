package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// kubectl runs bin/k8s/kubectl against the local control plane with stdin
// (may be empty) and returns its combined output.
func (h *harness) kubectlIn(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.kubectl, append([]string{"--kubeconfig", h.cluster.Kubeconfig}, args...)...)
	cmd.Dir = h.root
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// mustKubectl runs kubectl and fails t, naming step, when it fails.
func (h *harness) mustKubectl(t *testing.T, step string, args ...string) string {
	t.Helper()
	out, err := h.kubectlIn("", args...)
	if err != nil {
		t.Fatalf("e2e: kubectl %s (%s): %v: %s", strings.Join(args, " "), step, err, oneLine(out))
	}
	return out
}

// manifest reads test/e2e/testdata/<name> and replaces each ${KEY} by vars[KEY].
func (h *harness) manifest(t *testing.T, name string, vars map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.root, "test", "e2e", "testdata", name))
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "${"+k+"}", v)
	}
	if i := strings.Index(s, "${"); i >= 0 {
		t.Fatalf("e2e: manifest %s: unreplaced variable near %q", name, s[i:min(len(s), i+30)])
	}
	return s
}

// apply applies a testdata manifest with kubectl.
func (h *harness) apply(t *testing.T, name string, vars map[string]string) {
	t.Helper()
	out, err := h.kubectlIn(h.manifest(t, name, vars), "apply", "-f", "-")
	if err != nil {
		t.Fatalf("e2e: kubectl apply -f testdata/%s: %v: %s", name, err, oneLine(out))
	}
}

// waitReady runs `kubectl wait --for=condition=Ready` on kind/name.
func (h *harness) waitReady(t *testing.T, ns, kindName string) {
	t.Helper()
	out, err := h.kubectlIn("", "-n", ns, "wait", "--for=condition=Ready", "--timeout=60s", kindName)
	if err != nil {
		status, _ := h.kubectlIn("", "-n", ns, "get", kindName, "-o", "jsonpath={.status}")
		t.Fatalf("e2e: kubectl wait --for=condition=Ready %s -n %s: %v: %s; status: %s", kindName, ns, err, oneLine(out), status)
	}
}

// secret polls until the Secret ns/name exists and satisfies ok (nil: any).
func (h *harness) secret(t *testing.T, ns, name string, ok func(*corev1.Secret) (bool, string)) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	eventually(t, fmt.Sprintf("Secret %s/%s", ns, name), 60*time.Second, 200*time.Millisecond, func() (bool, string) {
		if err := h.cluster.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
			return false, err.Error()
		}
		if ok == nil {
			return true, ""
		}
		return ok(&s)
	})
	return &s
}

func (h *harness) oauthClient(t *testing.T, ns, name string) *scopegatev1alpha1.OAuthClient {
	t.Helper()
	var c scopegatev1alpha1.OAuthClient
	if err := h.cluster.Client.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, &c); err != nil {
		t.Fatalf("e2e: get OAuthClient %s/%s: %v", ns, name, err)
	}
	return &c
}

// creds are the contents of a credentials Secret (SPEC §4).
type creds struct {
	ClientID, ClientSecret, TokenURL, Issuer string
	// CACert is the Secret's ca.crt: the bundle that verifies the token
	// server and the gateway.
	CACert []byte
}

// credentials reads <name>-credentials of the OAuthClient ns/name once it
// holds every key.
func (h *harness) credentials(t *testing.T, ns, name string) creds {
	t.Helper()
	s := h.secret(t, ns, name+"-credentials", func(s *corev1.Secret) (bool, string) {
		for _, k := range []string{"client_id", "client_secret", "token_url", "issuer", "ca.crt"} {
			if len(s.Data[k]) == 0 {
				return false, "key " + k + " missing"
			}
		}
		return true, ""
	})
	return creds{
		ClientID:     string(s.Data["client_id"]),
		ClientSecret: string(s.Data["client_secret"]),
		TokenURL:     string(s.Data["token_url"]),
		Issuer:       string(s.Data["issuer"]),
		CACert:       s.Data["ca.crt"],
	}
}

func hasTrueCondition(conds []metav1.Condition, typ string, generation int64) bool {
	c := meta.FindStatusCondition(conds, typ)
	return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == generation
}

// oneLine joins kubectl's output lines, so a failure reads as one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "\n", " | ")), " ")
}
