#!/usr/bin/env bash
# Fails when a package imports upward. The packages form layers; a package
# may import only packages of a lower layer (the tools under hack/ and
# test/ may also import each other). A package that no layer names fails
# too: a new package is placed here on purpose. `make verify` runs this.
#
#   0  foundations: API types, the token contract, the scope model, the
#      client registry, the owned-object writer, parts, leader election,
#      client-certificate matching (RFC 8705 §2.1), the metadata
#      conformance rules, the JSON object member scan
#   1  serving infrastructure and the token server's stores: API-server
#      probe, serving certificates, signing keys, revocations, TokenReview,
#      the rate-limit stores; and the wire formats read with the member
#      scan: DPoP proofs, LLM requests and answers
#   2  the token server and the gateway (beside each other, neither
#      imports the other)
#   3  what wraps them: the admin API, the scope audit
#   4  the controllers
#   5  the manager (main)
#   6  tools: hack/, test/
set -euo pipefail
cd "$(dirname "$0")/.."

module=$(go list -m)
layers='
0 api/v1alpha1
0 internal/accesstoken
0 internal/scope
0 internal/registry
0 internal/jsonrpc
0 internal/owned
0 internal/part
0 internal/leader
0 internal/image
0 internal/lazylog
0 internal/gcheadroom
0 controllers/fanout
1 internal/dpop
0 internal/tlsclientauth
0 internal/metadatacheck
0 internal/promreg
0 internal/jsonmember
1 internal/llm
1 internal/ratelimit
1 internal/dpop/dpoptest
1 internal/llm/llmtest
2 internal/ratelimit/redistest
1 internal/apiserver
1 internal/servingcert
1 internal/testenv
1 internal/replicas
1 tokenserver/keys
1 tokenserver/revocation
1 tokenserver/workload
2 tokenserver
2 internal/gateway
2 internal/devcluster
3 internal/admin
3 controllers/audit
4 controllers/oauthclient
4 controllers/gatewayroute
5 .
6 hack
6 test
'

# layer PKG: the layer of the longest listed prefix of PKG (relative to the
# module), or nothing.
layer() {
	local rel=${1#"$module"} best=-1 bestlen=-1 n p
	rel=${rel#/}
	[[ -z $rel ]] && rel=.
	while read -r n p; do
		[[ -z $p ]] && continue
		if [[ $rel == "$p" || $rel == "$p"/* ]] && ((${#p} > bestlen)); then
			best=$n bestlen=${#p}
		fi
	done <<<"$layers"
	((best >= 0)) && echo "$best"
	return 0
}

listing=$(go list -f '{{.ImportPath}} {{join .Imports " "}}' ./...)
declare -A rank imports
fail=0
while read -r pkg deps; do
	imports[$pkg]=$deps
	r=$(layer "$pkg")
	if [[ -z $r ]]; then
		echo "layers: ${pkg#"$module"/} is in no layer: add it to hack/check-layers.sh" >&2
		fail=1
		continue
	fi
	rank[$pkg]=$r
done <<<"$listing"
for pkg in "${!rank[@]}"; do
	for dep in ${imports[$pkg]}; do
		[[ $dep == "$module" || $dep == "$module"/* ]] || continue
		d=${rank[$dep]:-}
		[[ -n $d ]] || continue
		if ((d >= rank[$pkg])) && ! ((d == 6 && rank[$pkg] == 6)); then
			echo "layers: ${pkg#"$module"/} (layer ${rank[$pkg]}) imports ${dep#"$module"/} (layer $d): imports go to lower layers only" >&2
			fail=1
		fi
	done
done
if ((fail)); then
	exit 1
fi
echo "layers: ${#imports[@]} packages, no upward import"
