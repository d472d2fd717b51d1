//go:build tools

// Package kube pins the Kubernetes commands that hack/build-k8s.sh builds:
// kube-apiserver, kube-controller-manager and kubectl for envtest and
// `make run`, and kubelet, kube-scheduler and kube-proxy for the node suite
// (test/node).
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
