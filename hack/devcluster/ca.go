package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// tlsSecret is where the manager (--tls-mode=auto, default namespace)
// keeps its serving certificate; its ca.crt is the bundle clients trust.
var tlsSecret = types.NamespacedName{Namespace: "scopegate-system", Name: "scopegate-tls"}

// writeCA copies the manager's CA bundle to path, waiting up to a minute
// for the manager to have written it.
func writeCA(ctx context.Context, kubeconfig, path string) error {
	c, err := adminClient(kubeconfig)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		b, err := readCA(ctx, c)
		if err == nil {
			return writeIfChanged(path, b)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// keepCA refreshes path every 10 s, so that it follows a CA rotation.
func keepCA(ctx context.Context, kubeconfig, path string) {
	c, err := adminClient(kubeconfig)
	if err != nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
		if b, err := readCA(ctx, c); err == nil {
			if err := writeIfChanged(path, b); err != nil {
				say("update %s: %v", path, err)
			}
		}
	}
}

func adminClient(kubeconfig string) (client.Client, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", kubeconfig, err)
	}
	return client.New(cfg, client.Options{})
}

func readCA(ctx context.Context, c client.Client) ([]byte, error) {
	var s corev1.Secret
	if err := c.Get(ctx, tlsSecret, &s); err != nil {
		return nil, fmt.Errorf("read Secret %s: %w", tlsSecret, err)
	}
	if len(s.Data["ca.crt"]) == 0 {
		return nil, fmt.Errorf("secret %s has no ca.crt yet", tlsSecret)
	}
	return s.Data["ca.crt"], nil
}

func writeIfChanged(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
