#!/bin/bash
# t_pair_active: an active-active pair behind round-robin DNS.  Both
# switches forward at once; switch A dies hard under load, B takes both VIP
# groups and keeps every session of both; A comes back, pulls B's table,
# takes its group back, and again nothing is lost.
#
#                    dns (BIND 9: nas.tandem.test -> VIP4, VIP4B, rotated)
#                     |
#   c1 c2 ---------- brc (client LAN) --------+      VIP4 10.77.1.100: group g1
#                    |                        |      VIP4B 10.77.1.101: group g2
#             eth0 [swa] ==eth2 sync== [swb] eth0
#   g1 prio 150, g2 50                   g1 prio 50, g2 100
#             eth1   |                   |   eth1
#                    +------ brs --------+   storage LAN (gateway: with g1)
#                         n1 n2 n3     nginx :80, pairload server :9000
#
#   1. 200 long sessions (~45 s each, one TCP connection each) opened BY
#      NAME from c1 and c2: 80 downloads, 60 uploads, 60 request/response.
#      Each VIP gets 35-65 % of them; both switches forward (counters);
#      each switch's table holds every session (replication both ways);
#   2. switch-stop a hard: B masters g1 too within 3 s, every session of
#      both VIPs still runs, downloads keep flowing (the replies now route
#      through B: the storage gateway moved with g1), both records stay;
#   3. A restarts: it pulls B's table (synced, every session in it) before
#      it masters anything (sampled every 50 ms), then takes g1 back; B
#      keeps g2; the downloads flow on (replies through A again);
#   4. every session completes byte-exact, no reset, no re-hash, no lost
#      flow event.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_aa.sh"

require_aa
aa_up

# 1. Load by name.
SECS=45
if LOAD_HOST=$DNS_NAME load_start "$TEST_TMP/l" 80 60 60 $SECS; then
	ok "200 long sessions opened by name ($DNS_NAME) from c1 and c2"
else
	fail "200 long sessions opened by name" "$(wc -l <"$TEST_TMP/l/ready") ready" \
		"$(tail -n 3 "$TEST_TMP"/l/py.*.log)"
	finish
fi
all_on() { [ "$(load_flows_on "$1" "$2")" = "$(cat "$2/n")" ]; }
check "A's flow table holds every session on its node" wait_for 10 all_on a "$TEST_TMP/l"
check "B's flow table holds every session on its node" wait_for 10 all_on b "$TEST_TMP/l"
vips=$(load_vips a "$TEST_TMP/l")
diag "sessions per VIP: $(echo "$vips" | tr '\n' ' ')"
n1=$(awk -v v="$VIP4" '$1 == v { print $2 }' <<<"$vips")
n2=$(awk -v v="$VIP4B" '$1 == v { print $2 }' <<<"$vips")
check_eq "every session went to one of the two VIPs" 200 $((${n1:-0} + ${n2:-0}))
check_range() { [ "${2:-0}" -ge 70 ] && [ "${2:-0}" -le 130 ]; }
check "VIP4 got 35-65 % of the sessions (${n1:-0})" check_range VIP4 "$n1"
check "VIP4B got 35-65 % of the sessions (${n2:-0})" check_range VIP4B "$n2"
fa=$(fwd_count a) fb=$(fwd_count b)
sleep 2
check "switch A forwards (packets $fa -> $(fwd_count a))" test "$(fwd_count a)" -gt $((fa + 200))
check "switch B forwards (packets $fb -> $(fwd_count b))" test "$(fwd_count b)" -gt $((fb + 200))

# 2. Crash of A.
dl_bytes() { cat "$TEST_TMP"/l/dl*.bin 2>/dev/null | wc -c; }
t0=$(now_ms)
sw_stop a hard
if wait_ms 5000 groups_are b master master; then
	ok "B masters both groups $(($(now_ms) - t0)) ms after the hard stop of A"
else
	fail "B masters both groups after the hard stop of A" \
		"b: $(sw_group_role b g1) $(sw_group_role b g2)" "$(tail -n 5 "$SWB_DIR/keepalived.log")"
fi
check_le "B took over within 3000 ms" $(($(now_ms) - t0)) 3000
check_eq "every session still running after the takeover" 200 "$(load_alive "$TEST_TMP/l")"
b0=$(dl_bytes)
grown() { [ "$(dl_bytes)" -ge $((b0 + 80 * 64 * 1024)) ]; }
check "downloads of both VIPs flow through B (80 x 64 KiB more)" wait_for 15 grown
check "$DNS_NAME still has both VIPs (B publishes VIP4 now)" wait_for 3 dns_is "$VIP4 $VIP4B"

# 3. A comes back.
sw_links a up
watch_start a
t1=$(now_ms)
if out=$(lab switch-start a 2>&1); then
	ok "switch a restarted"
else
	fail "switch a restarts" "$out"
fi
if wait_for 30 groups_are a master backup && wait_for 10 groups_are b backup master; then
	ok "A masters g1 again $(($(now_ms) - t1)) ms after its restart, B keeps g2"
else
	fail "A masters g1 again, B keeps g2" "a: $(sw_group_role a g1) $(sw_group_role a g2)" \
		"b: $(sw_group_role b g1) $(sw_group_role b g2)"
fi
watch_stop a
check_eq "A never master before synced with every node up (samples: T role synced ready rx peer nodes)" \
	"" "$(watch_unready a)"
check "A's syncd is synced with B" sy_synced a
check "A's flow table holds all 200 sessions on their nodes" all_on a "$TEST_TMP/l"
check_eq "every session still running after the failback" 200 "$(load_alive "$TEST_TMP/l")"
b0=$(dl_bytes)
check "downloads flow after the failback (80 x 64 KiB more)" wait_for 15 grown
check "$DNS_NAME has both VIPs" wait_for 3 dns_is "$VIP4 $VIP4B"

# 4. Every session completes right.
load_finish "$TEST_TMP/l" $((SECS + 60))
check_eq "all 200 sessions complete byte-exact, no reset (longest stall ${LOAD_GAP} ms)" \
	"200 0" "$LOAD_OK $LOAD_BAD" || diag "$LOAD_FAILS"
rehash() { sw_jctl "$1" stats | jq -r '.verdicts | "\(.fwd_rehash_down) \(.fwd_rehash_syn) \(.fwd_midstream)"'; }
check_eq "A re-hashed no flow (rehash_down rehash_syn midstream)" "0 0 0" "$(rehash a)"
check_eq "B re-hashed no flow (rehash_down rehash_syn midstream)" "0 0 0" "$(rehash b)"
check_eq "no flow event lost on A or B" "0 0" "$(sy_get a .events.lost) $(sy_get b .events.lost)"
diag "A syncd: $(sy_json a | jq -c '{tx: .tx.flows, rx: .rx.flows, resyncs}')"
diag "B syncd: $(sy_json b | jq -c '{tx: .tx.flows, rx: .rx.flows, resyncs}')"
finish
