#!/bin/bash
# t_tch_handoff: live TCP sessions move between storage nodes (libtch:
# TCP_REPAIR freeze/dump/restore + the flow drop), unmodified clients.
#
#   c1 (IPv4), c2 (IPv6): tch_client, a plain TCP client streaming a
#     |                   checksummed byte sequence to VIP:5201 and checking
#    brc                  the echo byte for byte
#     |
#   eth0 [sw: lbd] br1 --- p1 --- eth0 n1 ]  tch_demo on each node (iperf3
#                      |-- p2 --- eth0 n2 ]  stopped): echo server on
#                      +-- p3 --- eth0 n3 ]  VIP:5201 built on libtch, flow
#                                           drop (tc BPF) on eth0 ingress,
#   node <-> node: the session's state over   peers on 10.77.2.1x:7700; the
#   TCP between storage addresses; the new     new node re-points the flow
#   node re-points the switch (lbd control     (lbd control socket)
#   socket, migrate of the 5-tuple)
#
#  1. an IPv4 session lands on node X; 100 handoffs X <-> Y back and forth
#     (20 ms of streaming between them), then 1000 more (10 ms apart), on
#     the same connection, the client streaming throughout;
#  2. the client stops reading: its window closes, the server's send queue
#     holds unsent bytes, the server's 32 KiB echo buffer fills and unread
#     bytes wait in its receive queue; 10 handoffs in that state carry all
#     of it (checked in the handoff log), then the client reads again;
#  3. rollback: the new node refuses the restore; dies on receiving the
#     state; dies after re-pointing the switch (before resuming); was killed
#     (SIGKILL) with the old node's channel to it still open.  Each time the
#     old node keeps (thaws) the session, the switch points at it, the
#     client goes on; the new node is restarted and 20 more handoffs succeed;
#  4. an IPv6 session from c2: 100 handoffs;
#  5. both clients finish: every byte came back in order, no reset, the
#     server's byte count and FNV hash (application state carried through
#     every handoff) equal the client's;
#  6. freeze -> resume latency (p50/p99, and its parts) is printed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_tch.sh"

tch_lab_up
at_exit 'kill $(cat $TEST_TMP/c4.pid $TEST_TMP/c6.pid 2>/dev/null) 2>/dev/null'

# ------------------------------------------------ 1. IPv4 back and forth --

client_start c4 c1 "$VIP4:$PORT" 1 || {
	fail "IPv4 client connects" "$(cat "$TEST_TMP/c4.out")"
	finish
}
P4=$(cstat c4 .port)
has_flow() { [ -n "$(flow_node "$1" "$2" "$PORT")" ]; }
wait_for 5 has_flow "$C1_IP4" "$P4"
X=$(flow_node "$C1_IP4" "$P4" "$PORT")
for Y in n1 n2 n3; do [ "$Y" = "$X" ] || break; done
check_eq "client c1:$P4 -> VIP:$PORT lands on $X, which holds the session" "$P4" \
	"$(session_of "$X" "$P4" .client_port)"
check "the echo streams" progressing c4 200000

pingpong c4 "$X" "$Y" 100 20 1 60
check "the echo streams after 100 handoffs" progressing c4 200000
pingpong c4 "$X" "$Y" 1000 10 2 120
check "the echo streams after 1000 more handoffs" progressing c4 200000
diag "client c1 so far: $(cat "$TEST_TMP/c4.status")"

# --------------------------------- 2. zero window, queues and app buffer full --

diag "client stops reading at $(date -u +%T.%3N)"
kill -USR1 "$(cat "$TEST_TMP/c4.pid")"
# blocked: the echo buffer full, unsent bytes, unread bytes, and no echo
# progress over 300 ms (the client's window really is closed).
# shellcheck disable=SC2317
blocked() {
	local a b
	a=$(dctl "$X" sessions | jq -c --argjson p "$P4" '.sessions[] | select(.client_port == $p)')
	sleep 0.3
	b=$(dctl "$X" sessions | jq -c --argjson p "$P4" '.sessions[] | select(.client_port == $p)')
	[ "$(jq .pending <<<"$b")" = 32768 ] && [ "$(jq .unsent <<<"$b")" -gt 0 ] &&
		[ "$(jq .inq <<<"$b")" -gt 0 ] && [ "$(jq .reading <<<"$b")" = false ] &&
		[ "$(jq .out <<<"$a")" = "$(jq .out <<<"$b")" ]
}
if check "client stops reading: on $X the send queue holds unsent bytes, the echo buffer is full, unread bytes wait" \
	wait_for 20 blocked; then
	diag "session on $X: $(dctl "$X" sessions | jq -c '.sessions[0]')"
