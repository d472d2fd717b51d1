// Package devcluster runs a local control plane — etcd, kube-apiserver and
// kube-controller-manager built by hack/build-k8s.sh — for `make run` and
// the end-to-end suite. Unlike a test environment it can keep its etcd data
// in a directory, so objects survive a restart; it writes a kubeconfig that
// kubectl can use; and its controller manager garbage-collects owned
// objects and finalizes deleted namespaces, as a cluster does.
package devcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/scopegate/scopegate/internal/testenv"
)

// Options configure a Cluster.
type Options struct {
	// Dir holds the etcd data ("etcd/") and the kubeconfig ("kubeconfig").
	// Empty means a temporary directory, removed by Stop.
	Dir string
	// Namespaces are created when absent.
	Namespaces []string
	// Verbose attaches the control plane's output to this process's.
	Verbose bool
	// NoControllerManager leaves kube-controller-manager out: nothing
	// garbage-collects then.
	NoControllerManager bool
}

// Cluster is a running local control plane with scopegate's CRDs installed.
type Cluster struct {
	Env *envtest.Environment
	// Config is an admin client configuration.
	Config *rest.Config
	// Kubeconfig is the path of an admin kubeconfig file.
	Kubeconfig string
	// Client is an admin client with scopegate's types registered.
	Client client.Client

	tmp string
	cm  *controllerManager
}

// Start starts etcd and kube-apiserver, installs the CRDs, creates the
// namespaces and writes the kubeconfig.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	env, err := testenv.New()
	if err != nil {
		return nil, err
	}
	c := &Cluster{Env: env}
	dir := opts.Dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "scopegate-dev-"); err != nil {
			return nil, fmt.Errorf("create control-plane directory: %w", err)
		}
		c.tmp = dir
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "etcd")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create etcd data directory: %w", err)
	}
	env.ControlPlane.Etcd = &envtest.Etcd{DataDir: dataDir}
	env.AttachControlPlaneOutput = opts.Verbose
	if c.Config, err = env.Start(); err != nil {
		c.cleanup()
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, env.KubeConfig, 0o600); err != nil {
		return nil, errors.Join(fmt.Errorf("write kubeconfig: %w", err), c.Stop())
	}
	if c.Client, err = client.New(c.Config, client.Options{Scheme: testenv.Scheme()}); err != nil {
		return nil, errors.Join(fmt.Errorf("create client: %w", err), c.Stop())
	}
	if !opts.NoControllerManager {
		if c.cm, err = startControllerManager(env.BinaryAssetsDirectory, c.Kubeconfig, dir, opts.Verbose); err != nil {
			return nil, errors.Join(err, c.Stop())
		}
		if err := c.waitDefaultServiceAccount(ctx, metav1.NamespaceDefault); err != nil {
			return nil, errors.Join(err, c.Stop())
		}
	}
	for _, ns := range opts.Namespaces {
		err := c.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, errors.Join(fmt.Errorf("create namespace %s: %w", ns, err), c.Stop())
		}
	}
	return c, nil
}

// Stop stops the control plane; the etcd data stays unless the directory was
// temporary.
func (c *Cluster) Stop() error {
	err := errors.Join(c.cm.stop(), c.Env.Stop())
	c.cleanup()
	return err
}

func (c *Cluster) getServiceAccount(ctx context.Context, ns, name string) error {
	return c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.ServiceAccount{})
}

func (c *Cluster) cleanup() {
	if c.tmp != "" {
		_ = os.RemoveAll(c.tmp)
	}
}

// APIServerProcess is this control plane's kube-apiserver process, found by
// its --cert-dir (a directory of its own), so that tests can signal it:
// SIGSTOP and SIGCONT stand in for an API-server outage. Linux only (/proc).
func (c *Cluster) APIServerProcess() (*os.Process, error) {
	if c.Env == nil || c.Env.ControlPlane.APIServer == nil || c.Env.ControlPlane.APIServer.CertDir == "" {
		return nil, errors.New("find kube-apiserver: the control plane is not started")
	}
	want := []byte("--cert-dir=" + c.Env.ControlPlane.APIServer.CertDir)
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		return nil, fmt.Errorf("find kube-apiserver: %w", err)
	}
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the process ended
		}
		args := bytes.Split(b, []byte{0})
		if len(args) == 0 || filepath.Base(string(args[0])) != "kube-apiserver" {
			continue
		}
		for _, a := range args[1:] {
			if bytes.Equal(a, want) {
				pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p)))
				if err != nil {
					return nil, fmt.Errorf("find kube-apiserver: %s: %w", p, err)
				}
				return os.FindProcess(pid)
			}
		}
	}
	return nil, fmt.Errorf("find kube-apiserver: no process with %s", want)
}
