//go:build tools

// Package kube pins the Kubernetes commands that hack/build-k8s.sh builds
// (kube-apiserver and kubectl) for envtest and `make run`.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
