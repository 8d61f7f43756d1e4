#!/bin/bash
# t_dns_pairs: two active-active pairs publish into one name; clients by
# name spread over all four VIPs; a whole pair going down withdraws its
# records, the other pair's stay.
#
#                       dns (BIND 9: nas.tandem.test, rotated)
#                        |
#   c1 c2 ------------- brc (client LAN) ---------+---------+
#          [swa]==[swb]                      [swc]==[swd]
#          VIP4 VIP4B (pair 1)               VIP4C VIP4D (pair 2)
#            |      |                          |      |
#   n1 n2 n3 ------ brs (storage LAN: pair 1's nodes and gateway) --+
#
# The second pair has no nodes or storage gateway of its own (the smallest
# lab that shows it on this 2-CPU machine): it balances onto the same
# nodes, whose replies route through pair 1's storage gateway.
#   1. both pairs up: four records; 80 sessions by name (c1 and c2) reach
#      every VIP (at least 10 each), all answered;
#   2. pair 2 goes down (d, then c once c saw d gone): its two records are
#      withdrawn, pair 1's two stay; new sessions by name reach pair 1 only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_aa.sh"

require_aa
export LAB_PAIR2=1
aa_up
for x in c d; do
	if ! out=$(lab switch-start "$x" 2>&1); then
		fail "switch $x starts" "$out"
		finish
	fi
done
p2_roles() { [ "$(sw_group_role c p2a) $(sw_group_role c p2b) $(sw_group_role d p2a) $(sw_group_role d p2b)" = \
	"master backup backup master" ]; }
check "pair 2: c masters p2a ($VIP4C), d masters p2b ($VIP4D)" wait_for 20 p2_roles
all4="$VIP4 $VIP4B $VIP4C $VIP4D"
check "$DNS_NAME has the four VIPs of both pairs" wait_for 10 dns_is "$all4"

by_name() {	# by_name HOST N: N sessions by name, "VIP=COUNT ..." (and "fail=" for errors)
	local i
	for ((i = 0; i < $2; i++)); do
		in_ns "$1" curl -fsS -m 5 -o /dev/null -w '%{remote_ip}\n' "http://$DNS_NAME/node" || echo fail
	done
}
by_name c1 40 >"$TEST_TMP/spread.c1" &
p1=$!
by_name c2 40 >"$TEST_TMP/spread.c2"
wait "$p1"
cat "$TEST_TMP"/spread.c[12] >"$TEST_TMP/spread"
diag "80 sessions by name: $(sort "$TEST_TMP/spread" | uniq -c | tr '\n' ' ')"
check_eq "every session answered" 0 "$(grep -c fail "$TEST_TMP/spread")"
for v in $all4; do
	check "VIP $v got at least 10 of the 80 sessions" test "$(grep -cx "$v" "$TEST_TMP/spread")" -ge 10
done

# 2. Pair 2 down, gracefully: d first (c takes p2b), then c.
sw_stop d
check "c masters p2b too once d stopped" wait_for 10 test "$(sw_group_role c p2b)" = master
check "the four records stay while c holds both groups" dns_is "$all4"
c_alone() { [ "$(timeout 5 "$TANDEMCTL" -s "$LAB_DIR/sw-c/syncd.sock" --json status | jq .peer.alive)" = false ]; }
check "c's syncd sees d gone" wait_for 10 c_alone
t0=$(now_ms)
sw_stop c
if wait_ms 5000 dns_is "$VIP4 $VIP4B"; then
	ok "pair 2's records withdrawn $(($(now_ms) - t0)) ms after its last switch began to stop"
else
	fail "pair 2's records withdrawn" "dig: '$(dig_names)'" "$(tail -n 5 "$LAB_DIR/sw-c/lbd.log")"
fi
by_name c1 20 >"$TEST_TMP/after"
check_eq "20 new sessions by name all reach pair 1" "20" \
	"$(grep -cxE "$VIP4|$VIP4B" "$TEST_TMP/after")"
finish
