#!/usr/bin/env bash
# Builds the control-plane binaries that envtest and `make run` use —
# kube-apiserver, kube-controller-manager and kubectl from
# k8s.io/kubernetes, etcd from go.etcd.io/etcd/server — from Go modules,
# because no download site for prebuilt binaries is reachable. The
# Kubernetes binaries carry their version as the Kubernetes release build
# stamps it, so `kubectl version` and Helm's kubeVersion checks see v1.37.2.
#
# The binaries are kept in a per-user cache
#   ${SCOPEGATE_CACHE:-~/.cache/scopegate}/k8s/<k8s>-<etcd>-<recipe>/
# and linked into bin/k8s/, so fresh clones and CI reuse them. A binary that
# is already built at the pinned version is not rebuilt.
#
# `hack/build-k8s.sh node` also builds kubelet, kube-scheduler and
# kube-proxy (for the node suite, test/node) into the same cache folder: a
# binary is built when it is missing there, so adding them reuses the cached
# control plane.
set -euo pipefail
node=false
case ${1:-} in
'') ;;
node) node=true ;;
*) echo "usage: $0 [node]" >&2; exit 2 ;;
esac

K8S_VERSION=v1.37.2
ETCD_VERSION=v3.6.16
# RECIPE changes whenever the way the binaries are built changes (flags), so
# that a cache built the old way is not reused. A binary added to the set is
# built when missing and needs no new RECIPE.
RECIPE=r2

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${SCOPEGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scopegate}/k8s/${K8S_VERSION}-${ETCD_VERSION}-${RECIPE}
out=${root}/bin/k8s
mkdir -p "$cache" "$out"

log() { printf '[build-k8s] %s\n' "$*" >&2; }

# The version stamps of a Kubernetes release build (hack/lib/version.sh in
# Kubernetes), for the component-base and client-go version packages.
minor=${K8S_VERSION#v1.}
minor=${minor%%.*}
kube_ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	kube_ldflags+=" -X $p.gitVersion=${K8S_VERSION} -X $p.gitMajor=1 -X $p.gitMinor=${minor}"
	kube_ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

# build NAME TOOLDIR PACKAGE [LDFLAGS]: builds PACKAGE in the tool module
# TOOLDIR into the cache.
build() {
	local name=$1 dir=$2 pkg=$3 ldflags=${4:--s -w}
	if [[ -x "$cache/$name" && -f "$cache/$name.ok" ]]; then
		log "$name is cached at $cache/$name"
	else
		log "building $name from $pkg (kube-apiserver and kube-controller-manager take 5-11 minutes each on 2 cores the first time)"
		local start=$SECONDS
		(cd "$root/hack/tools/$dir" && CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$cache/$name.tmp" "$pkg")
		mv "$cache/$name.tmp" "$cache/$name"
		touch "$cache/$name.ok"
		log "built $name in $((SECONDS - start))s"
	fi
	ln -sfn "$cache/$name" "$out/$name"
}

build etcd etcd go.etcd.io/etcd/server/v3
build kubectl kube k8s.io/kubernetes/cmd/kubectl "$kube_ldflags"
build kube-apiserver kube k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build kube-controller-manager kube k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"
if $node; then
	build kube-scheduler kube k8s.io/kubernetes/cmd/kube-scheduler "$kube_ldflags"
	build kube-proxy kube k8s.io/kubernetes/cmd/kube-proxy "$kube_ldflags"
	build kubelet kube k8s.io/kubernetes/cmd/kubelet "$kube_ldflags"
fi
log "binaries ready in $out (KUBEBUILDER_ASSETS=$out)"
