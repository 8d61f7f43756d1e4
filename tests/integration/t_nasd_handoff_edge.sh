#!/bin/bash
# t_nasd_handoff_edge: tandem-nasd handoffs at the edges, unmodified clients.
#
#   c1 .10 -- [sw: tandem-lbd, report port 7406; br1 ports p1 p2 p3] -- n1 n2 n3
#   (tandem-nasd with "handoff" on every node, nginx stopped; as t_nasd_handoff)
#
#  A. forged and replayed handoff messages.  A recorder (tests/tools/
#     ho_chan.py sniff) runs in n2 from before nasd starts.  A download's
#     session goes O -> n2 (nasd control), n2 -> O (`tandemctl handoff`: lbd
#     sends n2 a MOVE), O -> n2 again: all of it recorded (channel O->n2 from
#     its HELLO, n2's REDIRECT reports, lbd's MOVE).  Then, each refused and
#     changing nothing (the session stays on n2, lbd's flow names n2):
#       1. the recorded channel O->n2 replayed on a new connection from O's
#          address (HELLO, OPEN, UPDATE...: a hijack attempt with a real
#          session state): the first frame after HELLO fails its MAC, n2
#          closes the connection;
#       2. the same with one HELLO byte flipped: refused at HELLO;
#       3. HELLO under a wrong key; 4. with the key, a frame with a bad MAC;
#       5. with the key, a valid frame sent twice (seq replay);
#       6. the recorded MOVE replayed to n2 from the switch's address;
#       7. n2's recorded REDIRECT reports replayed to lbd (from n2), and a
#          redirect to O sealed with a wrong key.
#     Refusals show in n2's log and lbd's status (replayed, rejected); nasd's
#     status must count them too (handoff.rejected: any counters).  The
#     download finishes on n2, sha256-correct.
#  B. zero window: a client with a 4 KiB SO_RCVBUF reads 64 KiB of 10m.bin
#     and stops; once the node's send queue stays full the session moves
#     X -> Y -> X -> Y (each UPDATE carries the full queue); the client
#     reads on: sha256-correct, lbd's flow names Y.
#  C. unread data in the receive queue: GET /rate/1m.bin (slow) with GET
#     /small.bin, PUT /shared/pipe.bin (256 KiB) and GET /node pipelined
#     behind it; nasd does not read while it sends, so they wait in the
#     socket's receive queue (ss Recv-Q >= 32 KiB; what does not fit waits in
#     the client) when the session moves;
#     the new node answers all of them: bodies exact, the upload's file
#     sha256-correct, /node names the new node.
#  D. an upload (PUT /shared/up.bin, 2 MiB at 512 KiB/s) moved 3 times in
#     the middle of its body: 201, the file and a GET of it sha256-correct.
#  E. the target dies in the middle of a handoff (tests/tools/bpf/
#     ho_chandrop.bpf.c on the switch port of the target cuts the channel at
#     a chosen frame):
#       1. after it restored the session, with the switch re-pointed to it
#          (its COMPLETE is cut): it is killed (-KILL) while the old node waits;
#          the old node rolls back and points the flow back to itself;
#       2. the UPDATE is cut and the target stopped (-STOP); the old node
#          rolls back; then the cut goes and the target continues (-CONT),
#          finding the stale UPDATE and the old node's FAIL behind it: the
#          flow must stay with the old node.
#     Each time: the download finishes on the old node, sha256-correct.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq clang bpftool tc ss
handoff_lab_up
TP=$REPO/tests/tools
T=$TEST_TMP
CHAN="$PY $TP/ho_chan.py"
CLI="$PY $TP/ho_client.py"
SW=10.77.2.1

# shellcheck disable=SC2016
[ -n "${KEEP_LOGS:-}" ] && at_exit 'mkdir -p $KEEP_LOGS; for n in n1 n2 n3; do cp $LAB_DIR/$n/nasd.log $KEEP_LOGS/$n.log; done'

# The recorder runs in n2 before its nasd opens channels.
in_ns n2 $CHAN sniff --dev eth0 --out "$T/cap.jsonl" --stop "$T/cap.stop" >"$T/cap.log" 2>&1 &
cap_pid=$!
at_exit "touch $T/cap.stop; kill $cap_pid 2>/dev/null"
sleep 0.3

