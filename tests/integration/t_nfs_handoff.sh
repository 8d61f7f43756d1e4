#!/bin/bash
# t_nfs_handoff: NFS connections move between storage nodes: the
# data-location trigger of the namespace, and drain.
#
#   c1 .10 -- [sw: tandem-lbd, VIP tcp/111 tcp/2049, handoff reports] -- n1 n2 n3
#   each node: tandem-nasd with "handoff" and NFS in one namespace
#   (NASD_NFS=1 NASD_NFS_NS=1: alpha on n1, beta on n2, gamma on n3;
#   namespace.handoff_threshold default 1 MiB)
#
#  1. data location: one NFS connection (tests/tools/nfs_rpc.py awayread:
#     MNT, LOOKUP, READ 256 KiB at a time) reads a 4 MiB file in the
#     directory homed on a node other than the one it landed on.  Its first
#     READs are forwarded to the home; past 1 MiB the connection is handed
#     to the home (libtch), which serves the rest itself.  Checked: the
#     bytes are exact, the landing node counts one NFS handoff home, the
#     home counts one handoff in, lbd's flow for the connection names the
#     home, the home's nfs-conns lists it, the forwarded READs stopped.
#  2. one session, three homes: a libnfs client (tests/tools/nfs_walk: one
#     NFS connection, libnfs's reconnect off) reads alpha/big (home n1),
#     writes beta/up.bin (home n2), then reads gamma/big (home n3), 256 KiB
#     a call, 20 ms apart.  Its connection is handed to each home in turn
#     (in_ok of n1 +1 unless it landed there, n2 +1, n3 +1); the client saw
#     no error and kept its one connection; the bytes read and the file
#     written on n2 are exact; lbd's flow ends on n3.
#  3. drain: six slow readers (one connection each, 3 MiB over about 7 s)
#     over the three directories; `tandemctl drain` of the node holding most
#     of them moves every one (MOVE from lbd -> that node's nasd -> handoff
#     of the NFS connection; one that is waiting for a forwarded call
#     answers BUSY and lbd asks again); 0 failed, none left on the node;
#     every read completes, byte-exact.
# FAMILY=6 (t_nfs_handoff_v6.sh): the same over IPv6, with the same
# assertions: c1 fd77:1::10 to the v6 VIP's tcp/111 and tcp/2049 (LAB_NFS6=1,
# NASD_NFS6=1); the nodes forward to each other over their IPv4 addresses.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq
export LAB_NFS=1
FAMILY=${FAMILY:-4}
[ "$FAMILY" = 6 ] && export LAB_NFS6=1 NASD_NFS6=1
handoff_lab_up
export NASD_NFS=1 NASD_NFS_NS=1
# VIP, CIP (c1's address), VN (lbd's VIP name), CLAN (how nasd writes a
# client LAN peer) of FAMILY
if [ "$FAMILY" = 6 ]; then
	VIP=$VIP6 CIP=$C1_IP6 VN=v6 CLAN="[fd77:1::"
else
	VIP=$VIP4 CIP=$C1_IP4 VN=v4 CLAN="10.77.1."
fi
for n in n1 n2 n3; do mkdir -p "$LAB_DIR/$n/nfs"; done
mkdir -p "$LAB_DIR/n1/nfs/alpha" "$LAB_DIR/n2/nfs/beta" "$LAB_DIR/n3/nfs/gamma"
for hd in n1/nfs/alpha n2/nfs/beta n3/nfs/gamma; do
	head -c $((4 << 20)) /dev/urandom >"$LAB_DIR/$hd/big"
	for i in 1 2; do head -c $((3 << 20)) /dev/urandom >"$LAB_DIR/$hd/s$i"; done
done
nasd_all_up handoff
svc3() { [ "$(svc_nodes "$VN" tcp 2049)" = 3 ]; }
check "$VN tcp/2049 has 3 nodes in its table" wait_for 10 svc3

RPC=$REPO/tests/tools/nfs_rpc.py
hs() { nctl "$1" '{"cmd":"status"}' | jq -r ".handoff$2"; }
fwd() { nctl "$1" '{"cmd":"status"}' | jq -r '.nfs.forwarded // 0'; }
dirhome() { case "$1" in alpha) echo n1 ;; beta) echo n2 ;; gamma) echo n3 ;; esac; }

# --------------------------------------------------- 1. data location --

declare -A in0 home0
for n in n1 n2 n3; do in0[$n]=$(hs "$n" .in_ok); home0[$n]=$(hs "$n" .nfs_home.ok); done
in_ns c1 "$PY" "$RPC" awayread "$VIP" "$LBD_SOCK" big "$TEST_TMP/away.bin" 4 >"$TEST_TMP/away.json" 2>"$TEST_TMP/away.err"
rc=$?
check_eq "the reader finishes (exit 0)" 0 "$rc" || diag "$(tail -n 5 "$TEST_TMP/away.err")"
X=$(jq -r .landed "$TEST_TMP/away.json")
H=$(jq -r .home "$TEST_TMP/away.json")
D=$(jq -r .dir "$TEST_TMP/away.json")
P=$(jq -r .port "$TEST_TMP/away.json")
diag "connection from port $P landed on $X; read $D/big (home $H): $(cat "$TEST_TMP/away.json")"
check_eq "4 MiB read, byte-exact" "$(sha "$LAB_DIR/$H/nfs/$D/big")" "$(sha "$TEST_TMP/away.bin")"
check_eq "$X handed one NFS connection to its data's home" 1 "$(($(hs "$X" .nfs_home.ok) - ${home0[$X]}))"
check_eq "$H took one connection in" 1 "$(($(hs "$H" .in_ok) - ${in0[$H]}))"
check_eq "lbd's flow for c1:$P names $H" "$H" "$(flow_node "$CIP" "$P" 2049)"
check "$X logged the trigger" grep -q "home_move app=nfs session=[0-9]* bytes=[0-9]* nfs_id=${H#n} " "$LAB_DIR/$X/nasd.log"
fw=$(fwd "$X")
diag "READ/other calls forwarded by $X: $fw"
check "$X forwarded only the first MiB or so (at most 8 calls: MNT's LOOKUPs + 4-5 READs)" test "$fw" -le 8

