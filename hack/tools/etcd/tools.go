//go:build tools

// Package etcd pins the etcd server that hack/build-k8s.sh builds for
// envtest and `make run`.
package etcd

import _ "go.etcd.io/etcd/server/v3"
