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
#  3. drain is not undone (handoff.pin_hold_s 15 here): node states forged
#     by a node (n2 sealing "n3 drains" with its own key) are refused by
#     n1.  Reader R1 reads a
#     file of the node X it landed on (its data's home); `tandemctl drain X`
#     moves it to Y, whose calls go back to X.  R1 stays on Y (pinned: Y's
#     status lists the pin, by the switch, from X, and its remaining hold,
#     also through tandemctl --json status; nfs_home.pinned; `tandemctl
#     cluster` says X drains and that every node holds that); reader R2, landed on W != X, reads X's data past the
#     threshold while X drains: W does not hand it to X (nfs_home.draining;
#     W's status names X as draining); an operator's handoff to X is refused
#     by X itself (draining); X takes no session in.  After undrain, R2 goes
#     to X (data location works again); R1 goes to X only once its hold is
#     over; both reads byte-exact.
#  4. migrate is not undone: reader R3 on its data's home X, `tandemctl
#     migrate CLIENT:PORT VIP:2049 Y`: R3 stays on Y while it reads past the
#     threshold (pinned), byte-exact.
#  5. writing clients on a connection landed on another node than the
#     file's home: nfs_pipeline with 8 WRITEs of 256 KiB in flight at a time
#     ends on the home, every byte written and read back exact; a raw
#     client (nfs_rpc.py burstwrite) whose next WRITE is half received when
#     the threshold is reached (it would not fit the handoff blob: EBUSY):
#     the move waits for the call boundary after that WRITE and is made
#     there (nfs_home.busy, nfs_home.ok), the file byte-exact on the home.
#  6. a connection made to a node's own address (not through the VIP)
#     reads another node's data past the threshold: never a candidate
#     (nfs_home.not_vip), no handoff tried, byte-exact.
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
for hd in n1/nfs/alpha n2/nfs/beta n3/nfs/gamma; do
	head -c $((12 << 20)) /dev/urandom >"$LAB_DIR/$hd/r12"
	head -c $((8 << 20)) /dev/urandom >"$LAB_DIR/$hd/r8"
	head -c $((4 << 20)) /dev/urandom >"$LAB_DIR/$hd/r4"
done
export NASD_HANDOFF_EXTRA='"pin_hold_s": 15,'
nasd_all_up handoff
svc3() { [ "$(svc_nodes v4 tcp 2049)" = 3 ]; }
check "v4 tcp/2049 has 3 nodes in its table" wait_for 10 svc3

PIPE=$TANDEM_BUILD/tools/nfs_pipeline
# a field of the handoff / nfs status (0 if absent: a number is compared)
hs() { nctl "$1" '{"cmd":"status"}' | jq -r ".handoff$2 // 0"; }
home_of() { case "$1" in alpha) echo n1 ;; beta) echo n2 ;; gamma) echo n3 ;; esac; }
RPC=$REPO/tests/tools/nfs_rpc.py
nst() { nctl "$1" '{"cmd":"status"}' | jq -r ".nfs$2 // 0"; }

# ----------------------------------------------------------- 1. no Nagle --

# 64 batches of 16 calls, each batch once the one before is answered (as a
# client flushing dirty pages): the end of each batch is where a reply held
# back by Nagle waits for the client's delayed ACK (256 calls in a single
# batch would stall only once).
pids="$(nasd_pid n1),$(nasd_pid n2),$(nasd_pid n3)"
in_ns c1 "$PIPE" -n 16 -b 64 -P "$pids" -B "$VIP4" /export alpha/pipe.bin,beta/pipe.bin,gamma/pipe.bin \
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

udp_replies() { local n t=0; for n in n1 n2 n3; do t=$((t + $(nst "$n" .udp.replies))); done; echo "$t"; }
svcu() { [ "$(svc_nodes v4 udp 111)" = 3 ] && [ "$(svc_nodes v4 udp 2049)" = 3 ]; }
check "v4 udp/111 and udp/2049 have 3 nodes in their tables (LAB_NFS=1)" wait_for 10 svcu
u0=$(udp_replies)
in_ns c1 timeout 20 rpcinfo -p "$VIP4" >"$TEST_TMP/rpcinfo.out" 2>&1
rc=$?
diag "rpcinfo -p $VIP4: $(tr -s ' \n' ' ' <"$TEST_TMP/rpcinfo.out")"
check_eq "rpcinfo -p VIP exits 0" 0 "$rc"
norm=$(awk 'NR > 1 {print $1, $2, $3, $4}' "$TEST_TMP/rpcinfo.out" | sort | tr '\n' ';')
check_eq "... portmapper and MOUNT on tcp and udp, NFS on tcp, NLM and NSM on tcp and udp" \
	"100000 2 tcp 111;100000 2 udp 111;100003 3 tcp 2049;100005 3 tcp 2049;100005 3 udp 2049;100021 4 tcp 2049;100021 4 udp 2049;100024 1 tcp 2049;100024 1 udp 2049;" "$norm"
