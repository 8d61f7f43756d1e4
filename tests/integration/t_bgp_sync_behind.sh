#!/bin/bash
# t_bgp_sync_behind: a switch whose replication is behind a member of its
# group never announces; it announces again once it is back in sync.
#
#   c1 c2 c3 ---- [r] BIRD: ECMP over the switches that announce, BFD
#                  |
#        [sw1]   [sw2]   [sw3]      lbd + BPF + BIRD + tandem-syncd each,
#          \       |       /        one sync group (full mesh) on the
#           +--- storage LAN ---+   storage LAN: 10.77.2.2 .3 .4
#                  |
#   [r] .1 ---- n1 n2 n3            nginx :80, iperf3 :5201 (DSR)
#
#   1. the three switches start; each syncd is in sync with both others,
#      the router routes over all three; 30 fetches through the VIP: every
#      switch holds every one of them (each switch sends its own flows to
#      every member);
#   2. the sync link between sw1 and sw2 is cut (nft in sw1, UDP 7405 only:
#      BGP and the clients' traffic go on): sw1 and sw2 each hear the other
#      through sw3's HELLOs ("heard by") but not directly, so both are
#      behind; both withdraw (the router routes over sw3 alone) and lbd
#      says why (bgp.reason: replication: behind ...); sw3 stays;
#   3. with the link still cut, sw1 restarts (lbd, syncd): it never
#      announces while behind (the router's route is watched until sw1's
#      syncd has declared sw2 silent and 3 s more);
#   4. the link comes back: sw1 and sw2 resync from each other and the
#      router routes over all three again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_bgp.sh"

require_bgp
sync_group_up

# 1. Every switch holds every flow, whichever switch saw its SYN.
fetch() { in_ns "$1" curl -sS -m 10 -o /dev/null -w '%{http_code}\n' "http://$VIP4/1m.bin"; }
codes=$(for i in $(seq 30); do fetch "c$((i % 3 + 1))"; done | sort | uniq -c | awk '{ print $1, $2 }' | paste -sd' ')
check_eq "30 fetches through the VIP answered 200" "30 200" "$codes"
has_all() {
	local k n
	for k in 1 2 3; do
		n=$(mb_flows "$k" | awk '$4 == 80' | wc -l)
		[ "$n" -ge 30 ] || return 1
	done
}
check "every switch holds all 30 flows (replicated to every member)" wait_for 10 has_all
for k in 1 2 3; do
	tx=$(mb_sync "$k" status | jq '[.members[] | select(.self | not) | .tx_flows] | min')
	diag "sw$k sent its own flows to each member: at least $tx per member"
done

# 2. Cut the sync link sw1 <-> sw2: both are behind, both withdraw.
sync_cut 1 2 on
if wait_for 15 hops_are "$(mb_hop 3)"; then
	ok "sw1 and sw2 withdraw: the router routes over sw3 alone"
else
	fail "sw1 and sw2 withdraw" "hops: $(r_hops)"
fi
for k in 1 2; do
	r=$(mb_reason "$k")
	check "sw$k says why: '$r'" grep -q '^replication: behind .*silent here, heard by' <<<"$r"
done
check_eq "sw3 still announces" ready "$(mb_reason 3)"

# 3. sw1 restarts while behind: it never announces.
lab member-stop 1 >/dev/null
out=$(lab member-start 1 2>&1) || fail "sw1 restarts" "$out"
seen=0
via1() { r_hops | grep -qw "$(mb_hop 1)"; }
behind_seen() {
	via1 && seen=1
	mb_sync 1 status | jq -e '.behind | test("heard by")' >/dev/null
}
# the sampler runs inside the waits: any route via sw1 meanwhile sets seen
check "sw1's new syncd finds itself behind sw2 (heard by sw3, silent to it)" wait_for 20 behind_seen
end=$(($(now_ms) + 3000))
while [ "$(now_ms)" -lt "$end" ]; do
	via1 && seen=1
	sleep 0.1
done
check_eq "sw1 never announced while behind (the router never routed via it)" 0 "$seen"
check "sw1's lbd says replication is behind" grep -q '^replication: behind' <<<"$(mb_reason 1)"

# 4. The link comes back: both resync, all three announce.
sync_cut 1 2 off
if wait_for 20 hops_are "$(for k in 1 2 3; do mb_hop "$k"; done | paste -sd' ')"; then
	ok "the link is back: the router routes over all three again"
else
	fail "all three announce again" "hops: $(r_hops); sw1: $(mb_reason 1); sw2: $(mb_reason 2)"
fi
for k in 1 2 3; do
	check "sw$k is in sync with both other members" wait_for 10 mb_in_sync "$k"
done
check "sw1 holds every flow again (resync from sw2 and sw3)" wait_for 10 has_all
finish
