#!/bin/bash
# t_pair_loss: the flow tables converge over a lossy sync link, and the
# failover that follows keeps every session.
#
#   c1 c2 ---------- brc (client LAN) --------+
#                    |                        |
#             eth0 [swa]                    [swb] eth0
#                  eth2 ==== sync link ==== eth2
#                   ^ tc BPF drop20           ^ tc BPF drop20: ~20 % of the
#                                               UDP datagrams, each way
#             eth1   |                        |   eth1
#                    +--------- brs ----------+
#                         n1 n2 n3
#
#   1. 20 long sessions (10 downloads, 10 request/response) through A;
#   2. ~20 % loss on the sync link (tests/tools/bpf/pair_drop.bpf.c, section
#      drop20, on both eth2 ingress); 500 short connections through A;
#   3. within 10 s after the load stops, A's and B's flow tables hold the
#      same 5-tuples with the same nodes (tandemctl flows), and syncd shows
#      the repair: A retransmitted and B sent NACKs;
#   4. A dies hard (loss still on): B takes over and every long session
#      completes byte-exact.
. "$(dirname "$0")/lib.sh"

require_pair
require_cmd clang
pair_up

SECS=40
if load_start "$TEST_TMP/l" 10 0 10 $SECS; then
	ok "20 long sessions through A"
else
	fail "20 long sessions through A" "$(tail -n 3 "$TEST_TMP"/l/py.*.log)"
	finish
fi

# 2. Loss, and load.
if drop_on swa eth2 drop20 && drop_on swb eth2 drop20; then
	ok "drop20 BPF program on the sync link (both eth2 ingress)"
else
	fail "drop20 BPF program on the sync link (both eth2 ingress)"
	finish
fi
rtx0=$(sy_get a .tx.retransmits) nack0=$(sy_get b .rx.nacks_sent)
in_ns c1 python3 "$PAIRLOAD" burst --host "$VIP4" --count 250 --conc 20 >"$TEST_TMP/burst.c1" 2>&1 &
p1=$!
in_ns c2 python3 "$PAIRLOAD" burst --host "$VIP4" --count 250 --conc 20 >"$TEST_TMP/burst.c2" 2>&1 &
p2=$!
wait "$p1" "$p2"
t_load=$(now_ms)
check_eq "500 short connections through A succeed" "250 250" \
	"$(jq -r .ok "$TEST_TMP/burst.c1") $(jq -r .ok "$TEST_TMP/burst.c2")" ||
	diag "$(cat "$TEST_TMP"/burst.c*)"
na=$(sw_jctl a status | jq -r .flows)
check_le "A's table holds the 520 flows (>= 520)" 520 "$na"

# 3. Convergence.
tables_equal() { [ "$(sw_flows a | md5sum)" = "$(sw_flows b | md5sum)" ]; }
if wait_for 10 tables_equal; then
	ok "A's and B's tables are equal $(($(now_ms) - t_load)) ms after the load ($(sw_flows b | wc -l) flows, same nodes)"
else
	fail "A's and B's tables are equal within 10 s after the load" \
		"$(diff <(sw_flows a) <(sw_flows b) | head -n 10)" \
		"A: $(sy_json a | jq -c '{tx, rx, resyncs}')" "B: $(sy_json b | jq -c '{tx, rx, resyncs}')"
fi
rtx=$(($(sy_get a .tx.retransmits) - rtx0)) nack=$(($(sy_get b .rx.nacks_sent) - nack0))
diag "repair under loss: A retransmits +$rtx, B nacks sent +$nack, A nacks received $(sy_get a .tx.nacks_rx), resyncs sent by A $(sy_get a .resyncs.sent)"
check "A retransmitted under loss" test "$rtx" -gt 0
check "B sent NACKs under loss" test "$nack" -gt 0
check_eq "no flow event lost, no unknown node on B" "0 0" \
	"$(sy_get a .events.lost) $(sy_get b .rx.unknown_node)"

# 4. Failover with the loss still on.
check_eq "every long session still running" 20 "$(load_alive "$TEST_TMP/l")"
t0=$(now_ms)
sw_stop a hard
if wait_ms 5000 roles_are - master; then
	ok "B master $(($(now_ms) - t0)) ms after the hard stop of A"
else
	fail "B becomes master after the hard stop of A" "role of b: '$(sw_role b)'"
fi
r=$(burst c1 50)
check_eq "50 new connections through B" 50 "$(jq -r .ok <<<"$r")" || diag "$r"
load_finish "$TEST_TMP/l" $((SECS + 60))
check_eq "all 20 long sessions complete byte-exact, no reset (longest stall ${LOAD_GAP} ms)" \
	"20 0" "$LOAD_OK $LOAD_BAD" || diag "$LOAD_FAILS"
check_eq "B re-hashed no flow and picked none up midstream" "0 0" \
	"$(sw_jctl b stats | jq -r '.verdicts | "\(.fwd_rehash_down) \(.fwd_midstream)"')"
finish
