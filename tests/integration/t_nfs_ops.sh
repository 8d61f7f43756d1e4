#!/bin/bash
# t_nfs_ops: the NFS service as an operator and a new user meet it.
#
#   c1 .10   c2 .11                 client LAN 10.77.1.0/24
#      \      /
#       [brc]------eth0 [sw: tandem-lbd]   VIP 10.77.1.100: tcp/111 udp/111
#                        br1 .1             tcp/2049 udp/2049 (LAB_NFS=1),
#              +----------+----------+      handoff reports, cluster map
#             n1 .11     n2 .12     n3 .13  storage LAN 10.77.2.0/24
#   each node: tandem-nasd with "handoff" and NFS in one namespace
#   (NASD_NFS=1 NASD_NFS_NS=1): alpha on n1, beta on n2, gamma on n3;
#   namespace.handoff_threshold 1 MiB (the default)
#
#  1. no Nagle: tests/tools/nfs_pipeline puts 256 4 KiB WRITEs in flight on
#     one connection, then 256 READs of them (a file homed on the node that
#     holds the connection, so nothing is forwarded).  nasd's end of the
#     connection has TCP_NODELAY (read through pidfd_getfd), and so have
#     its forwarding connections to the other nodes; the run takes at most
#     twice the time of the same workload with TCP_NODELAY forced on at
#     nasd's end (the no-Nagle baseline of this run, plus 50 ms); the same
#     workload with Nagle forced back on is shown for comparison.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq
export LAB_NFS=1
handoff_lab_up
export NASD_NFS=1 NASD_NFS_NS=1
for n in n1 n2 n3; do mkdir -p "$LAB_DIR/$n/nfs"; done
mkdir -p "$LAB_DIR/n1/nfs/alpha" "$LAB_DIR/n2/nfs/beta" "$LAB_DIR/n3/nfs/gamma"
nasd_all_up handoff
svc3() { [ "$(svc_nodes v4 tcp 2049)" = 3 ]; }
check "v4 tcp/2049 has 3 nodes in its table" wait_for 10 svc3

PIPE=$TANDEM_BUILD/tools/nfs_pipeline
hs() { nctl "$1" '{"cmd":"status"}' | jq -r ".handoff$2"; }

# ----------------------------------------------------------- 1. no Nagle --

# 64 batches of 16 calls, each batch once the one before is answered (as a
# client flushing dirty pages): the end of each batch is where a reply held
# back by Nagle waits for the client's delayed ACK (256 calls in a single
# batch would stall only once).
pids="$(nasd_pid n1),$(nasd_pid n2),$(nasd_pid n3)"
in_ns c1 "$PIPE" -n 16 -b 64 -P "$pids" "$VIP4" /export alpha/pipe.bin,beta/pipe.bin,gamma/pipe.bin \
	>"$TEST_TMP/pipe.json" 2>"$TEST_TMP/pipe.err"
rc=$?
diag "nfs_pipeline: $(cat "$TEST_TMP/pipe.json") $(tail -n 3 "$TEST_TMP/pipe.err")"
check_eq "nfs_pipeline: 1024 WRITEs and 1024 READs of 4 KiB, 16 in flight at once, every byte back (exit 0)" 0 "$rc"
check_eq "nasd's end of the NFS connection has TCP_NODELAY" 1 "$(jq -r '.server_nodelay // 0' "$TEST_TMP/pipe.json")"
asis=$(jq -r '.as_is.total_ms // 99999' "$TEST_TMP/pipe.json")
base=$(jq -r '.nodelay.total_ms // 0' "$TEST_TMP/pipe.json")
check "as served (${asis} ms) within twice the no-Nagle baseline of this run (${base} ms) + 200 ms" \
	test "$asis" -le $((2 * base + 200))
# forwarding: the same client on a file homed on another node than the one
# its connection landed on (a few calls: far below the handoff threshold)
in_ns c1 "$PIPE" -n 4 -P "$pids" "$VIP4" /export beta/fwd.bin,gamma/fwd.bin,alpha/fwd.bin \
	>"$TEST_TMP/fwd.json" 2>&1
X=$(jq -r '.server_pid // empty' "$TEST_TMP/fwd.json")
diag "forwarded: $(jq -c '{path, server_pid, as_is}' "$TEST_TMP/fwd.json" 2>/dev/null)"
"$PIPE" -L "${X:-0}" >"$TEST_TMP/socks.json"
ups=$(jq -s '[.[] | select(.peer | endswith(":2049"))]' "$TEST_TMP/socks.json")
diag "nasd $X's connections to other nodes' NFS: $(jq -c . <<<"$ups")"
check "nasd forwarded over a connection to another node's :2049" test "$(jq length <<<"$ups")" -ge 1
check_eq "... which has TCP_NODELAY" 0 "$(jq '[.[] | select(.nodelay != 1)] | length' <<<"$ups")"
check_eq "every NFS/portmapper connection of that nasd has TCP_NODELAY" 0 \
	"$(jq -s '[.[] | select((.local | test(":(2049|111)$")) and .nodelay != 1)] | length' "$TEST_TMP/socks.json")"
finish