in_ns c1 timeout 20 showmount -e "$VIP4" >"$TEST_TMP/showmount.out" 2>&1
rc=$?
diag "showmount -e $VIP4: $(tr -s ' \n' ' ' <"$TEST_TMP/showmount.out")"
check_eq "showmount -e VIP exits 0" 0 "$rc"
check_eq "... lists /export for 10.77.1.0/24" "/export 10.77.1.0/24" "$(tail -n 1 "$TEST_TMP/showmount.out")"
check "rpcinfo -u VIP mount 3: ready" in c1 timeout 10 rpcinfo -u "$VIP4" mount 3
no_udp_nfs() { ! in_ns c1 timeout 10 rpcinfo -u "$VIP4" nfs 3 >/dev/null 2>&1; }
check "rpcinfo -u VIP nfs 3: not registered (NFS is TCP only)" no_udp_nfs
check "the nodes answered over UDP" test "$(udp_replies)" -gt "$u0"
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

# ------------------------------------------------- 3. drain is not undone --

# only the switch says who drains: n2 speaking as the switch is refused
nb0=$(hs n1 .node_states.bad)
r=$(in_ns n2 "$PY" "$REPO/tests/tools/ho_chan.py" forge-states --to "$N1_IP4" \
	--keyfile "$LAB_DIR/n2/handoff.key" --name n2 --target n3)
check "n2 sends n1 node states (n3 drains) as the switch: no answer" jq -e '.answers == 0' <<<"$r" || diag "$r"
check_eq "... n1 counts them (node_states.bad) and nobody drains for it" "$((nb0 + 1)) []" \
	"$(hs n1 .node_states.bad) $(hs n1 .draining | jq -c .)"

# placedread R: starts reader R in the background (WHERE FILE SECONDS), its
# placement in $TEST_TMP/R.ready
placed() {
	local r=$1 where=$2 file=$3 secs=$4
	in_ns c1 "$PY" "$RPC" placedread "$VIP4" "$LBD_SOCK" "$where" "$file" "$TEST_TMP/$r.out" "$secs" \
		"$TEST_TMP/$r.ready" >"$TEST_TMP/$r.json" 2>"$TEST_TMP/$r.err" &
}
rd() { jq -r ".$2" "$TEST_TMP/$1.ready"; }
pinned_port() { nctl "$1" '{"cmd":"status"}' | jq -r --arg p ":$2" '[.handoff.pins[]? | select(.client | endswith($p))][0] // empty'; }
declare -A in0
for n in n1 n2 n3; do in0[$n]=$(hs "$n" .in_ok); done
placed r1 home r12 48	# 48 READs of 256 KiB, 0.75 s apart: about 36 s
r1pid=$!
check "R1 placed on its data's home" wait_for 15 test -s "$TEST_TMP/r1.ready"
X=$(rd r1 landed)
P1=$(rd r1 port)
diag "R1: port $P1 on $X, reading $(rd r1 dir)/r12 (home $X)"
sleep 1
ctl drain "$X" >"$TEST_TMP/drain.out" 2>&1
diag "$(cat "$TEST_TMP/drain.out")"
drained() { ! nctl "$X" '{"cmd":"nfs-conns"}' | jq -e --arg p ":$P1" '.conns[] | select(.client | endswith($p))' >/dev/null; }
check "tandemctl drain $X moves R1 off $X" wait_for 10 drained
Y=$(flow_node "$C1_IP4" "$P1" 2049)
diag "R1 moved by the drain to ${Y:-?}"
check "lbd's flow of R1 names another node" test -n "$Y" -a "$Y" != "$X"
pin=$(pinned_port "$Y" "$P1")
diag "$Y's pin of R1: $pin"
check_eq "$Y pins R1: by the switch, from $X" "switch $X" "$(jq -r '"\(.by) \(.from)"' <<<"$pin")"
check "... for the rest of its hold (0 < remaining_ms <= 15000)" \
	test "$(jq -r '.remaining_ms // 0' <<<"$pin")" -gt 0 -a "$(jq -r '.remaining_ms // 0' <<<"$pin")" -le 15000
tpin=$("$TANDEMCTL" -s "$LAB_DIR/$Y/nasd.sock" --json status | jq -c --arg p ":$P1" \
	'[.handoff.pins[]? | select(.client | endswith($p)) | .by]')
