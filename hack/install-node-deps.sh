#!/usr/bin/env bash
# Installs the Debian packages the node suite (test/node, `make test-node`)
# needs when they are missing: containerd (the container runtime, with ctr),
# runc, the CNI plugins (bridge, host-local, loopback) and iptables (the
# bridge plugin calls it). Also nsenter and ip (util-linux, iproute2), which
# the harness uses to start every component in its network namespace.
# Needs root (the suite itself needs root too). The packaged containerd
# service is stopped and disabled: the suite starts its own containerd with
# its own socket and folders.
set -euo pipefail

log() { printf '[install-node-deps] %s\n' "$*" >&2; }

missing=()
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
command -v iptables >/dev/null || missing+=(iptables)
command -v nsenter >/dev/null || missing+=(util-linux)
command -v ip >/dev/null || missing+=(iproute2)

if ((${#missing[@]} == 0)); then
	log "all present: $(containerd --version | cut -d' ' -f2-3), $(runc --version | head -1)"
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	log "missing ${missing[*]}; install them as root (apt-get install ${missing[*]})"
	exit 1
fi
command -v apt-get >/dev/null || { log "missing ${missing[*]} and no apt-get to install them"; exit 1; }
log "installing ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
if [[ " ${missing[*]} " == *" containerd "* ]]; then
	systemctl disable --now containerd 2>/dev/null || service containerd stop 2>/dev/null || true
fi
log "installed: $(containerd --version | cut -d' ' -f2-3), $(runc --version | head -1)"
