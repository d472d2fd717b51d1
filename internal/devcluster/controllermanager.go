package devcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ControllerManagerControllers are the kube-controller-manager controllers
// a local control plane runs, so that it behaves like a cluster where
// scopegate's users see it: owned Secrets are garbage-collected with their
// OAuthClient, a deleted namespace is emptied and goes away, every
// namespace gets its default ServiceAccount, and Services get
// EndpointSlices.
var ControllerManagerControllers = []string{
	"garbage-collector-controller",
	"namespace-controller",
	"serviceaccount-controller",
	"endpointslice-controller",
}

// controllerManager is a running kube-controller-manager.
type controllerManager struct {
	cmd  *exec.Cmd
	done chan error
	log  *os.File
}

// startControllerManager starts bin/k8s/kube-controller-manager against
// the kubeconfig, logging to dir/kube-controller-manager.log.
func startControllerManager(assets, kubeconfig, dir string, verbose bool) (*controllerManager, error) {
	bin := filepath.Join(assets, "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("kube-controller-manager not found in %s: run `make k8s-binaries` (hack/build-k8s.sh): %w", assets, err)
	}
	logFile, err := os.Create(filepath.Join(dir, "kube-controller-manager.log"))
	if err != nil {
		return nil, fmt.Errorf("create controller-manager log: %w", err)
	}
	cmd := exec.Command(bin,
		"--kubeconfig="+kubeconfig,
		"--controllers="+strings.Join(ControllerManagerControllers, ","),
		"--leader-elect=false",
		// No serving endpoint: nothing scrapes it here, and it would need a
		// port and certificates of its own.
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--concurrent-gc-syncs=5",
		"--v=1",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if verbose {
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	}
	// Its own process group, so that a Ctrl-C of `make run` reaches it
	// through Stop, in order, not all at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start kube-controller-manager: %w", err)
	}
	cm := &controllerManager{cmd: cmd, done: make(chan error, 1), log: logFile}
	go func() { cm.done <- cmd.Wait() }()
	return cm, nil
}

// stop ends the controller manager: SIGTERM, then SIGKILL after 10 s.
func (cm *controllerManager) stop() error {
	if cm == nil {
		return nil
	}
	defer cm.log.Close()
	_ = cm.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-cm.done:
		return nil
	case <-time.After(10 * time.Second):
		_ = cm.cmd.Process.Kill()
		<-cm.done
		return errors.New("kube-controller-manager did not stop within 10s of SIGTERM; killed")
	}
}

// running reports whether the process is still alive.
func (cm *controllerManager) running() bool {
	select {
	case err := <-cm.done:
		cm.done <- err
		return false
	default:
		return true
	}
}

// waitDefaultServiceAccount waits until the serviceaccount controller has
// created the default ServiceAccount of namespace ns: proof that the
// controller manager is working.
func (c *Cluster) waitDefaultServiceAccount(ctx context.Context, ns string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := c.getServiceAccount(ctx, ns, "default")
		if err == nil {
			return nil
		}
		if !c.cm.running() {
			return fmt.Errorf("kube-controller-manager exited; see %s", c.cm.log.Name())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no default ServiceAccount in %s after 60s: is kube-controller-manager working? see %s: %w", ns, c.cm.log.Name(), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