NASD_HANDOFF_TIMEOUT_MS=1500 nasd_all_up handoff
check "v4 tcp/80 has 3 nodes in its table" wait_for 10 table_is 3

# move FROM TO EP: one handoff through FROM's control socket (reply in $T/move.json)
move() {
	nctl "$1" "{\"cmd\":\"handoff\",\"session\":\"$3\",\"to\":\"$2\"}" >"$T/move.json"
	jq -e '.ok and .outcome == "done"' "$T/move.json" >/dev/null
}
moves() {	# moves EP N1 N2 N3 ...: hand EP along the list; 0 if all done
	local ep=$1 a=$2 b
	shift 2
	for b in "$@"; do
		move "$a" "$b" "$ep" || { diag "move $a -> $b: $(jq -c '{outcome, stage, error}' "$T/move.json")"; return 1; }
		a=$b
	done
}
ip_of() { node_ip4 "$1"; }
rej() { nctl "$1" '{"cmd":"status"}' | jq '[.handoff.rejected // {} | .. | numbers] | add // 0'; }
lbdst() { jctl status | jq -r ".handoff_reports$1"; }
logc() { grep -c -- "$2" "$LAB_DIR/$1/nasd.log"; }

# ----------------------------------------------- A. forged and replayed --

in_ns c1 curl -sS -m 60 -w '%{http_code}\n' -o "$T/a.bin" "http://$VIP4/rate/10m.bin?bps=1000000" >"$T/a.w" 2>&1 &
a_pid=$!
wait_for 5 has_session '.path == "/rate/10m.bin"'
read -r X AEP < <(find_session '.path == "/rate/10m.bin"')
O=n1
[ "$X" != n2 ] && O=$X
[ "$X" = "$O" ] || moves "$AEP" "$X" "$O"
ACP=${AEP##*:}
check "session $AEP: $O -> n2 (nasd control)" moves "$AEP" "$O" n2
check "$O <- n2 by tandemctl handoff (lbd's MOVE to n2)" ctl handoff "$AEP" "$VIP4:80" "$O"
check "$O -> n2 again" moves "$AEP" "$O" n2
# the old node sends the REDIRECT: n2 sends its second one here
check "n2 -> $O -> n2" moves "$AEP" n2 "$O" n2
check_eq "lbd's flow names n2" n2 "$(flow_node "$C1_IP4" "$ACP" 80)"
touch "$T/cap.stop"
wait_for 3 pid_gone "$cap_pid"
diag "recorded: $(jq -sc 'group_by(.p) | map({(.[0].p): length}) | add' "$T/cap.jsonl")"

rj0=$(rej n2)
bad0=$(logc n2 'channel_bad_frame ')
r=$(in_ns "$O" $CHAN replay-chan --cap "$T/cap.jsonl" --to "$(ip_of n2)" --from "$(ip_of "$O")")
diag "1. replayed channel: $r"
check "1. the recorded channel $O->n2 (HELLO, OPEN, UPDATE...) replayed: n2 closes it" \
	jq -e '.closed and (.frame_types | index(4)) != null' <<<"$r"
r=$(in_ns "$O" $CHAN replay-chan --cap "$T/cap.jsonl" --to "$(ip_of n2)" --from "$(ip_of "$O")" --flip 30)
check "2. the same with a HELLO byte flipped: no HELLO back, closed" jq -e '.closed and .got == 0' <<<"$r" || diag "$r"
r=$(in_ns "$O" $CHAN forge --to "$(ip_of n2)" --from "$(ip_of "$O")" --name "$O" --keyfile "$HANDOFF_KEY" --bad-key)
check "3. HELLO under a wrong key: no HELLO back, closed" jq -e '.closed and (.hello_answered | not)' <<<"$r" || diag "$r"
r=$(in_ns "$O" $CHAN forge --to "$(ip_of n2)" --from "$(ip_of "$O")" --name "$O" --keyfile "$HANDOFF_KEY" --case badmac)
check "4. a frame with a bad MAC after a good HELLO: closed" jq -e '.hello_answered and .closed' <<<"$r" || diag "$r"
r=$(in_ns "$O" $CHAN forge --to "$(ip_of n2)" --from "$(ip_of "$O")" --name "$O" --keyfile "$HANDOFF_KEY" --case replay)
check "5. a valid frame sent twice: the first kept the channel, the replay closed it" \
	jq -e '.hello_answered and .open_after_first and .closed' <<<"$r" || diag "$r"
check_le "n2's log names each refused frame (4 bad frames + a bad HELLO)" 4 "$(($(logc n2 'channel_bad_frame ') - bad0))"

mv0=$(logc n2 'switch_request_refused .*reason=replayed')
r=$(in_ns sw $CHAN replay-udp --cap "$T/cap.jsonl" --to "$(ip_of n2)" --from "$SW" --op 5)
check "6. lbd's recorded MOVE replayed to n2 from the switch: no answer" jq -e '.sent >= 1 and .answers == 0' <<<"$r" || diag "$r"
check_le "n2 logged the replayed MOVE as refused" 1 "$(($(logc n2 'switch_request_refused .*reason=replayed') - mv0))"
check_eq "n2 still holds the session" n2 "$(holder "$AEP")"

rp0=$(lbdst .replayed)
rr0=$(lbdst .rejected)
r=$(in_ns n2 $CHAN replay-udp --cap "$T/cap.jsonl" --to "$SW" --from "$(ip_of n2)" --op 2)
nrep=$(jq -r .sent <<<"$r")
check "7a. n2's recorded REDIRECT reports replayed to lbd: no answer" jq -e '.sent >= 2 and .answers == 0' <<<"$r" || diag "$r"
check_eq "7a. lbd counts them as replayed" "$((rp0 + nrep))" "$(lbdst .replayed)"
out=$(in_ns n2 "$TANDEM_BUILD/tools/ho_report" -K "$(printf '%064d' 7)" "$SW:7406" redirect "$C1_IP4:$ACP" "$VIP4:80" "$O" 2>&1)
check "7b. a redirect of the live flow to $O under a wrong key: no answer" grep -q "no answer" <<<"$out"
check_eq "7b. lbd counts it as rejected" "$((rr0 + 1))" "$(lbdst .rejected)"
check_eq "lbd's flow still names n2" n2 "$(flow_node "$C1_IP4" "$ACP" 80)"
check_eq "n2 still holds the session, $O does not" "n2" "$(holder "$AEP")"
rj1=$(rej n2)
if [ "$rj1" -ge $((rj0 + 6)) ]; then
	ok "n2's status counts the 5 refused channel connections and the replayed MOVE (handoff.rejected: $rj0 -> $rj1)"
else
	fail "n2's status counts the 5 refused channel connections and the replayed MOVE (handoff.rejected)" \
		"the counters under handoff.rejected add up to $rj1, want >= $((rj0 + 6))" \
		"n2 handoff status: $(hstat n2 '' | jq -c 'del(.peers)')"
fi
wait_for 40 pid_gone "$a_pid"
wait "$a_pid"
check_eq "A: the download finishes: curl exit 0, 200, sha256-correct" "0 200 $(want_sha 10m.bin)" \
	"$? $(cat "$T/a.w") $(sha "$T/a.bin")"
check "channels up again after the forged connections" wait_for 10 chans_up

# --------------------------------------------------------- B. zero window --

in_ns c1 $CLI zw --host "$VIP4" --path /10m.bin --want "$(want_sha 10m.bin)" --rcvbuf 4096 --first 65536 \
	--paused-file "$T/zw.paused" --resume-file "$T/zw.resume" --port-file "$T/zw.port" --out "$T/zw.json" \
	>"$T/zw.log" 2>&1 &
zw_pid=$!
wait_for 5 test -s "$T/zw.paused"
ZEP=$(tr -d '\n' <"$T/zw.port")
ZX=$(holder "$ZEP")
ZY=$(other "$ZX")
sndq() { in_ns "$1" ss -Htn state established "( sport = :80 and dport = :${ZEP##*:} )" | awk '{ print $2 }'; }
cliq() { in_ns c1 ss -Htn state established "( dport = :80 and sport = :${ZEP##*:} )" | awk '{ print $1 }'; }
full() {
	local a b
	a="$(sndq "$ZX") $(cliq)"
	sleep 0.3
	b="$(sndq "$ZX") $(cliq)"
	[ "$a" = "$b" ] && [ "${a%% *}" -gt 0 ]
}
check "B: the client stopped reading; $ZX's send queue stays full" wait_for 10 full
diag "B: $ZX send queue $(sndq "$ZX") bytes, client receive queue $(cliq) bytes"
zsizes=()
zmoves=0
cur=$ZX
for nx in "$ZY" "$ZX" "$ZY"; do
	move "$cur" "$nx" "$ZEP" && zmoves=$((zmoves + 1)) || diag "zero-window move $cur -> $nx: $(jq -c . "$T/move.json")"
	zsizes+=("$(jq -r .state_bytes "$T/move.json")")
	cur=$nx
done
check_eq "B: 3 handoffs in the zero window" 3 "$zmoves"
check_le "B: each carried the full send queue (state_bytes >= 100000: ${zsizes[*]})" 100000 \
	"$(printf '%s\n' "${zsizes[@]}" | sort -n | head -n 1)"
check_eq "B: lbd's flow names $ZY" "$ZY" "$(flow_node "$C1_IP4" "${ZEP##*:}" 80)"
touch "$T/zw.resume"
wait_for 30 pid_gone "$zw_pid"
wait "$zw_pid"
check_eq "B: the client reads on: 10m.bin sha256-correct, no reset" "0 true" "$? $(jq -r .ok "$T/zw.json")" ||
	diag "$(cat "$T/zw.json" "$T/zw.log")"

# ---------------------------------------- C. unread data in the receive queue --

in_ns c1 $CLI pipe --host "$VIP4" --path "/rate/1m.bin?bps=200000" --put-path /shared/pipe.bin --put-size 262144 \
	--port-file "$T/pp.port" --out "$T/pp.json" >"$T/pp.log" 2>&1 &
pp_pid=$!
wait_for 5 test -s "$T/pp.port"
PEP=$(tr -d '\n' <"$T/pp.port")
wait_for 5 has_session ".client == \"$PEP\""
PX=$(holder "$PEP")
PY_=$(other "$PX")
rcvq() { in_ns "$PX" ss -Htn state established "( sport = :80 and dport = :${PEP##*:} )" | awk '{ print $1 }'; }
queued() { local q; q=$(rcvq); [ "${q:-0}" -ge 32768 ] && echo "$q" >"$T/pp.rq"; }
check "C: the pipelined requests and the PUT body wait unread in $PX's receive queue" wait_for 10 queued
check "C: the session moves $PX -> $PY_ in the middle of the slow response" move "$PX" "$PY_" "$PEP"
RQ=$(cat "$T/pp.rq" 2>/dev/null || echo 0)
diag "C: Recv-Q $RQ bytes shortly before the handoff (the rest of the PUT body waits in the client)"
check_le "C: the state carried the receive queue (state_bytes >= Recv-Q $RQ)" "$RQ" \
	"$(jq -r .state_bytes "$T/move.json")"
wait_for 20 pid_gone "$pp_pid"
wait "$pp_pid"
prc=$?
diag "C: $(jq -c '[.responses[] | {status, node, len}]' "$T/pp.json" 2>/dev/null || cat "$T/pp.log")"
check_eq "C: four answers in order: 200 1m.bin, 200 small.bin, 201 PUT, 200 /node" "0 200 200 201 200" \
	"$prc $(jq -r '[.responses[] | .status] | join(" ")' "$T/pp.json")"
check_eq "C: bodies exact; /node and the last three answers come from $PY_" \
	"$(want_sha 1m.bin) $(want_sha small.bin) $PY_ $PY_ $PY_ $PY_" \
	"$(jq -r '"\(.responses[0].sha) \(.responses[1].sha) \(.responses[1].node) \(.responses[2].node) \(.responses[3].node) \(.responses[3].body)"' "$T/pp.json")"
check_eq "C: /shared/pipe.bin holds exactly the uploaded bytes" "$(jq -r .put_sha "$T/pp.json")" \
	"$(sha "$LAB_DIR/shared/pipe.bin")"

# ------------------------------------------------- D. upload moved mid-body --

in_ns c1 $CLI upload --host "$VIP4" --put-path /shared/up.bin --put-size 2097152 --rate 524288 \
	--progress "$T/up.prog" --port-file "$T/up.port" --out "$T/up.json" >"$T/up.log" 2>&1 &
up_pid=$!
wait_for 5 test -s "$T/up.port"
UEP=$(tr -d '\n' <"$T/up.port")
wait_for 5 has_session ".client == \"$UEP\" and .upload != null"
UX=$(holder "$UEP")
umoves=0
cur=$UX
for k in 1 2 3; do
	sleep 0.6
	nx=$(other "$cur" "$([ $k = 2 ] && echo "$UX")")
	move "$cur" "$nx" "$UEP" && { umoves=$((umoves + 1)); cur=$nx; } ||
		diag "upload move $cur -> $nx: $(jq -c '{outcome, stage, error}' "$T/move.json")"
done
check_eq "D: the upload moved 3 times in the middle of its body" 3 "$umoves"
wait_for 20 pid_gone "$up_pid"
wait "$up_pid"
urc=$?
diag "D: $(jq -c 'del(.put_sha, .get_sha)' "$T/up.json" 2>/dev/null || cat "$T/up.log")"
check_eq "D: PUT answered by $cur (201), GET of it sha256-correct" "0 true $cur" \
	"$urc $(jq -r '"\(.ok) \(.put_node)"' "$T/up.json")"
check_eq "D: /shared/up.bin holds exactly the uploaded bytes" "$(jq -r .put_sha "$T/up.json")" "$(sha "$LAB_DIR/shared/up.bin")"

# ------------------------------------- E. the target dies mid-handoff --

OBJ=$T/ho_chandrop.o
clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -c "$TP/bpf/ho_chandrop.bpf.c" -o "$OBJ" 2>"$T/clang.log" ||
	{ fail "ho_chandrop.bpf.c builds" "$(cat "$T/clang.log")"; finish; }
port_of() { echo "p${1#n}"; }
cut_on() {	# cut_on NODE update|complete
	local p dir
	p=$(port_of "$1")
	dir=$([ "$2" = update ] && echo egress || echo ingress)
	in_ns sw tc qdisc show dev "$p" | grep -q clsact || in_ns sw tc qdisc add dev "$p" clsact
	in_ns sw tc filter add dev "$p" "$dir" pref 10 bpf da obj "$OBJ" sec "$2"
}
cut_off() {
	local p
	p=$(port_of "$1")
	in_ns sw tc filter del dev "$p" ingress pref 10 2>/dev/null
	in_ns sw tc filter del dev "$p" egress pref 10 2>/dev/null
}
latched() {	# latched NODE update|complete: the cut happened
	local p dir id m
	p=$(port_of "$1")
	dir=$([ "$2" = update ] && echo egress || echo ingress)
	id=$(in_ns sw tc -j filter show dev "$p" "$dir" | jq -r '[.[] | .options.prog.id // empty][0]')
	m=$(bpftool -j prog show id "$id" | jq -r '.map_ids[0]')
	[ "$(bpftool -j map dump id "$m" | jq -r '[.. | objects | select(has("latched")) | .latched][0]')" = 1 ]
}

# E1: COMPLETE cut, target killed after it re-pointed the switch.
# E1 and E2 download at 1 MB/s (10 s): the session must still be open when
# "holds the session" is asked, after a 1.5 s handoff timeout and a 1.5 s
# wait; at 3 MB/s a loaded host finished the download first.
in_ns c1 curl -sS -m 60 -w '%{http_code}\n' -o "$T/e1.bin" "http://$VIP4/rate/10m.bin?bps=1000000" >"$T/e1.w" 2>&1 &
e1_pid=$!
wait_for 5 has_session '.path == "/rate/10m.bin"'
read -r EX EEP < <(find_session '.path == "/rate/10m.bin"')
EY=$(other "$EX")
rb0=$(hstat "$EX" .rollbacks)
check "E1: COMPLETE cut on $EY's switch port" cut_on "$EY" complete
nctl "$EX" "{\"cmd\":\"handoff\",\"session\":\"$EEP\",\"to\":\"$EY\"}" >"$T/e1.json" &
ho_pid=$!
on_target() { [ "$(flow_node "$C1_IP4" "${EEP##*:}" 80)" = "$EY" ]; }
check "E1: $EY restored the session and re-pointed lbd's flow to itself" wait_for 5 on_target
check "E1: its COMPLETE was cut" latched "$EY" complete
kill -KILL "$(nasd_pid "$EY")"
wait "$ho_pid"
cut_off "$EY"
diag "E1 reply: $(jq -c '{outcome, stage, error, rolled_back, repointed_back, timings_us}' "$T/e1.json")"
check "E1: the handoff failed and rolled back, pointing the switch back" \
	jq -e '.ok == false and .rolled_back and .repointed_back' "$T/e1.json"
check_eq "E1: rollback counted on $EX" "$((rb0 + 1))" "$(hstat "$EX" .rollbacks)"
check_eq "E1: $EX holds the session" "$EX" "$(holder "$EEP")"
check_eq "E1: lbd's flow names $EX again" "$EX" "$(flow_node "$C1_IP4" "${EEP##*:}" 80)"
wait_for 20 pid_gone "$e1_pid"
wait "$e1_pid"
check_eq "E1: the download finishes on $EX: curl exit 0, 200, sha256-correct" "0 200 $(want_sha 10m.bin)" \
	"$? $(cat "$T/e1.w") $(sha "$T/e1.bin")"
check "E1: $EY's nasd restarts" nasd_start "$EY" handoff
check "channels up again" wait_for 15 chans_up

# E2: UPDATE cut, target stopped; after the rollback it continues
in_ns c1 curl -sS -m 60 -w '%{http_code}\n' -o "$T/e2.bin" "http://$VIP4/rate/10m.bin?bps=1000000" >"$T/e2.w" 2>&1 &
e2_pid=$!
wait_for 5 has_session '.path == "/rate/10m.bin"'
read -r FX FEP < <(find_session '.path == "/rate/10m.bin"')
FY=$(other "$FX")
rb0=$(hstat "$FX" .rollbacks)
check "E2: UPDATE cut on $FY's switch port" cut_on "$FY" update
nctl "$FX" "{\"cmd\":\"handoff\",\"session\":\"$FEP\",\"to\":\"$FY\"}" >"$T/e2.json" &
ho_pid=$!
check "E2: the UPDATE to $FY was cut ($FX has frozen the session)" wait_for 5 latched "$FY" update
kill -STOP "$(nasd_pid "$FY")"
at_exit "kill -CONT $(nasd_pid "$FY") 2>/dev/null"
wait "$ho_pid"
diag "E2 reply: $(jq -c '{outcome, stage, error, rolled_back, repointed_back, timings_us}' "$T/e2.json")"
check "E2: the handoff failed and rolled back" jq -e '.ok == false and .rolled_back' "$T/e2.json"
cut_off "$FY"
kill -CONT "$(nasd_pid "$FY")"
sleep 1.5	# the target reads the stale UPDATE and the FAIL behind it
check_eq "E2: after $FY continued, lbd's flow still names $FX" "$FX" "$(flow_node "$C1_IP4" "${FEP##*:}" 80)"
check_eq "E2: $FX holds the session" "$FX" "$(holder "$FEP")"
wait_for 20 pid_gone "$e2_pid"
wait "$e2_pid"
check_eq "E2: the download finishes on $FX: curl exit 0, 200, sha256-correct" "0 200 $(want_sha 10m.bin)" \
	"$? $(cat "$T/e2.w") $(sha "$T/e2.bin")"
diag "E2: $FY log: $(grep -E 'handoff_in(_failed)? txid=' "$LAB_DIR/$FY/nasd.log" | tail -n 3)"

for n in n1 n2 n3; do
	diag "$n handoff: $(hstat "$n" '| {out_ok, out_failed, rollbacks, in_ok, in_failed, reports, frozen_max_us}' | jq -c .)"
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
check "lbd still running" kill -0 "$(lbd_pid)"
finish
