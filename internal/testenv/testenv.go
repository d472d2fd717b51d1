// Package testenv starts a real control plane (kube-apiserver and etcd built
// by hack/build-k8s.sh into bin/k8s) with scopegate's CRDs installed, for
// envtest suites anywhere in the module.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	scopegatev1alpha1 "github.com/scopegate/scopegate/api/v1alpha1"
)

// RepoRoot finds the module root by walking up from the working directory to
// the directory holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "hack", "build-k8s.sh")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no scopegate module root above the working directory")
		}
		dir = parent
	}
}

// AssetsDir is where the control-plane binaries are: $KUBEBUILDER_ASSETS, or
// bin/k8s in the module root.
func AssetsDir() (string, error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "bin", "k8s")
	if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err != nil {
		return "", fmt.Errorf("kube-apiserver not found in %s: run `make k8s-binaries` (hack/build-k8s.sh) first: %w", dir, err)
	}
	return dir, nil
}

// Scheme holds the built-in Kubernetes types and scopegate's.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err) // static registration; cannot fail at run time
	}
	if err := scopegatev1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// New returns an envtest.Environment that uses the built binaries and
// installs the CRDs from config/crd/bases. Call Start and Stop on it.
func New() (*envtest.Environment, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	return &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		Scheme:                Scheme(),
	}, nil
}

// Main is a TestMain body for a package whose tests share one control
// plane: it starts it, hands its admin config and client to setup, runs the
// tests, stops the control plane and exits with the tests' code.
func Main(m interface{ Run() int }, setup func(cfg *rest.Config, c client.Client)) {
	MainEnv(m, func(_ *envtest.Environment, cfg *rest.Config, c client.Client) { setup(cfg, c) })
}

// MainEnv is Main for tests that also need the environment itself (its
// kubectl, for one).
func MainEnv(m interface{ Run() int }, setup func(env *envtest.Environment, cfg *rest.Config, c client.Client)) {
	env, err := New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cfg, err := env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start envtest:", err)
		os.Exit(1)
	}
	code := 1
	if c, err := client.New(cfg, client.Options{Scheme: Scheme()}); err != nil {
		fmt.Fprintln(os.Stderr, "create client:", err)
	} else {
		setup(env, cfg, c)
		code = m.Run()
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop envtest:", err)
	}
	os.Exit(code)
}
