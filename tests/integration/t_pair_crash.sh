#!/bin/bash
# t_pair_crash: the master switch dies hard; every session goes on through the
# backup, byte-exact; the failback keeps them too.
#
#   c1 c2 ---------- brc (client LAN) --------+            VIP 10.77.1.100
#                    |                        |
#             eth0 [swa] ==eth2 sync== [swb] eth0
#     prio 150 lbd+syncd+keepalived    lbd+syncd+keepalived prio 100
#             eth1   |                   |   eth1
#                    +------ brs --------+         storage LAN (gateway: VRRP)
#                         n1 n2 n3     nginx :80, pairload server :9000
#
#   1. 200 long sessions through the VIP, each on one TCP connection, ~45 s:
#      80 downloads (curl, /1m.bin rate-limited), 60 uploads (sha256 answered
#      by the node), 60 request/response (a request every 0.25 s, each answer
#      checked); B's flow table holds every session on its node before the
#      crash (synced);
#   2. switch-stop a hard (SIGKILL of every daemon, links cut): B becomes
#      master within 3 s; c1's neighbour entry for the VIP and n1's for the
#      storage gateway name B's MACs; every session is still running and the
#      downloads keep growing; 20 more long sessions start on B;
#   3. failback: A's links up, switch-start a: A resyncs from B (synced, its
#      table holds all 220 sessions) and takes the master role back, while
#      the sessions still run; sampled every 50 ms, A's lbd is never master
#      before its syncd is synced and its lbd has every node up;
#   4. every session completes: curl exit 0, HTTP 200s on one connection,
#      sha256 of every download and upload right, every answer right.
# t_pair_crash_v6 runs this file again over IPv6 (FAMILY=6, lib_pair.sh).
. "$(dirname "$0")/lib.sh"

require_pair
pair_up

# 1. Load.
SECS=45
if load_start "$TEST_TMP/l" 80 60 60 $SECS; then
	ok "200 long sessions established through the VIP (80 downloads, 60 uploads, 60 req/resp)"
else
	fail "200 long sessions established" "$(wc -l <"$TEST_TMP/l/ready") ready" \
		"$(tail -n 3 "$TEST_TMP"/l/py.*.log)"
	finish
fi
diag "sessions per node: $(awk '{ print $5 }' "$TEST_TMP/l/ready" | sort | uniq -c | tr '\n' ' ')"
all_on() { [ "$(load_flows_on "$1" "$2")" = "$(cat "$2/n")" ]; }
check "A's flow table holds every session on its node" wait_for 10 all_on a "$TEST_TMP/l"
if wait_for 10 all_on b "$TEST_TMP/l"; then
	ok "B's flow table (synced) holds every session on the same node"
else
	fail "B's flow table (synced) holds every session on the same node" \
		"$(load_flows_on b "$TEST_TMP/l" 2>&1)"
fi

# 2. Crash of A.
t0=$(now_ms)
sw_stop a hard
if wait_ms 5000 roles_are - master; then
	ok "B master $(($(now_ms) - t0)) ms after the hard stop of A"
else
	fail "B becomes master after the hard stop of A" "role of b: '$(sw_role b)'" \
		"$(tail -n 5 "$SWB_DIR/keepalived.log")"
fi
check_le "B took over within 3000 ms" $(($(now_ms) - t0)) 3000
# B announced the VIP and the storage gateway (gratuitous ARP, unsolicited
# NA over IPv6): the client and the nodes send to B's MACs now.
neigh_is() {
	[ "$(ip -n "tdm-$LAB_NAME-$1" -j neigh show "$2" dev eth0 | jq -r '.[0].lladdr // empty')" = "$3" ]
}
gw_var=SW_S_IP$FAMILY
check "c1's neighbour entry for the VIP $(pair_vip) is B's eth0 MAC" \
	wait_for 5 neigh_is c1 "$(pair_vip)" "$(sw_mac b eth0)"
check "n1's neighbour entry for the storage gateway ${!gw_var} is B's eth1 MAC" \
	wait_for 5 neigh_is n1 "${!gw_var}" "$(sw_mac b eth1)"
check_eq "every session still running after the takeover" 200 "$(load_alive "$TEST_TMP/l")"
dl_bytes() { cat "$TEST_TMP"/l/dl*.bin 2>/dev/null | wc -c; }
b0=$(dl_bytes)
grown() { [ "$(dl_bytes)" -ge $((b0 + 80 * 64 * 1024)) ]; }
check "downloads flow through B (80 x 64 KiB more)" wait_for 15 grown
if load_start "$TEST_TMP/b" 10 0 10 30; then
	ok "20 more long sessions established through B"
else
	fail "20 more long sessions established through B" "$(tail -n 3 "$TEST_TMP"/b/py.*.log)"
fi

# 3. Failback.
sw_links a up
watch_start a
t1=$(now_ms)
if out=$(lab switch-start a 2>&1); then
	ok "switch a restarted"
else
	fail "switch a restarts" "$out"
fi
if wait_for 30 roles_are master backup; then
	ok "A master again $(($(now_ms) - t1)) ms after its restart, B backup"
else
	fail "A master again, B backup" "roles: '$(sw_role a)' '$(sw_role b)'"
fi
watch_stop a
check_eq "A never master before synced with every node up (samples: T role synced ready rx peer nodes)" \
	"" "$(watch_unready a)"
check "A's syncd is synced with B" sy_synced a
check "A's flow table holds the first 200 sessions on their nodes" all_on a "$TEST_TMP/l"
check "A's flow table holds the 20 sessions B created" all_on a "$TEST_TMP/b"
check_eq "the first 200 sessions still running at the failback" 200 "$(load_alive "$TEST_TMP/l")"
check_eq "the 20 sessions started on B still running at the failback" 20 \
	"$(load_alive "$TEST_TMP/b")"

# 4. Every session completes right.
load_finish "$TEST_TMP/l" $((SECS + 60))
check_eq "all 200 first sessions complete byte-exact, no reset (longest stall ${LOAD_GAP} ms)" \
	"200 0" "$LOAD_OK $LOAD_BAD" || diag "$LOAD_FAILS"
load_finish "$TEST_TMP/b" 60
check_eq "all 20 sessions started on B complete byte-exact" "20 0" "$LOAD_OK $LOAD_BAD" ||
	diag "$LOAD_FAILS"
rehash() { sw_jctl "$1" stats | jq -r '.verdicts | "\(.fwd_rehash_down) \(.fwd_rehash_syn) \(.fwd_midstream)"'; }
check_eq "A re-hashed no flow (rehash_down rehash_syn midstream)" "0 0 0" "$(rehash a)"
check_eq "B re-hashed no flow (rehash_down rehash_syn midstream)" "0 0 0" "$(rehash b)"
check_eq "no flow event lost on A or B" "0 0" \
	"$(sy_get a .events.lost) $(sy_get b .events.lost)"
diag "B syncd: $(sy_json b | jq -c '{tx, rx, resyncs, lag_ms}')"
finish
