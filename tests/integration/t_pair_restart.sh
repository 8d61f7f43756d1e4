#!/bin/bash
# t_pair_restart: a restarted switch holds its peer's table before it can
# take the master role back.
#
#   c1 c2 ---------- brc (client LAN) --------+
#                    |                        |
#             eth0 [swa] ==eth2 sync== [swb] eth0
#     prio 150: stopped, restarted      master meanwhile (prio 100)
#             eth1   |                   |   eth1
#                    +------ brs --------+
#                         n1 n2 n3
#
#   1. 20 long sessions (10 downloads, 10 request/response) on A;
#   2. switch-stop a (graceful): B master; on B, 400 short connections and
#      10 more long sessions: B's table holds N >= 420 flows A never saw;
#   3. restart A while sampling A's lbd role and syncd status every 50 ms:
#      the first sample where A's lbd is master comes after the first one
#      where A's syncd is synced with rx.flows >= N, and no sample shows A
#      master while not synced or with a node not up in its lbd; A's table
#      then equals B's (same 5-tuples, same nodes);
#   4. every long session (those from A and those from B) completes
#      byte-exact across both role changes.
# t_pair_restart_v6 runs this file again over IPv6 (FAMILY=6, lib_pair.sh).
. "$(dirname "$0")/lib.sh"

require_pair
pair_up

# 1. Long sessions on A.
SECS=40
if load_start "$TEST_TMP/l" 10 0 10 $SECS; then
	ok "20 long sessions through A"
else
	fail "20 long sessions through A" "$(tail -n 3 "$TEST_TMP"/l/py.*.log)"
	finish
fi

# 2. A stops; B master; flows that only B has.
sw_stop a
check "B master after A's graceful stop" wait_for 10 roles_are - master
r1=$(burst c1 200) && r2=$(burst c2 200)
check_eq "400 short connections through B succeed" '200 200' \
	"$(jq -r .ok <<<"$r1") $(jq -r .ok <<<"$r2")" || diag "$r1" "$r2"
if load_start "$TEST_TMP/b" 5 0 5 30; then
	ok "10 more long sessions through B"
else
	fail "10 more long sessions through B" "$(tail -n 3 "$TEST_TMP"/b/py.*.log)"
fi
N=$(sw_jctl b status | jq -r .flows)
check_le "B's table holds the 430 flows (>= 420)" 420 "$N"

# 3. Restart A, sampling it every 50 ms.
poll_out=$TEST_TMP/watch.a
watch_start a
t0=$(now_ms)
if out=$(lab switch-start a 2>&1); then
	ok "switch a restarted"
else
	fail "switch a restarts" "$out"
fi
check "A master again, B backup" wait_for 30 roles_are master backup
wait_for 5 grep -q "^[0-9]* master " "$poll_out"
watch_stop a
# timeline lines: T ROLE SYNCED READY RX_FLOWS PEER_ALIVE NODES_UP/NODES_TOTAL
synced_t=$(awk -v n="$N" '$3 == 1 && $5 >= n { print $1; exit }' "$poll_out")
master_t=$(awk '$2 == "master" { print $1; exit }' "$poll_out")
first_t=$(awk '$2 != "-" { print $1; exit }' "$poll_out")
diag "timeline after the restart (ms): lbd answers +$((${first_t:-0} - t0)), synced with rx.flows >= $N +$((${synced_t:-0} - t0)), master +$((${master_t:-0} - t0)) ($(wc -l <"$poll_out") samples)"
if [ -n "$synced_t" ] && [ -n "$master_t" ] && [ "$synced_t" -le "$master_t" ]; then
	ok "A was synced (rx.flows >= $N) before it became master ($((master_t - synced_t)) ms before)"
else
	fail "A was synced (rx.flows >= $N) before it became master" \
		"synced at '${synced_t:-never}', master at '${master_t:-never}'" \
		"$(awk '$2 != "-"' "$poll_out" | head -n 40)"
fi
check_eq "no sample shows A master while not synced or with a node not up" "" \
	"$(watch_unready a)"
check_le "A's role samples every <= 200 ms around the takeover (sampling worked)" \
	"$(awk -v m="${master_t:-0}" 'p && $1 <= m + 1000 && $1 >= m - 1000 { d = $1 - p; if (d > x) x = d } { p = $1 } END { print x + 0 }' "$poll_out")" 200
tables_equal() { [ "$(sw_flows a | md5sum)" = "$(sw_flows b | md5sum)" ]; }
if wait_for 10 tables_equal; then
	ok "A's flow table equals B's ($(sw_flows a | wc -l) flows, same nodes)"
else
	fail "A's flow table equals B's" "$(diff <(sw_flows a) <(sw_flows b) | head -n 10)"
fi

# 4. The long sessions.
check_eq "the long sessions are still running after the failback" "20 10" \
	"$(load_alive "$TEST_TMP/l") $(load_alive "$TEST_TMP/b")"
load_finish "$TEST_TMP/l" $((SECS + 60))
check_eq "the 20 sessions started on A complete byte-exact (longest stall ${LOAD_GAP} ms)" \
	"20 0" "$LOAD_OK $LOAD_BAD" || diag "$LOAD_FAILS"
load_finish "$TEST_TMP/b" 60
check_eq "the 10 sessions started on B complete byte-exact" "10 0" "$LOAD_OK $LOAD_BAD" ||
	diag "$LOAD_FAILS"
finish
