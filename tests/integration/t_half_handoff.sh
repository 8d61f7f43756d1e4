#!/bin/bash
# t_half_handoff: a half handoff of an HTTP keep-alive session: while the
# old node still streams a 64 MiB reply, the new node starts on the
# requests pipelined behind it; the session moves once the reply is out.
#
#   c1 .10 -- [sw: tandem-lbd, report port 7406] -- n1 n2 n3 (tandem-nasd
#              with "handoff", nginx stopped; as t_nasd_handoff)
#
#  client: tests/tools/ho_client.py halfpipe: GET /rate/shared/64m.bin?bps=
#          16000000 (about 4.2 s of nasd's pacer) with 6 small GETs
#          (/small.bin, /node alternately) written right behind it on the
#          same connection; the end of each response noted (CLOCK_MONOTONIC).
#  test:   once the session is sending, {"cmd":"handoff","half":true} to
#          its node X, to Y.
#  checked: X answers "half" (the reply has bytes left); Y started on the 6
#  requests (half.last_requests; the 3 small.bin read ahead: half.files)
#  before the download's last byte reached the client (Y's half.last_prepare_ns < the download's end_ns:
#  one host's CLOCK_MONOTONIC); the download came whole from X and its
#  sha256 is right; the 6 small answers came from Y (X-Tandem-Node, /node's
#  body), small.bin sha256-right; X moved the session once (out_ok +1, a
#  move scheduled at the end of the reply), Y took it (in_ok +1) and
#  matched it to what it prepared (half.arrived +1, arrived_requests +6);
#  lbd's flow names Y.  Then: a half handoff asked for a session that has
#  no long reply in progress is an ordinary handoff (outcome "done").
#  Failure: the same download again, and Y stopped (SIGSTOP) once
#  it has the PREPARE: X's move at the end of the reply finds no answer
#  (timeout_ms) and fails; the session stays on X, which answers the
#  pipelined requests itself; every byte right; lbd's flow still names X.
#
#  NFS (NASD_NFS=1: one export shared by the nodes): tests/tools/nfs_rpc.py
#  halfread, a slow reader (SO_RCVBUF 4 KiB) on one connection sends a READ
#  of 1 MiB and 8 READs of 32 KiB behind it, and reads nothing until told.
#  Its node X holds the 1 MiB reply in out[] (nfs-conns "out" > 0): a half
#  handoff to Y answers "half"; Y started on the 8 READs (read ahead) while
#  X still holds the reply; then the client reads: all 9 replies byte-exact;
#  X moved the connection once its reply was out (out_ok +1, scheduled), Y
#  took it (in_ok +1, half.arrived +1, arrived_requests +8) and answered the
#  8 READs itself (its NFS replies +8); lbd's flow (port 2049) names Y.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq
export LAB_NFS=1
handoff_lab_up
export NASD_NFS=1
T=$TEST_TMP
TP=$REPO/tests/tools
mkdir -p "$LAB_DIR/shared" "$LAB_DIR/nfs"
head -c $((64 << 20)) /dev/urandom >"$LAB_DIR/shared/64m.bin"
head -c $((4 << 20)) /dev/urandom >"$LAB_DIR/nfs/half.bin"
nasd_all_up handoff
check "v4 tcp/80 has 3 nodes in its table" wait_for 10 table_is 3
hj() { hstat "$1" ".half$2"; }
NSMALL=6