# ------------------------------------------ 2. one session, three homes --

WALK=$TANDEM_BUILD/tools/nfs_walk
head -c $((4 << 20)) /dev/urandom >"$TEST_TMP/up.bin"
declare -A in1
for n in n1 n2 n3; do in1[$n]=$(hs "$n" .in_ok); done
in_ns c1 "$WALK" -p 20 "$VIP" /export s:1000 "r:/alpha/big:$TEST_TMP/w1.bin" \
	"w:/beta/up.bin:$TEST_TMP/up.bin" "r:/gamma/big:$TEST_TMP/w3.bin" >"$TEST_TMP/walk.out" 2>&1 &
wpid=$!
wait_for 10 grep -q mounted "$TEST_TMP/walk.out"
WP=$(head -n 1 "$TEST_TMP/walk.out" | jq -r '.port // empty' 2>/dev/null)
WX=$(flow_node "$CIP" "$WP" 2049)
diag "nfs_walk: connection from port $WP landed on ${WX:-?}"
wait "$wpid"
rc=$?
diag "$(tr '\n' ' ' <"$TEST_TMP/walk.out")"
check_eq "nfs_walk: every operation done, no error, on its one connection (exit 0)" 0 "$rc"
check_eq "alpha/big read byte-exact" "$(sha "$LAB_DIR/n1/nfs/alpha/big")" "$(sha "$TEST_TMP/w1.bin")"
check_eq "beta/up.bin written byte-exact (on n2's disk)" "$(sha "$TEST_TMP/up.bin")" "$(sha "$LAB_DIR/n2/nfs/beta/up.bin")"
check_eq "gamma/big read byte-exact" "$(sha "$LAB_DIR/n3/nfs/gamma/big")" "$(sha "$TEST_TMP/w3.bin")"
want_n1=1
[ "$WX" = n1 ] && want_n1=0
check_eq "handed to each home in turn: handoffs in at n1 n2 n3" "$want_n1 1 1" \
	"$(($(hs n1 .in_ok) - ${in1[n1]})) $(($(hs n2 .in_ok) - ${in1[n2]})) $(($(hs n3 .in_ok) - ${in1[n3]}))"
check_eq "lbd's flow for c1:$WP names n3" n3 "$(flow_node "$CIP" "$WP" 2049)"

# ------------------------------------------------------------- 3. drain --

pids=()
i=0
for d in alpha beta gamma alpha beta gamma; do
	i=$((i + 1))
	f=s$(((i - 1) / 3 + 1))
	in_ns c1 "$PY" "$RPC" slowread "$VIP" "$d/$f" "$TEST_TMP/r$i.bin" 40 >"$TEST_TMP/r$i.json" 2>"$TEST_TMP/r$i.err" &
	pids+=($!)
	echo "$d/$f" >"$TEST_TMP/r$i.path"
done
conns() { nctl "$1" '{"cmd":"nfs-conns"}' | jq --arg p "$CLAN" '[.conns[]? | select(.client | startswith($p))] | length'; }
six() { [ $(($(conns n1) + $(conns n2) + $(conns n3))) -ge 6 ]; }
check "six NFS reader connections open" wait_for 10 six
best=n1
for n in n2 n3; do [ "$(conns "$n")" -gt "$(conns "$best")" ] && best=$n; done
K=$(conns "$best")
diag "NFS connections: n1 $(conns n1), n2 $(conns n2), n3 $(conns n3); draining $best ($K)"
for n in n1 n2 n3; do diag "$n: $(nctl "$n" '{"cmd":"nfs-conns"}' | jq -c '[.conns[]? | .client]')"; done
diag "lbd: $(jctl flows | jq -c '[.flows[] | select(.port == 2049) | "\(.client_port) \(.node)"]')"
ctl drain "$best" >"$TEST_TMP/drain.out" 2>&1
diag "$(cat "$TEST_TMP/drain.out")"
check "tandemctl drain $best: done, its connections moved, 0 failed" \
	grep -Eq "^$best: done: [1-9][0-9]* moved, .* 0 failed" "$TEST_TMP/drain.out"
check_eq "$best holds no NFS client connection" 0 "$(conns "$best")"
bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
check_eq "all six readers finish" 0 "$bad"
okn=0
for i in 1 2 3 4 5 6; do
	pth=$(cat "$TEST_TMP/r$i.path")
	d=${pth%%/*}
	[ "$(sha "$TEST_TMP/r$i.bin")" = "$(sha "$LAB_DIR/$(dirhome "$d")/nfs/$pth")" ] && okn=$((okn + 1))
done
check_eq "every read byte-exact" 6 "$okn"
ctl undrain "$best" >/dev/null
for n in n1 n2 n3; do
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
check "lbd still running" kill -0 "$(lbd_pid)"
finish
