#!/bin/bash
# t_pair_repeat: 20 failovers in a row under load lose no session.
#
#   c1 c2 ---------- brc (client LAN) --------+
#                    |                        |
#             eth0 [swa] ==eth2 sync== [swb] eth0
#      prio 150, preempt: stopped and       takes over each time A stops,
#      restarted 10 times (3 of them hard)  hands back when A returns
#             eth1   |                   |   eth1
#                    +------ brs --------+
#                         n1 n2 n3
#
#   1. 40 long sessions (20 downloads, 20 request/response), ~70 s each;
#   2. 10 cycles, each two failovers: stop A (graceful, or hard: SIGKILL and
#      links cut, in cycles 3, 6 and 9) -> B master; start A -> A resyncs and
#      takes the master role back.  During each cycle 20 new short connections
#      (c2) run across the failover and must all succeed; after each failover
#      every long session is still running; sampled every 50 ms, A's lbd
#      is never master before its syncd is synced and every node is up;
#   3. every long session completes byte-exact, no reset; no flow was
#      re-hashed on either switch, and no long session was ever picked up
#      midstream (new connections racing a flip may be: see the end).
. "$(dirname "$0")/lib.sh"

require_pair
pair_up

SECS=70
if load_start "$TEST_TMP/l" 20 0 20 $SECS; then
	ok "40 long sessions established"
else
	fail "40 long sessions established" "$(tail -n 3 "$TEST_TMP"/l/py.*.log)"
	finish
fi

failovers=0 lost=0 burst_bad=0 slow="" mid="" running=40
# midpeek WHEN: if B picked up flows midstream since the last look, name
# them (A's later updates overwrite B's entries and their midstream flag)
# and c2's neighbour entry for the VIP
MIDSEEN=0
midpeek() {
	local m
	m=$(sw_jctl b stats | jq -r .verdicts.fwd_midstream)
	[ "$m" = "$MIDSEEN" ] && return 0
	MIDSEEN=$m
	diag "$1: B's fwd_midstream $m: $(sw_jctl b flows |
		jq -c '[.flows[] | select(.flags | index("midstream")) | del(.vip_name, .proto, .vip)]'); c2: $(in_ns c2 ip neigh show "$VIP4")"
}
t_start=$(now_ms)
watch_start a
for cycle in 1 2 3 4 5 6 7 8 9 10; do
	how=soft
	[ $((cycle % 3)) -ne 0 ] || how=hard
	in_ns c2 python3 "$PAIRLOAD" burst --host "$VIP4" --count 20 --conc 4 \
		>"$TEST_TMP/burst.$cycle" 2>&1 &
	bpid=$!
	t0=$(now_ms)
	if [ "$how" = hard ]; then
		watch_stopping "$TEST_TMP/stops" sw_stop a hard
	else
		watch_stopping "$TEST_TMP/stops" sw_stop a
	fi
	if wait_ms 10000 roles_are - master; then
		failovers=$((failovers + 1))
		d1=$(($(now_ms) - t0))
	else
		fail "cycle $cycle: B master after the $how stop of A" "b: '$(sw_role b)'"
		break
	fi
	midpeek "cycle $cycle ($how), B master"
	n=$(load_alive "$TEST_TMP/l")
	[ "$n" = "$running" ] || { lost=1; fail "cycle $cycle: sessions lost at A's $how stop" \
		"sessions still going: $running -> $n"; }
	running=$n
	[ "$how" = soft ] || sw_links a up
	t0=$(now_ms)
	if ! out=$(lab switch-start a 2>&1) || ! wait_for 30 roles_are master backup; then
		fail "cycle $cycle: A restarts and is master again" "$out" \
			"roles: '$(sw_role a)' '$(sw_role b)'"
		break
	fi
	failovers=$((failovers + 1))
	d2=$(($(now_ms) - t0))
	midpeek "cycle $cycle ($how), A master again"
	n=$(load_alive "$TEST_TMP/l")
	[ "$n" = "$running" ] || { lost=1; fail "cycle $cycle: sessions lost at A's return" \
		"sessions still going: $running -> $n"; }
	running=$n
	wait "$bpid"
	r=$(cat "$TEST_TMP/burst.$cycle")
	[ "$(jq -r .ok <<<"$r" 2>/dev/null)" = 20 ] || {
		burst_bad=$((burst_bad + 1))
		fail "cycle $cycle: 20 new connections across the failover succeed" "$r"
	}
	wait_for 10 sy_synced b || fail "cycle $cycle: B synced again" "$(sy_json b)"
	slow="$slow $how:${d1}/${d2}"
	midpeek "cycle $cycle ($how), end"
	mid="$mid $MIDSEEN"
