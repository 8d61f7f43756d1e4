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
#     nasd's end (the no-Nagle baseline of this run, plus 200 ms); the same
#     workload with Nagle forced back on is shown for comparison.
#  2. UDP: `rpcinfo -p VIP` (Debian's rpcbind package) and `showmount -e
#     VIP` (nfs-common) from c1 list the portmapper and MOUNT over TCP and
#     UDP and NFS over TCP, and the export with its client network;
#     `rpcinfo -u VIP mount 3` answers, `rpcinfo -u VIP nfs 3` is not
#     registered (NFS stays TCP); a MNT over UDP of a directory homed on
#     another node than the one that got the datagram is forwarded there;
#     the switch's own address (outside "clients") gets no UDP answer.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq rpcinfo showmount
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

# ---------------------------------------------- 2. portmapper and MOUNT by UDP --

udp_replies() { local n t=0; for n in n1 n2 n3; do t=$((t + $(nctl "$n" '{"cmd":"status"}' | jq .nfs.udp.replies))); done; echo "$t"; }
svcu() { [ "$(svc_nodes v4 udp 111)" = 3 ] && [ "$(svc_nodes v4 udp 2049)" = 3 ]; }
check "v4 udp/111 and udp/2049 have 3 nodes in their tables (LAB_NFS=1)" wait_for 10 svcu
u0=$(udp_replies)
in_ns c1 timeout 20 rpcinfo -p "$VIP4" >"$TEST_TMP/rpcinfo.out" 2>&1
rc=$?
diag "rpcinfo -p $VIP4: $(tr -s ' \n' ' ' <"$TEST_TMP/rpcinfo.out")"
check_eq "rpcinfo -p VIP exits 0" 0 "$rc"
norm=$(awk 'NR > 1 {print $1, $2, $3, $4}' "$TEST_TMP/rpcinfo.out" | sort | tr '\n' ';')
check_eq "... portmapper and MOUNT on tcp and udp, NFS on tcp" \
	"100000 2 tcp 111;100000 2 udp 111;100003 3 tcp 2049;100005 3 tcp 2049;100005 3 udp 2049;" "$norm"
in_ns c1 timeout 20 showmount -e "$VIP4" >"$TEST_TMP/showmount.out" 2>&1
rc=$?
diag "showmount -e $VIP4: $(tr -s ' \n' ' ' <"$TEST_TMP/showmount.out")"
check_eq "showmount -e VIP exits 0" 0 "$rc"
check_eq "... lists /export for 10.77.1.0/24" "/export 10.77.1.0/24" "$(tail -n 1 "$TEST_TMP/showmount.out")"
check "rpcinfo -u VIP mount 3: ready" in c1 timeout 10 rpcinfo -u "$VIP4" mount 3
no_udp_nfs() { ! in_ns c1 timeout 10 rpcinfo -u "$VIP4" nfs 3 >/dev/null 2>&1; }
check "rpcinfo -u VIP nfs 3: not registered (NFS is TCP only)" no_udp_nfs
check "the nodes answered over UDP" test "$(udp_replies)" -gt "$u0"
RPC=$REPO/tests/tools/nfs_rpc.py
nst() { nctl "$1" '{"cmd":"status"}' | jq -r ".nfs$2"; }
f0=$(nst n1 .forwarded)
in_ns c1 "$PY" "$RPC" udpmnt "$N1_IP4" /export/beta 3 >"$TEST_TMP/udpmnt.json" 2>&1
diag "MNT /export/beta by UDP to n1's own address: $(cat "$TEST_TMP/udpmnt.json")"
check_eq "... answered OK three times with beta's handle from its home n2" "[0,0,0] [2,2,2]" \
	"$(jq -c .statuses "$TEST_TMP/udpmnt.json") $(jq -c .node_ids "$TEST_TMP/udpmnt.json")"
check_eq "... forwarded by n1 to n2 each time" 3 "$(($(nst n1 .forwarded) - f0))"
r0=$(nst n2 .udp.refused)
in_ns sw "$PY" "$RPC" udpmnt "$N2_IP4" /export 1 >"$TEST_TMP/udpsw.json" 2>&1
check_eq "a MNT by UDP from the switch (outside \"clients\") gets no answer" 1 "$(jq -r .timeouts "$TEST_TMP/udpsw.json")"
check_eq "... counted in n2's nfs.udp.refused" 1 "$(($(nst n2 .udp.refused) - r0))"
finish