fi
pingpong c4 "$X" "$Y" 10 50 3 30
full=$(grep -h "handoff ok run=3 " "$TEST_TMP"/n[123].log |
	awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	       if (v["unsent"] > 0 && v["recvq"] > 0 && v["app"] > 32000) n++ } END { print n + 0 }')
check_eq "all 10 handoffs carried unsent bytes, a receive queue and a full echo buffer" 10 "$full"
diag "$(grep -h "handoff ok run=3 " "$TEST_TMP"/n[123].log | head -n 1 | sed 's/.*\(bytes=.*\)/zero-window handoff: \1/')"
diag "client reads again at $(date -u +%T.%3N)"
kill -USR2 "$(cat "$TEST_TMP/c4.pid")"
# shellcheck disable=SC2317
caught_up() { [ "$(cstat c4 .recv)" -ge "$1" ] && [ "$(cstat c4 .error)" = "" ]; }
check "client reads again: everything it sent before comes back" wait_for 20 caught_up "$(cstat c4 .sent)"

# ------------------------------------------------------------ 3. rollback --

# rollback_case RUN INJECT WHAT: the next handoff X -> Y fails on Y's side.
rollback_case() {
	local run=$1 inject=$2 what=$3 rb
	rb=$(dstat "$X" .rollbacks)
	[ "$inject" = kill ] || dctl "$Y" inject "$inject" >/dev/null
	dctl "$X" handoff "$Y" 1 0 "$run" "$P4" >/dev/null
	if wait_for 10 run_failed "$run" && [ "$(dstat "$X" .rollbacks)" = $((rb + 1)) ]; then
		ok "rollback ($what): $X keeps the session"
	else
		fail "rollback ($what): $X keeps the session" "$(grep -h "run=$run\|run $run" "$TEST_TMP"/n[123].log)"
	fi
	diag "$(grep -h "rollback run=$run " "$TEST_TMP/$X.log" | sed 's/^[0-9:.]* tch_demo: //')"
	check_eq "rollback ($what): lbd sends the flow to $X" "$X" "$(flow_node "$C1_IP4" "$P4" "$PORT")"
	check "rollback ($what): the echo streams" progressing c4 200000
}

rollback_case 4 fail-restore "restore refused on $Y"
rollback_case 5 die-on-state "$Y dies on receiving the state"
check "$Y is gone" wait_for 5 pid_gone "$(demo_pid "$Y")"
demo_start "$Y"
rollback_case 6 die-after-repoint "$Y dies after re-pointing the switch, before resuming"
check "$Y is gone" wait_for 5 pid_gone "$(demo_pid "$Y")"
demo_start "$Y"
check "$Y back: the tcp/$PORT tables have 3 nodes" wait_for 15 svc_up
# Two hops open the node-to-node channels to the new $Y, then it is killed.
pingpong c4 "$X" "$Y" 2 20 7 30
kill -KILL "$(demo_pid "$Y")"
check "$Y killed" wait_for 5 pid_gone "$(demo_pid "$Y")"
rollback_case 8 kill "$Y killed (SIGKILL), $X's channel to it stale"
demo_start "$Y"
check "$Y back: the tcp/$PORT tables have 3 nodes" wait_for 15 svc_up
pingpong c4 "$X" "$Y" 20 20 9 30
check_eq "rollbacks: exactly the 4 cases" 4 "$(($(dstat n1 .rollbacks) + $(dstat n2 .rollbacks) + $(dstat n3 .rollbacks)))"

# ------------------------------------------------------------- 4. IPv6 --

