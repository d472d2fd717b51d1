package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// managerIdentity is the ServiceAccount that config/rbac binds the manager's
// roles to (config/rbac/service_account.yaml).
const managerIdentity = "system:serviceaccount:scopegate-system:scopegate"

// managerKubeconfig installs the deployment's RBAC (config/rbac) and its
// Lease FlowSchema (config/flowcontrol) and returns a kubeconfig that
// authenticates as the manager's ServiceAccount, so that the manager under
// test holds exactly the permissions a real deployment grants it: a missing
// rule fails the suite instead of a user's rollout.
func (h *harness) managerKubeconfig(name string) (string, error) {
	// The deployment's RBAC and its Lease FlowSchema.
	for _, dir := range []string{"rbac", "flowcontrol"} {
		out, err := exec.Command(h.kubectl, "--kubeconfig", h.cluster.Kubeconfig, "apply", "-k", filepath.Join(h.root, "config", dir)).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("e2e: kubectl apply -k config/%s: %w: %s", dir, err, out)
		}
	}
	user, err := h.cluster.Env.AddUser(envtest.User{
		Name:   managerIdentity,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:scopegate-system", "system:authenticated"},
	}, nil)
	if err != nil {
		return "", fmt.Errorf("e2e: create the manager's identity: %w", err)
	}
	data, err := user.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("e2e: kubeconfig of the manager's identity: %w", err)
	}
	path := filepath.Join(h.dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("e2e: write the manager's kubeconfig: %w", err)
	}
	return path, nil
}
