#!/bin/bash
# t_nlm_pair: NFS locks held across a crash of the master switch.
#
#   c1 c2 --- client LAN ---+------------------+
#                        [swa] ==sync==     [swb]      VRRP: a master, b backup
#   n1 n2 n3 -- storage LAN-+------------------+
#   nodes: tandem-nasd with NFS in one namespace (NASD_NFS=1
#   NASD_NFS_NS=1: alpha on n1, beta on n2, gamma on n3), nlm_grace_s 0;
#   VIP services tcp/udp 111 and 2049 (LAB_NFS=1)
#
# H (c1) and T (c2), tests/tools/nlm_client through the VIP, one TCP
# connection each: H locks alpha/lk exclusive, T is DENIED (and its TEST
# names H); both flows are synced to switch b; switch a is killed hard (its
# daemons and links); b takes over.  Checked over the same two
# connections: T is still DENIED, H's TEST of its own lock is GRANTED, H
# unlocks, then T is GRANTED: lock state lives on the nodes, which the
# failover does not touch, and the connections carrying it survive.
# t_nlm_pair_v6 runs this file again over IPv6 (FAMILY=6, lib_pair.sh): the
# clients' v6 addresses to the v6 VIP's NFS services (LAB_NFS6, NASD_NFS6).
. "$(dirname "$0")/lib.sh"

require_pair
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd jq
export LAB_NFS=1
[ "${FAMILY:-4}" = 6 ] && export LAB_NFS6=1 NASD_NFS6=1
pair_lab_up
VIP=$(pair_vip) VN=v$FAMILY
export NASD_NFS=1 NASD_NFS_NS=1 NASD_NFS_EXTRA='"nlm_grace_s": 0,'
for n in n1 n2 n3; do mkdir -p "$LAB_DIR/$n/nfs"; done
mkdir -p "$LAB_DIR/n1/nfs/alpha" "$LAB_DIR/n2/nfs/beta" "$LAB_DIR/n3/nfs/gamma"
echo lk >"$LAB_DIR/n1/nfs/alpha/lk"
nasd_all
pair_switches_up
nfs3() { [ "$(sw_jctl a vips | jq --arg v "$VN" '[.vips[] | select(.name == $v) | .services[] | select(.port == 2049) | .nodes_in_table] | min')" = 3 ]; }
check "switch a: $VN tcp/2049 has its 3 nodes" wait_for 20 nfs3

. "$(dirname "$0")/lib_nlm.sh"

cl_start H c1 "$VIP" -H hostH
cl_start T c2 "$VIP" -H hostT
for c in H T; do check_eq "$c: open alpha/lk through the VIP" 1 "$(cl "$c" open alpha/lk | jq -r .open)"; done
check_eq "H: exclusive lock of alpha/lk" 0 "$(st H lock 1 0 0 excl)"
check_eq "T: DENIED" 1 "$(st T lock 2 0 1 excl)"
check_eq "T: TEST names H's svid" "1 1" "$(cl T test 2 0 1 excl | jq -r '"\(.stat) \(.holder)"')"
nfs_flows_on_b() { sw_jctl b flows --limit 1000000 | jq '[.flows[] | select(.port == 2049)] | length'; }
b_has() { [ "$(nfs_flows_on_b)" -ge 2 ]; }
check "switch b holds the flows of both connections (synced)" wait_for 5 b_has
t0=$(now_ms)
sw_stop a hard
check "b becomes master" wait_for 5 roles_are - master
diag "takeover after $(($(now_ms) - t0)) ms"
check_eq "after the failover T is still DENIED (same connection)" 1 "$(st T lock 2 0 1 excl)"
check_eq "H: TEST of its own lock GRANTED" 0 "$(cl H test 1 0 0 excl | jq -r .stat)"
check_eq "H: UNLOCK through its connection" 0 "$(st H unlock 1 0 0)"
check_eq "T: GRANTED now" 0 "$(st T lock 2 0 1 excl)"
check_eq "T: UNLOCK" 0 "$(st T unlock 2 0 1)"
for n in n1 n2 n3; do
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
finish
