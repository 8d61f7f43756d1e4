#!/bin/bash
# shellcheck disable=SC2317	# (helpers run through check and wait_for)
# t_nfs_ns_squash: in one namespace, a call forwarded from the node a client
# is connected to to the file's home node is run with the root squash and
# anonymous ids of the client's group as the forwarding node sees the client
# (its address), not as the home sees the forwarding node (a namespace
# peer, which gets the section's options).
#
#   c1 .10   c2 .11                 client LAN 10.77.1.0/24
#      \      /
#       [sw: tandem-lbd]  VIP 10.77.1.100 tcp/111, tcp/2049 (Maglev per connection)
#              +----------+----------+     storage LAN 10.77.2.0/24
#             n1 .11     n2 .12     n3 .13
#   each node: tandem-nasd, one namespace (alpha -> n1, beta -> n2,
#   gamma -> n3), the section "root_squash": false, and client_groups:
#   10.77.1.10/32 (c1) root-squashed to 4242:4343, 10.77.1.0/24 the rest.
#
# Checks: root on c1 CREATEs a file in alpha, beta and gamma through the VIP
# (wherever its connection lands, at least two of the three are forwarded):
# every file is owned 4242:4343 on its home's disk; root on c2 (not
# squashed) creates files owned 0:0; the homes ran forwarded calls with the
# forwarding node's decision (status nfs.fwd_decided); a client that sends
# the forwarding verifier itself is refused (AUTH_BADVERF) and creates
# nothing.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq stat
export LAB_NFS=1
lab_up
lbd_up
export NASD_NFS=1 NASD_NFS_NS=1 NASD_NFS_SQUASH=false
export NASD_NFS_EXTRA='"client_groups": [
    { "network": "10.77.1.10/32", "root_squash": true, "anonuid": 4242, "anongid": 4343 },
    { "network": "10.77.1.0/24" } ],'
for n in n1 n2 n3; do mkdir -p "$LAB_DIR/$n/nfs"; done
mkdir -p "$LAB_DIR/n1/nfs/alpha" "$LAB_DIR/n2/nfs/beta" "$LAB_DIR/n3/nfs/gamma"
chmod 0777 "$LAB_DIR/n1/nfs/alpha" "$LAB_DIR/n2/nfs/beta" "$LAB_DIR/n3/nfs/gamma"
nasd_all_up
svc3() { [ "$(svc_nodes v4 tcp "$1")" = 3 ]; }
check "v4 tcp/2049 has 3 nodes in its table" wait_for 10 svc3 2049

RPC=$REPO/tests/tools/nfs_rpc.py
home() { case "$1" in alpha) echo n1 ;; beta) echo n2 ;; gamma) echo n3 ;; esac; }
owner() { stat -c '%u:%g' "$LAB_DIR/$(home "$1")/nfs/$1/$2" 2>/dev/null || echo none; }
fwd_sum() {
	local t=0 n
	for n in n1 n2 n3; do t=$((t + $(nctl "$n" '{"cmd":"status"}' | jq -r '.nfs.fwd_decided // 0'))); done
	echo "$t"
}

f0=$(fwd_sum)
for d in alpha beta gamma; do
	o=$(in_ns c1 "$PY" "$RPC" create "$VIP4" "$d" c1-root 0 2>&1)
	check_eq "root on c1 (squashed group) creates $d/c1-root through the VIP" \
		"$(jq -r .create <<<"$o" 2>/dev/null || echo "$o")" 0
	check_eq "... owned by the group's anonymous ids on $(home "$d")'s disk" "$(owner "$d" c1-root)" 4242:4343
	o=$(in_ns c2 "$PY" "$RPC" create "$VIP4" "$d" c2-root 0 2>&1)
	check_eq "root on c2 (not squashed) creates $d/c2-root through the VIP" \
		"$(jq -r .create <<<"$o" 2>/dev/null || echo "$o")" 0
	check_eq "... owned by root on $(home "$d")'s disk" "$(owner "$d" c2-root)" 0:0
done
f1=$(fwd_sum)
check "the homes ran forwarded calls by the forwarding node's decision ($((f1 - f0)) calls)" \
	test $((f1 - f0)) -ge 4

o=$(in_ns c2 "$PY" "$RPC" fwdverf "$VIP4" alpha forged 2>&1)
check_eq "a client sending the forwarding verifier itself is refused (AUTH_BADVERF)" \
	"$(jq -r .auth_error <<<"$o" 2>/dev/null || echo "$o")" 3
check_eq "... and creates nothing" "$(owner alpha forged)" none

finish