check_eq "... shown by tandemctl -s $Y's nasd socket --json status" '["switch"]' "$tpin"
check_eq "$Y knows $X drains (the switch's node states)" "[\"$X\"]" "$(hs "$Y" .draining | jq -c .)"
check_eq "$X knows it drains" "[\"$X\"]" "$(hs "$X" .draining | jq -c .)"
states_held() { ctl cluster | grep -q "^node states .* draining: $X; 3 of 3 node(s) hold it"; }
check "tandemctl cluster: $X drains, all three nodes hold it" wait_for 5 states_held
# R2: lands elsewhere than X, reads X's data while X drains
placed r2 "away:$X" r8 32	# 32 READs, 0.5 s apart
r2pid=$!
check "R2 placed away from $X" wait_for 25 test -s "$TEST_TMP/r2.ready"
W=$(rd r2 landed)
P2=$(rd r2 port)
diag "R2: port $P2 on $W, reading $(rd r2 dir)/r8 (home $X)"
held_back() { [ "$(hs "$W" .nfs_home.draining)" -ge 1 ]; }
check "$W holds R2 back from its draining home $X (nfs_home.draining)" wait_for 20 held_back
pinheld() { [ "$(hs "$Y" .nfs_home.pinned)" -ge 1 ]; }
check "$Y holds R1 back by its pin though its data is on $X (nfs_home.pinned)" wait_for 10 pinheld
check_eq "R2 still on $W" "$W" "$(flow_node "$C1_IP4" "$P2" 2049)"
check_eq "R1 still on $Y" "$Y" "$(flow_node "$C1_IP4" "$P1" 2049)"
check_eq "$X took no session in while draining" "${in0[$X]}" "$(hs "$X" .in_ok)"
id2=$(nctl "$W" '{"cmd":"nfs-conns"}' | jq -r --arg p ":$P2" '[.conns[] | select(.client | endswith($p)) | .id][0]')
nctl "$W" "{\"cmd\":\"handoff\",\"session\":\"nfs:$id2\",\"to\":\"$X\"}" >"$TEST_TMP/opho.json"
diag "operator handoff of R2 to $X: $(jq -c '{ok, outcome, stage, error}' "$TEST_TMP/opho.json")"
check "... an operator's handoff to $X is refused by $X: draining" \
	jq -e '.ok == false and (.error | test("draining"))' "$TEST_TMP/opho.json"
check "... counted by $X (refused_draining)" test "$(hs "$X" .refused_draining)" -ge 1
ctl undrain "$X" >/dev/null
undrained() { [ "$(hs "$W" .draining | jq 'length? // 0')" = 0 ]; }
check "after undrain, $W hears at once that $X no longer drains" wait_for 3 undrained
r2home() { [ "$(flow_node "$C1_IP4" "$P2" 2049)" = "$X" ]; }
check "... and R2 goes to its data's home $X" wait_for 15 r2home
check_eq "R1 is still on $Y (pinned)" "$Y" "$(flow_node "$C1_IP4" "$P1" 2049)"
r1home() { [ "$(flow_node "$C1_IP4" "$P1" 2049)" = "$X" ]; }
check "R1 goes to $X once its 15 s hold is over" wait_for 30 r1home
wait "$r1pid"
check_eq "R1's read completes" 0 $?
wait "$r2pid"
check_eq "R2's read completes" 0 $?
check_eq "R1 byte-exact" "$(sha "$LAB_DIR/$X/nfs/$(rd r1 dir)/r12")" "$(sha "$TEST_TMP/r1.out")"
check_eq "R2 byte-exact" "$(sha "$LAB_DIR/$X/nfs/$(rd r2 dir)/r8")" "$(sha "$TEST_TMP/r2.out")"

# ----------------------------------------------- 4. migrate is not undone --

placed r3 home r4 32	# 16 READs, 0.5 s apart: about 8 s
r3pid=$!
check "R3 placed on its data's home" wait_for 15 test -s "$TEST_TMP/r3.ready"
X3=$(rd r3 landed)
P3=$(rd r3 port)
Y3=$(other "$X3")
p0=$(hs "$Y3" .nfs_home.pinned)
ctl migrate "$C1_IP4:$P3" "$VIP4:2049" "$Y3" >"$TEST_TMP/migrate.out" 2>&1
diag "tandemctl migrate $C1_IP4:$P3 $VIP4:2049 $Y3: $(cat "$TEST_TMP/migrate.out")"
check_eq "R3 migrated from $X3 to $Y3" "$Y3" "$(flow_node "$C1_IP4" "$P3" 2049)"
wait "$r3pid"
check_eq "R3's read completes" 0 $?
check_eq "R3 stayed on $Y3 to the end though its data is on $X3 (pinned)" "$Y3" \
	"$(flow_node "$C1_IP4" "$P3" 2049)"