client_start c6 c2 "[$VIP6]:$PORT" 6 || fail "IPv6 client connects" "$(cat "$TEST_TMP/c6.out")"
P6=$(cstat c6 .port)
wait_for 5 has_flow "$C2_IP6" "$P6"
X6=$(flow_node "$C2_IP6" "$P6" "$PORT")
for Y6 in n3 n2 n1; do [ "$Y6" = "$X6" ] || break; done
check "IPv6 session c2:$P6 on $X6 streams" progressing c6 200000
pingpong c6 "$X6" "$Y6" 100 10 10 60
check "the IPv6 echo streams after 100 handoffs" progressing c6 200000

# ----------------------------------------------------------- 5. the end --

# A handoff costs the client a retransmission or two (a chain of them with
# backed-off timers when handoffs follow each other faster than its
# retransmission timeout on a loaded machine); a wedged session (state that
# does not match what the client saw) never recovers.
finish_client c4 "$P4" 10000
finish_client c6 "$P6" 10000
# The clients' TCP: how they recovered from what the handoffs dropped.
# (PAWS drops: a segment the old node sent just before the freeze, overtaken
# by the new node's first ones - rare, on a loaded machine; the egress drop
# keeps a frozen socket from adding any.)
for h in c1 c2; do
	in_ns "$h" nstat -az >"$TEST_TMP/nstat.$h" 2>/dev/null
	ctr() { awk -v n="$1" '$1 == n { print $2 }' "$TEST_TMP/nstat.$h"; }
	diag "$h TCP: $(ctr TcpExtTCPTimeouts) RTO timeouts, $(ctr TcpExtTCPLossProbes) loss probes, $(ctr TcpRetransSegs) retransmitted segments, $(ctr TcpExtTCPSACKReneging) SACK renegings, $(ctr TcpExtPAWSEstab) PAWS drops"
done
errs=$(grep -h "recv error\|send error\|socket kept\|refused" "$TEST_TMP"/n[123].log |
	grep -v "refused (run 4)\|refused: restore: bind 192.0.2.1" | head -n 5)
check_eq "no session errors in the servers' logs (beyond the injected ones)" "" "$errs"
din=0 dout=0
for n in n1 n2 n3; do
	din=$((din + $(dstat "$n" .dropped_in)))
	dout=$((dout + $(dstat "$n" .dropped_out)))
done
diag "flow drop: $din packets in, $dout out dropped during handoffs (all nodes, since their last start)"

# ------------------------------------------------------------ 6. latency --

grep -h "handoff ok " "$TEST_TMP"/n[123].log >"$TEST_TMP/hops"
field() { grep -o " $1=[0-9]*" "$TEST_TMP/hops" | cut -d= -f2 | sort -n >"$TEST_TMP/f.$1"; }
for f in total_us freeze_us send_us restore_us repoint_us resume_us; do field "$f"; done
awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
       print v["freeze_us"] + v["restore_us"] + v["resume_us"] }' "$TEST_TMP/hops" | sort -n >"$TEST_TMP/f.kernel"
n=$(wc -l <"$TEST_TMP/f.total_us")
diag "freeze -> resume over $n handoffs: p50 $(pct "$TEST_TMP/f.total_us" 50) us, p99 $(pct "$TEST_TMP/f.total_us" 99) us, max $(pct "$TEST_TMP/f.total_us" 100) us"
diag "  parts (p50/p99 us): freeze $(pct "$TEST_TMP/f.freeze_us" 50)/$(pct "$TEST_TMP/f.freeze_us" 99), state to the peer $(pct "$TEST_TMP/f.send_us" 50)/$(pct "$TEST_TMP/f.send_us" 99), restore $(pct "$TEST_TMP/f.restore_us" 50)/$(pct "$TEST_TMP/f.restore_us" 99), re-point via lbd $(pct "$TEST_TMP/f.repoint_us" 50)/$(pct "$TEST_TMP/f.repoint_us" 99), resume $(pct "$TEST_TMP/f.resume_us" 50)/$(pct "$TEST_TMP/f.resume_us" 99)"
diag "  kernel work (freeze + restore + resume): p50 $(pct "$TEST_TMP/f.kernel" 50) us, p99 $(pct "$TEST_TMP/f.kernel" 99) us"
check_le "freeze -> resume p50 (us)" "$(pct "$TEST_TMP/f.total_us" 50)" 5000

finish
