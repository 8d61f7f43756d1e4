#!/bin/bash
# t_pair_splitbrain: both switches become master when VRRP is cut; healing
# leaves one master (A), which announces itself by gratuitous ARP; no session
# is lost.
#
#   c1 (ARP sniffer)  c2
#     |               |
#   [hub: brc]--swa0--+--swb0--      client LAN   <- tc BPF novrrp on the
#     |      ^ novrrp    ^ novrrp                    ingress of the hub's
#   eth0 [swa] ==eth2 sync (intact)== [swb] eth0     switch ports: what each
#   eth1     |                          |   eth1     switch sends as VRRP
#   [hub: brs]--swa1--+--swb1--      storage LAN     (IP protocol 112,
#            ^ novrrp    ^ novrrp                    multicast) reaches no
#     n1 n2 n3                                       one; all else passes
#
#   1. 20 long sessions (10 downloads, 10 request/response) through A;
#   2. VRRP dropped on both LANs (client and storage VRRP instances are one
#      sync group; dropped where the switches' frames enter the hub bridges,
#      not on the switches' eth0: lbd's own tc program there decides first
#      and its pass ends classification): both become
#      master; B's gratuitous ARP moves c1's neighbour entry for the VIP to
#      B's MAC; new connections work and the long sessions go on (B holds
#      the synced flows);
#   3. heal: exactly one master, A; c1 receives a gratuitous ARP for the VIP
#      from A's eth0 MAC (raw socket capture) after the heal, c1's neighbour
#      entry for the VIP and n1's for the storage gateway point at A again;
#   4. every long session completes byte-exact.
. "$(dirname "$0")/lib.sh"

require_pair
require_cmd clang
pair_up
MAC_A=$(sw_mac a eth0) MAC_B=$(sw_mac b eth0) MAC_A1=$(sw_mac a eth1)
diag "eth0 MACs: A $MAC_A, B $MAC_B"

SECS=30
if load_start "$TEST_TMP/l" 10 0 10 $SECS; then
	ok "20 long sessions through A"
else
	fail "20 long sessions through A" "$(tail -n 3 "$TEST_TMP"/l/py.*.log)"
	finish
fi
# neigh_mac HOST ADDR: the MAC HOST's neighbour table holds for ADDR.
neigh_mac() {
	ip -n "tdm-$LAB_NAME-$1" -j neigh show "$2" | jq -r '.[0].lladdr // empty'
}
check_eq "c1's neighbour entry for the VIP is A's eth0 MAC" "$MAC_A" "$(neigh_mac c1 "$VIP4")"

# 2. Split brain.
ok_drop=1
for d in swa0 swa1 swb0 swb1; do
	drop_on hub "$d" novrrp || ok_drop=0
done
check_eq "novrrp BPF program on the hub's ports of both switches (both LANs)" 1 "$ok_drop"
t0=$(now_ms)
if wait_for 10 roles_are master master; then
	ok "split brain: both switches master ($(($(now_ms) - t0)) ms)"
else
	fail "split brain: both switches master" "roles: '$(sw_role a)' '$(sw_role b)'"
fi
is_mac() { [ "$(neigh_mac "$1" "$2")" = "$3" ]; }
check "B's gratuitous ARP: c1's neighbour entry for the VIP is B's MAC" \
	wait_for 5 is_mac c1 "$VIP4" "$MAC_B"
r=$(burst c2 50)
check_eq "50 new connections during the split brain" 50 "$(jq -r .ok <<<"$r")" || diag "$r"
check_eq "every long session still running" 20 "$(load_alive "$TEST_TMP/l")"
check "B is still synced with A (sync link intact)" sy_synced b

# 3. Heal, watching ARP on c1.
in_ns c1 python3 "$PAIRLOAD" sniff --dev eth0 --secs 60 --out "$TEST_TMP/arp" &
sniffer=$!
check "ARP capture on c1 ready" wait_for 5 grep -q '^ready' "$TEST_TMP/arp"
t_heal=$(now_ms)
for d in swa0 swa1 swb0 swb1; do
	drop_off hub "$d"
done
if wait_for 10 roles_are master backup; then
	ok "healed: A master, B backup ($(($(now_ms) - t_heal)) ms)"
else
	fail "healed: A master, B backup" "roles: '$(sw_role a)' '$(sw_role b)'"
fi
# a gratuitous ARP: sender IP = target IP = VIP, sender MAC = A's eth0
garp_seen() {
	awk -v t="$t_heal" -v m="$MAC_A" -v ip="$VIP4" \
		'$1 >= t && $3 == m && $4 == ip && $6 == ip { f = 1 } END { exit !f }' "$TEST_TMP/arp"
}
if wait_for 5 garp_seen; then
	ok "c1 received a gratuitous ARP for the VIP from A's MAC after the heal"
else
	fail "c1 received a gratuitous ARP for the VIP from A's MAC after the heal" \
		"$(tail -n 10 "$TEST_TMP/arp")"
fi
check "c1's neighbour entry for the VIP is A's MAC again" wait_for 5 is_mac c1 "$VIP4" "$MAC_A"
check "n1's neighbour entry for the storage gateway is A's eth1 MAC" \
	wait_for 5 is_mac n1 10.77.2.1 "$MAC_A1"
kill "$sniffer" 2>/dev/null
wait "$sniffer" 2>/dev/null
check_eq "still exactly one master" "master backup" "$(sw_role a) $(sw_role b)"
check_eq "every long session still running after the heal" 20 "$(load_alive "$TEST_TMP/l")"
r=$(burst c1 50)
check_eq "50 new connections after the heal" 50 "$(jq -r .ok <<<"$r")" || diag "$r"

# 4. Sessions.
load_finish "$TEST_TMP/l" $((SECS + 60))
check_eq "all 20 long sessions complete byte-exact, no reset (longest stall ${LOAD_GAP} ms)" \
	"20 0" "$LOAD_OK $LOAD_BAD" || diag "$LOAD_FAILS"
finish
