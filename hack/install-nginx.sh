#!/usr/bin/env bash
# Installs nginx from the distribution's package when it is missing: `make
# bench` measures the gateway against nginx's proxy_pass (hack/bench starts
# its own nginx with a generated configuration; the packaged service is not
# needed and is stopped).
set -euo pipefail
if command -v nginx >/dev/null; then
	nginx -v
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends nginx
systemctl disable --now nginx 2>/dev/null || service nginx stop 2>/dev/null || true
nginx -v
