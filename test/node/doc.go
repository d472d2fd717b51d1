// Package node is the node suite: scopegate on a real single-node cluster.
// The harness (cluster.go) starts etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, containerd, a kubelet and
// kube-proxy inside a network namespace of its own, imports the image of `make image` and
// the suite's own pause and workload images, and stops and removes all of
// it afterwards, also when a test fails or the run is interrupted. The
// tests install scopegate with Helm and run workloads as Pods. Linux and
// root only: `make test-node` runs it (see README.md, "The node suite").
package node