# start_pipe TAG: the halfpipe client (results in $T/TAG.json); sets cpid
# and EP (its endpoint) and waits until its session is sending
start_pipe() {
	in_ns c1 "$PY" "$TP/ho_client.py" halfpipe --host "$VIP4" --path "/rate/shared/64m.bin?bps=16000000" \
		--count "$NSMALL" --port-file "$T/$1.ep" --out "$T/$1.json" >"$T/$1.log" 2>&1 &
	cpid=$!
	at_exit "kill $cpid 2>/dev/null"
	wait_for 5 test -s "$T/$1.ep"
	EP=$(tr -d '\n' <"$T/$1.ep")
	check "$1: the session is streaming the download" wait_for 10 sending
}
sending() { [ -n "$(find_session ".client == \"$EP\" and .state != \"idle\" and .phase == \"send\"")" ]; }
start_pipe half
X=$(holder "$EP")
if [ -z "$X" ]; then
	fail "the session shows up on a node" "$(cat "$T/half.log" 2>/dev/null)"
	finish
fi
Y=$(other "$X")
diag "session $EP on $X; half handoff to $Y"
o0=$(hstat "$X" .out_ok) i0=$(hstat "$Y" .in_ok) a0=$(hj "$Y" .arrived) r0=$(hj "$Y" .arrived_requests)
r=$(nctl "$X" "{\"cmd\":\"handoff\",\"session\":\"$EP\",\"to\":\"$Y\",\"half\":true}")
diag "reply: $r"
check_eq "$X answers: half handoff, the reply goes on here" "true half" "$(jq -r '"\(.ok) \(.outcome)"' <<<"$r")"
check_eq "the download is still with $X" "$X" "$(holder "$EP")"
lastreq() { [ "$(hj "$Y" .last_requests)" = "$NSMALL" ]; }
check "$Y started on the $NSMALL pipelined requests (parsed; the 3 small.bin read ahead)" wait_for 5 lastreq
check_eq "$Y read ahead the 3 files" 3 "$(hj "$Y" .files)"
PREP_NS=$(hj "$Y" .last_prepare_ns)

wait_for 30 pid_gone "$cpid"
wait "$cpid"
rc=$?
diag "client: $(jq -c '{error, responses: [.responses[] | {path, status, node, len, end_ns}]}' "$T/half.json" 2>/dev/null || cat "$T/half.log")"
check_eq "client: the download and $NSMALL small answers, in order, no reset (exit 0)" 0 "$rc"
DL_END=$(jq -r '.responses[0].end_ns' "$T/half.json")
check_eq "download: 200 from $X, 64 MiB, sha256 right" "200 $X $((64 << 20)) $(sha "$LAB_DIR/shared/64m.bin")" \
	"$(jq -r '.responses[0] | "\(.status) \(.node) \(.len) \(.sha)"' "$T/half.json")"
check "$Y started on the requests before the download's last byte reached the client ($PREP_NS < $DL_END, $(((DL_END - PREP_NS) / 1000000)) ms before)" \
	test "$PREP_NS" -lt "$DL_END"
check_eq "every small answer came from $Y, right" "$NSMALL" \
	"$(jq --arg y "$Y" --arg s "$(want_sha small.bin)" '[.responses[1:][] | select(.status == 200 and .node == $y and
		((.path == "/node" and .body == $y) or (.path == "/small.bin" and .sha == $s)))] | length' "$T/half.json")"
check_eq "$X moved the session once, at the end of its reply (out_ok +1, half.scheduled)" "1 1" \
	"$(($(hstat "$X" .out_ok) - o0)) $(hj "$X" .scheduled)"
check_eq "$Y took it (in_ok +1) and matched it to what it prepared (half.arrived +1, arrived_requests +$NSMALL)" \
	"1 1 $NSMALL" "$(($(hstat "$Y" .in_ok) - i0)) $(($(hj "$Y" .arrived) - a0)) $(($(hj "$Y" .arrived_requests) - r0))"
check_eq "lbd's flow for the client port names $Y" "$Y" "$(flow_node "$C1_IP4" "${EP##*:}" 80)"
check_eq "nothing prepared is left waiting on $Y" 0 "$(hj "$Y" .waiting)"

# a session with no long reply in progress: the half handoff is an ordinary one
in_ns c1 "$PY" "$TP/ho_client.py" ka --host "$VIP4" --want "$(want_sha small.bin)" --gap-ms 20 \
	--stop-file "$T/stop" --port-file "$T/ka.port" --out "$T/ka.json" >"$T/ka.log" 2>&1 &
kpid=$!
at_exit "kill $kpid 2>/dev/null"
wait_for 5 test -s "$T/ka.port"
KEP=$(tr -d '\n' <"$T/ka.port")
wait_for 5 holder "$KEP" >/dev/null
KX=$(holder "$KEP")
KY=$(other "$KX")
r=$(nctl "$KX" "{\"cmd\":\"handoff\",\"session\":\"$KEP\",\"to\":\"$KY\",\"half\":true}")
check_eq "keep-alive session between requests: half -> an ordinary handoff, done" "true done" \
	"$(jq -r '"\(.ok) \(.outcome)"' <<<"$r")" || diag "$r"
touch "$T/stop"
wait_for 10 pid_gone "$kpid"
wait "$kpid"
krc=$?
check_eq "keep-alive client: every answer right, no reset" "0 true" "$krc $(jq -r .ok "$T/ka.json" 2>/dev/null)"
# ------------------------------------------------- the move at the end fails --
start_pipe half2
X=$(holder "$EP")
Y=$(other "$X")
o0=$(hstat "$X" .out_failed) s0=$(hj "$X" .scheduled) r0=$(hj "$Y" .received)
r=$(nctl "$X" "{\"cmd\":\"handoff\",\"session\":\"$EP\",\"to\":\"$Y\",\"half\":true}")
check_eq "failure: $X answers half" "true half" "$(jq -r '"\(.ok) \(.outcome)"' <<<"$r")"
got_prep() { [ "$(hj "$Y" .received)" -gt "$r0" ]; }
wait_for 5 got_prep
kill -STOP "$(nasd_pid "$Y")"
at_exit "kill -CONT $(nasd_pid "$Y") 2>/dev/null"
wait_for 60 pid_gone "$cpid"
wait "$cpid"
rc=$?
kill -CONT "$(nasd_pid "$Y")"
diag "failure client: $(jq -c '{error, responses: [.responses[] | {path, status, node, len}]}' "$T/half2.json" 2>/dev/null || cat "$T/half2.log")"
check_eq "failure: the client got everything, in order (exit 0)" 0 "$rc"
check_eq "failure: download from $X, sha256 right" "200 $X $(sha "$LAB_DIR/shared/64m.bin")" \
	"$(jq -r '.responses[0] | "\(.status) \(.node) \(.sha)"' "$T/half2.json")"
check_eq "failure: every small answer came from $X, right" "$NSMALL" \
	"$(jq --arg y "$X" --arg s "$(want_sha small.bin)" '[.responses[1:][] | select(.status == 200 and .node == $y and
		((.path == "/node" and .body == $y) or (.path == "/small.bin" and .sha == $s)))] | length' "$T/half2.json")"
