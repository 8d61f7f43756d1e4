#!/bin/bash
# t_udp_failover: a UDP session through the VIP survives a hard crash of the
# master switch: the backup holds its flow (replicated by tandem-syncd), so
# the same node keeps answering, and only the datagrams in flight during the
# takeover are lost.
#
#   c1 ------------- brc (client LAN) --------+            VIP 10.77.1.100
#                    |                        |
#             eth0 [swa] ==eth2 sync== [swb] eth0
#     prio 150 lbd+syncd+keepalived    lbd+syncd+keepalived prio 100
#             eth1   |                   |   eth1           (both: v4 udp/53
#                    +------ brs --------+                   with the DNS probe)
#                         n1 n2 n3   dnsmasq :53 (lib_dns.sh)
#
#   1. both switches check udp/53 by its probe (every node ok on A and B);
#      the session: tests/tools/udpsession.py in c1, one socket (one flow)
#      sending a DNS query for node.tandem.test TXT every 20 ms (50/s) for
#      RATE x SECS queries, each answered by the node with its name; A's and
#      B's flow tables both hold the flow on the node that answers;
#   2. switch-stop a hard (SIGKILL of its daemons, links cut) at T0, while
#      queries go on; B becomes master (its lbd told so) at T1, observed by
#      polling every 20 ms;
#   3. the session ends: every answer, before and after the crash, came from
#      the same node; queries were answered after the takeover; B forwarded
#      the session by the replicated flow (its fwd_new counter did not move,
#      fwd_hit did, no re-hash);
#   4. loss: the queries that got no answer are counted (udpsession's log)
#      and bounded: every one of them was sent within [T0 - 100 ms,
#      T1 + SLACK], i.e. in flight while no switch forwarded (A's links cut,
#      B not master yet, or the client's ARP entry for the VIP not yet moved
#      by B's gratuitous ARP), and there are at most RATE x (T1 - T0 + SLACK)
#      of them.  SLACK = 1000 ms covers the gratuitous ARP and a query's
#      round trip on a loaded machine; T1 is late by up to a poll (tandemctl
#      + jq), which only loosens the bound.  Nothing before or after that
#      window is lost.
# t_udp_failover_v6 runs this file again over IPv6 (FAMILY=6, lib_pair.sh):
# the session goes from c1's v6 address to the v6 VIP's udp/53, and B's
# unsolicited neighbour advertisement moves c1's entry for the VIP.
. "$(dirname "$0")/lib.sh"
. "$REPO/tests/integration/lib_dns.sh"

require_pair
require_cmd dnsmasq dig
RATE=50
SECS=20
SLACK=1000

pair_lab_up
for x in a b; do
	dns_conf_add "$LAB_DIR/sw-$x/tandem.json" "v$FAMILY"
done
VIP=$(pair_vip)
dns_start_all
pair_switches_up

# 1. Health by probe on both switches, then the session.
udp_ok() {
	sw_jctl "$1" nodes | jq -e '[.nodes[].health[] | select(.service == "udp/53") |
		.ok and .check == "probe"] | length == 3 and all' >/dev/null
}
check "A checks udp/53 on every node by its probe, all ok" wait_for 10 udp_ok a
check "B checks udp/53 on every node by its probe, all ok" wait_for 10 udp_ok b
verdicts() { sw_jctl "$1" stats | jq -r '.verdicts | "\(.fwd_new) \(.fwd_hit) \(.fwd_rehash_down)"'; }

ip netns exec "$NS_C1" python3 "$REPO/tests/tools/udpsession.py" --server "$VIP" --port 53 \
	--rate "$RATE" --secs "$SECS" --ready "$TEST_TMP/sess.ready" --log "$TEST_TMP/sess.log" \
	>"$TEST_TMP/sess.json" 2>"$TEST_TMP/sess.err" </dev/null &
sess=$!
at_exit "kill $sess"
if ! wait_for 10 test -s "$TEST_TMP/sess.ready"; then
	fail "the UDP session gets its first answer" "$(cat "$TEST_TMP/sess.err")"
	finish
fi
read -r port node <"$TEST_TMP/sess.ready"
ok "UDP session c1:$port -> $VIP port 53 answered by $node"
flow_on() { [ "$(sw_flows "$1" | awk -v c="$(pair_client_ip c1)" -v p="$port" \
	'$1 == c && $2 == p && $4 == 53 && $5 == "udp" { print $6 }')" = "$node" ]; }
check "A's flow table holds the session on $node" wait_for 5 flow_on a
check "B's flow table (synced) holds the session on $node" wait_for 10 flow_on b
read -r b_new0 b_hit0 b_down0 < <(verdicts b)
sleep 2	# a stretch of the session before the crash

# 2. Crash of A.
t0=$(now_ms)
sw_stop a hard
if wait_ms 5000 roles_are - master; then
	t1=$(now_ms)
	ok "B master $((t1 - t0)) ms after the hard stop of A began"
else
	t1=$(now_ms)
	fail "B becomes master after the hard stop of A" "role of b: '$(sw_role b)'"
fi

# 3. The session runs to its end.
wait_for $((SECS + 30)) pid_gone "$sess"
wait "$sess"
check "the session ended normally" test -s "$TEST_TMP/sess.json" || diag "$(cat "$TEST_TMP/sess.err")"
sj=$(cat "$TEST_TMP/sess.json")
diag "session: $sj"
check_eq "queries sent" $((RATE * SECS)) "$(jq -r .sent <<<"$sj")"
check_eq "every answer came from $node" "[\"$node\"]" "$(jq -c '.nodes | keys' <<<"$sj")"
after=$(awk -v t="$t1" '$2 > t && $3 != "-"' "$TEST_TMP/sess.log" | wc -l)
check "queries sent after the takeover were answered ($after)" test "$after" -ge $((RATE * 3))
read -r b_new b_hit b_down < <(verdicts b)
diag "B verdicts fwd_new fwd_hit fwd_rehash_down: before $b_new0 $b_hit0 $b_down0, after $b_new $b_hit $b_down"
check_eq "B created no flow for the session (it had the replicated one)" "$b_new0" "$b_new"
check "B forwarded the session by that flow (fwd_hit +$((b_hit - b_hit0)))" test "$b_hit" -gt "$b_hit0"
check_eq "B re-hashed nothing" "$b_down0" "$b_down"

# 4. Loss: only what was in flight during the takeover.
lost=$(jq -r .lost <<<"$sj")
max_lost=$((RATE * (t1 - t0 + SLACK) / 1000))
diag "lost $lost of $(jq -r .sent <<<"$sj") queries; takeover window $((t1 - t0)) ms (+${SLACK} ms slack)"
check_le "queries lost at most RATE x (T1 - T0 + SLACK)" "$lost" "$max_lost"
outside=$(awk -v lo=$((t0 - 100)) -v hi=$((t1 + SLACK)) '$3 == "-" && ($2 < lo || $2 > hi)' "$TEST_TMP/sess.log")
check_eq "no query lost outside [T0 - 100 ms, T1 + ${SLACK} ms]" "" "$outside"
before=$(awk -v t="$t0" '$2 < t - 100 && $3 != "-"' "$TEST_TMP/sess.log" | wc -l)
diag "answered before the crash: $before, after the takeover: $after, late: $(jq -r .late <<<"$sj"), longest gap $(jq -r .max_gap_ms <<<"$sj") ms"
finish
