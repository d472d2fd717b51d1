#!/usr/bin/env bash
# Builds the control-plane binaries that envtest and `make run` use —
# kube-apiserver and kubectl from k8s.io/kubernetes, etcd from
# go.etcd.io/etcd/server — from Go modules, because no download site for
# prebuilt binaries is reachable (SPEC §9).
#
# The binaries are kept in a per-user cache
#   ${SCOPEGATE_CACHE:-~/.cache/scopegate}/k8s/<k8s>-<etcd>/
# and linked into bin/k8s/, so fresh clones and CI reuse them. A binary that
# is already built at the pinned version is not rebuilt.
set -euo pipefail

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${SCOPEGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scopegate}/k8s/${K8S_VERSION}-${ETCD_VERSION}
out=${root}/bin/k8s
mkdir -p "$cache" "$out"

log() { printf '[build-k8s] %s\n' "$*" >&2; }

# build NAME TOOLDIR PACKAGE: builds PACKAGE in the tool module TOOLDIR into the cache.
build() {
	local name=$1 dir=$2 pkg=$3
	if [[ -x "$cache/$name" && -f "$cache/$name.ok" ]]; then
		log "$name is cached at $cache/$name"
	else
		log "building $name from $pkg (kube-apiserver takes about 11 minutes on 2 cores the first time)"
		local start=$SECONDS
		(cd "$root/hack/tools/$dir" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$cache/$name.tmp" "$pkg")
		mv "$cache/$name.tmp" "$cache/$name"
		touch "$cache/$name.ok"
		log "built $name in $((SECONDS - start))s"
	fi
	ln -sfn "$cache/$name" "$out/$name"
}

build etcd etcd go.etcd.io/etcd/server/v3
build kubectl kube k8s.io/kubernetes/cmd/kubectl
build kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver
log "binaries ready in $out (KUBEBUILDER_ASSETS=$out)"
