#!/usr/bin/env bash
# Copies what dist/chart must share with config/ — the CRDs and the RBAC
# roles — so that the Helm chart and `kubectl apply -k config/default`
# install the same API and grant the same permissions. `make manifests` runs
# it; `make verify` fails when the copies drift.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
chart=$root/dist/chart
mkdir -p "$chart/crds" "$chart/files"
rm -f "$chart"/crds/*.yaml
cp "$root"/config/crd/bases/*.yaml "$chart/crds/"
for f in role.yaml leader_election_role.yaml namespace_role.yaml; do
	cp "$root/config/rbac/$f" "$chart/files/$f"
done
