#!/bin/bash
# t_pair_nfs: NFS traffic survives a crash of the master switch:
# during NFS traffic, every copy completes intact.
#
#   c1 c2 --- client LAN ---+------------------+
#                        [swa] ==sync==     [swb]      VRRP: a master, b backup
#   n1 n2 n3 -- storage LAN-+------------------+
#   nodes: tandem-nasd with NFS (NASD_NFS=1: export /export -> LAB_DIR/nfs,
#   one directory seen by every node), VIP services tcp/111 and tcp/2049
#   (LAB_NFS=1)
#
# Six paced NFS readers (tests/tools/nfs_rpc.py slowread: one connection
# each, 3 MiB over about 7 s) and two unmodified `nfs-cp` copies of 512 MiB
# files (libnfs) run through the VIP, from c1 and c2; switch B holds every
# NFS connection's flow; switch A is killed hard (daemons and links); B
# takes over.  Checked: every reader and every copy completes, byte-exact,
# and B carried them after the takeover (its flow-table hits grew).
# t_pair_nfs_v6 runs this file again over IPv6 (FAMILY=6, lib_pair.sh): the
# clients' v6 addresses to the v6 VIP's NFS services (LAB_NFS6, NASD_NFS6).
. "$(dirname "$0")/lib.sh"

require_pair
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq nfs-cp
export LAB_NFS=1
[ "${FAMILY:-4}" = 6 ] && export LAB_NFS6=1 NASD_NFS6=1
pair_lab_up
export NASD_NFS=1
mkdir -p "$LAB_DIR/nfs"
for i in 1 2 3; do head -c $((3 << 20)) /dev/urandom >"$LAB_DIR/nfs/s$i"; done
for i in 1 2; do head -c $((512 << 20)) /dev/urandom >"$LAB_DIR/nfs/big$i"; done
nasd_all
pair_switches_up
# VIP of FAMILY; libnfs 4.0 takes an IPv6 server in a URL without brackets
VIP=$(pair_vip) VN=v$FAMILY
nfs3() { [ "$(sw_jctl a vips | jq --arg v "$VN" '[.vips[] | select(.name == $v) | .services[] | select(.port == 2049) | .nodes_in_table] | min')" = 3 ]; }
check "switch a: $VN tcp/2049 has its 3 nodes (tandem-nasd's NFS on every node)" wait_for 20 nfs3

RPC=$REPO/tests/tools/nfs_rpc.py
pids=()
for i in 1 2 3 4 5 6; do
	c=c$((i % 2 + 1))
	f=s$(((i - 1) % 3 + 1))
	in_ns "$c" "$PY" "$RPC" slowread "$VIP" "$f" "$TEST_TMP/r$i.bin" 40 \
		>"$TEST_TMP/r$i.json" 2>"$TEST_TMP/r$i.err" &
	pids+=($!)
	echo "$f" >"$TEST_TMP/r$i.file"
done
for i in 1 2; do
	in_ns "c$i" timeout 120 nfs-cp "nfs://$VIP/export/big$i" "$TEST_TMP/big$i.out" >"$TEST_TMP/cp$i.log" 2>&1 &
	pids+=($!)
done
nfs_flows_on_b() { sw_jctl b flows --limit 1000000 | jq '[.flows[] | select(.port == 2049)] | length'; }
b_has() { [ "$(nfs_flows_on_b)" -ge 6 ]; }
check "switch b holds the flows of the NFS connections (synced)" wait_for 5 b_has
hits0=$(sw_jctl b stats | jq '.verdicts.fwd_hit // 0')
sleep 0.5
t0=$(now_ms)
sw_stop a hard
check "b becomes master" wait_for 5 roles_are - master
diag "takeover after $(($(now_ms) - t0)) ms"

bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
check_eq "all six readers and both nfs-cp copies finish (exit 0)" 0 "$bad" ||
	diag "$(tail -n 3 "$TEST_TMP"/*.err "$TEST_TMP"/cp*.log 2>/dev/null)"
okn=0
for i in 1 2 3 4 5 6; do
	[ "$(sha "$TEST_TMP/r$i.bin")" = "$(sha "$LAB_DIR/nfs/$(cat "$TEST_TMP/r$i.file")")" ] && okn=$((okn + 1))
done
check_eq "every paced read byte-exact" 6 "$okn"
okc=0
for i in 1 2; do
	cmp -s "$TEST_TMP/big$i.out" "$LAB_DIR/nfs/big$i" && okc=$((okc + 1))
done
check_eq "both 512 MiB nfs-cp copies byte-exact" 2 "$okc"
hits1=$(sw_jctl b stats | jq '.verdicts.fwd_hit // 0')
check "b forwarded the sessions after the takeover (flow-table hits grew)" test "$hits1" -gt "$hits0"
for n in n1 n2 n3; do
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
rm -f "$TEST_TMP"/big*.out
finish