check "$Y3 held it back by the pin" test "$(hs "$Y3" .nfs_home.pinned)" -gt "$p0"
check_eq "R3 byte-exact" "$(sha "$LAB_DIR/$X3/nfs/$(rd r3 dir)/r4")" "$(sha "$TEST_TMP/r3.out")"

# ------------------------------------------ 5. a writing client moves home --

declare -A ok0 busy0
for n in n1 n2 n3; do ok0[$n]=$(hs "$n" .nfs_home.ok); busy0[$n]=$(hs "$n" .nfs_home.busy); done
# the i-th path is homed on the node after the i-th: always forwarded at first
in_ns c1 "$PIPE" -n 8 -s 262144 -b 8 -P "$pids" "$VIP4" /export beta/w.bin,gamma/w.bin,alpha/w.bin \
	>"$TEST_TMP/wr.json" 2>"$TEST_TMP/wr.err"
rc=$?
diag "writer: $(cat "$TEST_TMP/wr.json") $(tail -n 2 "$TEST_TMP/wr.err")"
check_eq "writer: 64 WRITEs of 256 KiB (8 in flight) and 64 READs back, byte-exact (exit 0)" 0 "$rc"
WP=$(jq -r .port "$TEST_TMP/wr.json")
WH=$(home_of "$(jq -r '.path | split("/")[0]' "$TEST_TMP/wr.json")")
WL=""
for n in n1 n2 n3; do [ "$(nasd_pid "$n")" = "$(jq -r .server_pid "$TEST_TMP/wr.json")" ] && WL=$n; done
diag "writer landed on ${WL:-?}, file homed on $WH"
check_eq "the writer's connection ends on the file's home" "$WH" "$(flow_node "$C1_IP4" "$WP" 2049)"
check_eq "$WL handed it there once" 1 "$(($(hs "$WL" .nfs_home.ok) - ${ok0[$WL]}))"
check_eq "the file on $WH's disk is what was written last" \
	"$(jq -r .as_is.mismatched "$TEST_TMP/wr.json")" 0
head -c $((2 << 20)) /dev/urandom >"$TEST_TMP/bw.in"
for n in n1 n2 n3; do ok0[$n]=$(hs "$n" .nfs_home.ok); busy0[$n]=$(hs "$n" .nfs_home.busy); done
in_ns c1 "$PY" "$RPC" burstwrite "$VIP4" "$LBD_SOCK" "$TEST_TMP/bw.in" >"$TEST_TMP/bw.json" 2>"$TEST_TMP/bw.err"
rc=$?
diag "burst writer: $(cat "$TEST_TMP/bw.json") $(tail -n 2 "$TEST_TMP/bw.err")"
check_eq "burst writer: 2 MiB written, a WRITE half sent past the threshold (exit 0)" 0 "$rc"
BL=$(jq -r .landed "$TEST_TMP/bw.json")
BH=$(jq -r .home "$TEST_TMP/bw.json")
check_eq "$BL waited for the call boundary (a WRITE half received: nfs_home.busy)" 1 \
	"$(($(hs "$BL" .nfs_home.busy) - ${busy0[$BL]}))"
check_eq "... and handed the connection to $BH there" 1 "$(($(hs "$BL" .nfs_home.ok) - ${ok0[$BL]}))"
check_eq "the burst writer's connection ends on $BH" "$BH" "$(flow_node "$C1_IP4" "$(jq -r .port "$TEST_TMP/bw.json")" 2049)"
check_eq "bw.bin on $BH's disk byte-exact" "$(sha "$TEST_TMP/bw.in")" \
	"$(sha "$LAB_DIR/$BH/nfs/$(jq -r .dir "$TEST_TMP/bw.json")/bw.bin")"

# ------------------------------- 6. a direct connection is no candidate --

nv0=$(hs n1 .nfs_home.not_vip)
of0=$(hs n1 .out_failed)
fo0=$(hs n1 .out_ok)
in_ns c1 "$PY" "$RPC" slowread "$N1_IP4" beta/r4 "$TEST_TMP/direct.out" 2 >"$TEST_TMP/direct.json" 2>&1
check_eq "a reader connected to n1's own address reads beta/r4 (home n2), byte-exact" \
	"$(sha "$LAB_DIR/n2/nfs/beta/r4")" "$(sha "$TEST_TMP/direct.out")"
check_eq "n1 counts it as no candidate (nfs_home.not_vip)" 1 "$(($(hs n1 .nfs_home.not_vip) - nv0))"
check_eq "... and tried no handoff for it" "$of0 $fo0" "$(hs n1 .out_failed) $(hs n1 .out_ok)"
check "no 'Cannot assign requested address' in n1's or n2's log" \
	bash -c "! grep -q 'Cannot assign requested address' '$LAB_DIR/n1/nasd.log' '$LAB_DIR/n2/nasd.log'"
for n in n1 n2 n3; do
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
finish