done
diag "takeover/handback ms per cycle:$slow"
diag "B's fwd_midstream after each cycle:$mid"
watch_stop a
check_eq "A never master before synced with every node up, outside its stops (samples: T role synced ready rx peer nodes)" \
	"" "$(watch_unready a "$TEST_TMP/stops")"
check_eq "20 failovers done in $(($(now_ms) - t_start)) ms" 20 "$failovers"
check_eq "every long session was running after every failover" 0 "$lost"
check_eq "every burst of new connections across a failover succeeded" 0 "$burst_bad"

load_finish "$TEST_TMP/l" $((SECS + 60))
check_eq "all 40 long sessions complete byte-exact, no reset (longest stall ${LOAD_GAP} ms)" \
	"40 0" "$LOAD_OK $LOAD_BAD" || diag "$LOAD_FAILS"
# Midstream pickups.  The 40 long sessions were replicated long before any
# failover: neither switch may ever pick one up midstream (such an entry
# keeps its flag: no later update of the peer rewrites an old flow).  A new
# connection whose SYN reached the old master less than the replication
# delay (a fraction of a millisecond) before the client took the new
# master's GARP is picked up midstream by design: Maglev sends it to the
# same node, its burst must succeed (checked above), and the old master's
# replicated entry replaces the pickup's moments later.  Those are counted
# and bounded by the connections a flip can catch mid-handshake (burst
# concurrency 4 x 20 failovers).
verd() { sw_jctl "$1" stats | jq -r ".verdicts.$2"; }
# the long sessions' flow keys: client, client port, VIP port (downloads go
# to port 80, the others to PAIR_PORT; a burst connection to port 80 may
# reuse the client port of one of those)
awk -v c1="$C1_IP4" -v c2="$C2_IP4" -v pp="$PAIR_PORT" \
	'{ print ($3 == "c1" ? c1 : c2) " " $4 " " ($2 == "dl" ? 80 : pp) }' "$TEST_TMP/l/ready" |
	jq -R 'split(" ") | {c: .[0], p: (.[1] | tonumber), v: (.[2] | tonumber)}' |
	jq -s . >"$TEST_TMP/long.json"
longflows() {	# the long sessions' entries in switch $1's flow table
	sw_jctl "$1" flows --limit 100000 | jq -c --slurpfile l "$TEST_TMP/long.json" \
		'[.flows[] | select({c: .client, p: .client_port, v: .port} as $f | $l[0] | index($f))]'
}
for x in a b; do
	X=$(tr ab AB <<<"$x")
	check_eq "no flow re-hashed on $X (fwd_rehash_down)" 0 "$(verd "$x" fwd_rehash_down)"
	lf=$(longflows "$x")
	check_eq "$X's flow table holds the 40 long sessions" 40 "$(jq length <<<"$lf")"
	check_eq "no long session picked up midstream on $X" "[]" \
		"$(jq -c '[.[] | select(.flags | index("midstream"))]' <<<"$lf")"
	m=$(verd "$x" fwd_midstream)
	check_le "new connections picked up midstream on $X at a flip: $m, at most 80" "$m" 80
done
finish
