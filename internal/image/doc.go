// Package image assembles scopegate's container image with
// go-containerregistry, without a Docker daemon: one layer holding the
// static binary, the CA certificates and a passwd entry for the non-root
// user 65532, on an empty base (no shell, no package manager), and an OCI
// config with the user, entrypoint, exposed ports and OCI labels. The result
// is written as a tarball that `docker load`, `ctr images import` and
// `kind load image-archive` read.
package image