check_eq "failure: $X scheduled the move and it failed (half.scheduled +1, out_failed +1)" "1 1" \
	"$(($(hj "$X" .scheduled) - s0)) $(($(hstat "$X" .out_failed) - o0))"
check_eq "failure: lbd's flow for the client port still names $X" "$X" "$(flow_node "$C1_IP4" "${EP##*:}" 80)"

# ------------------------------------------------------------------- NFS --
nfs_out() {	# nfs_out NODE EP: the bytes of the reply its connection EP still holds
	nctl "$1" '{"cmd":"nfs-conns"}' | jq -r --arg c "$2" '[.conns[]? | select(.client == $c) | .out] | first // empty'
}
nfs_replies() { nctl "$1" '{"cmd":"status"}' | jq -r '.nfs.replies // 0'; }
in_ns c1 env NFS_RPC_LOCAL="$LAB_DIR/nfs/half.bin" "$PY" "$TP/nfs_rpc.py" halfread "$VIP4" half.bin 8 \
	"$T/nfs.ep" "$T/nfs.paused" "$T/nfs.resume" >"$T/nfs.json" 2>"$T/nfs.err" &
npid=$!
at_exit "kill $npid 2>/dev/null"
wait_for 10 test -e "$T/nfs.paused"
NEP=$(cat "$T/nfs.ep" 2>/dev/null)
NX=""
for n in n1 n2 n3; do [ -n "$(nfs_out "$n" "$NEP")" ] && NX=$n; done
if [ -z "$NX" ]; then
	fail "the NFS connection $NEP shows up on a node" "$(cat "$T/nfs.err")"
	touch "$T/nfs.resume"
	finish
fi
NY=$(other "$NX")
out_held() { [ "$(nfs_out "$NX" "$NEP")" -gt 0 ]; }
check "NFS: $NX holds the 1 MiB reply to $NEP unwritten (a slow reader)" wait_for 10 out_held
o0=$(hstat "$NX" .out_ok) i0=$(hstat "$NY" .in_ok) a0=$(hj "$NY" .arrived) r0=$(hj "$NY" .arrived_requests)
f0=$(hj "$NY" .files) p0=$(nfs_replies "$NY")
r=$(nctl "$NX" "{\"cmd\":\"handoff\",\"session\":\"$NEP\",\"to\":\"$NY\",\"half\":true}")
diag "NFS reply: $r"
check_eq "NFS: $NX answers: half handoff, the reply goes on here" "true half" "$(jq -r '"\(.ok) \(.outcome)"' <<<"$r")"
nprep() { [ "$(hj "$NY" .last_requests)" = 8 ]; }
check "NFS: $NY started on the 8 READs behind the reply" wait_for 5 nprep
check_eq "NFS: $NY read their file ranges ahead" 8 "$(($(hj "$NY" .files) - f0))"
PREP_NS=$(hj "$NY" .last_prepare_ns)
check "NFS: $NX still holds the connection, its reply unwritten" out_held
touch "$T/nfs.resume"
wait_for 30 pid_gone "$npid"
wait "$npid"
rc=$?
diag "NFS client: $(cat "$T/nfs.json") $(tail -n 2 "$T/nfs.err")"
check_eq "NFS: the client got all 9 replies on its one connection, byte-exact (exit 0)" 0 "$rc"
BIG_END=$(jq -r '.big_end_ns // 0' "$T/nfs.json" 2>/dev/null)
check "NFS: $NY started before the 1 MiB reply reached the client ($PREP_NS < $BIG_END)" test "$PREP_NS" -lt "$BIG_END"
check_eq "NFS: $NX moved the connection once its reply was out (out_ok +1)" 1 "$(($(hstat "$NX" .out_ok) - o0))"
check_eq "NFS: $NY took it and matched it to what it prepared (in_ok +1, arrived +1, arrived_requests +8)" "1 1 8" \
	"$(($(hstat "$NY" .in_ok) - i0)) $(($(hj "$NY" .arrived) - a0)) $(($(hj "$NY" .arrived_requests) - r0))"
check_le "NFS: $NY answered the 8 READs itself (its NFS replies grew by at least 8)" 8 "$(($(nfs_replies "$NY") - p0))"
check_eq "NFS: lbd's flow for $NEP names $NY" "$NY" "$(flow_node "$C1_IP4" "${NEP##*:}" 2049)"

for n in n1 n2 n3; do
	diag "$n half: $(hj "$n" "" | jq -c .)"
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
finish
