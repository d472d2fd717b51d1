#!/usr/bin/env bash
# Builds the helm command (helm.sh/helm/v3, pinned in hack/tools/helm) that
# the chart tests run (`helm lint`, `helm template`), because no download
# site for a prebuilt helm is reachable. Kept in a per-user cache
#   ${SCOPEGATE_CACHE:-~/.cache/scopegate}/helm/<version>/helm
# and linked into bin/helm, like hack/build-k8s.sh does for the control plane.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
version=$(cd "$root/hack/tools/helm" && go list -m -f '{{.Version}}' helm.sh/helm/v3)
cache=${SCOPEGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/scopegate}/helm/${version}
mkdir -p "$cache" "$root/bin"

if [[ -x "$cache/helm" && -f "$cache/helm.ok" ]]; then
	printf '[build-helm] helm %s is cached at %s\n' "$version" "$cache/helm" >&2
else
	printf '[build-helm] building helm %s (about 2 minutes on 2 cores the first time)\n' "$version" >&2
	start=$SECONDS
	(cd "$root/hack/tools/helm" && CGO_ENABLED=0 go build -trimpath \
		-ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${version}" -o "$cache/helm.tmp" helm.sh/helm/v3/cmd/helm)
	mv "$cache/helm.tmp" "$cache/helm"
	touch "$cache/helm.ok"
	printf '[build-helm] built helm in %ss\n' "$((SECONDS - start))" >&2
fi
ln -sfn "$cache/helm" "$root/bin/helm"
