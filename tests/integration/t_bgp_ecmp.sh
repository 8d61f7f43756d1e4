#!/bin/bash
# t_bgp_ecmp: three switches behind an ECMP router, each announcing the VIP
# by BGP (BIRD) only while its lbd can serve it.
#
#   c1 c2 c3 ---- brc (10.77.3.0/24) ---- eth0 [r] BIRD AS 65000: ECMP over
#                                          eth1  |  the switches, L4 hash, BFD
#              +-------------- brx (10.77.5.0/24) ---------+
#           [sw1] .11            [sw2] .12             [sw3] .13
#           lbd + BPF + BIRD AS 65001 each (the same config but the router id)
#              +-------------- brs (10.77.2.0/24) ---------+---- eth2 [r] .1
#                         n1 n2 n3 (nginx :80)                  (the nodes' gateway)
#
#   1. sw1 and sw2 start; sw3 runs BIRD only: its BGP session comes up but it
#      never announces the VIP (sampled 3 s); then its lbd starts but cannot
#      reach a node (its health checks dropped): it still never announces;
#      its checks pass, but its config has a "sync" section and tandem-syncd
#      is not running: replication is not in sync, it never announces; its
#      syncd starts (alone: ready after peer_dead_ms): it announces, and the
#      router has 3 next hops;
#      every switch's Maglev table is the same (by its digest);
#   2. 300 sessions from c1, c2, c3 (a 1 MiB download each): every one
#      completes byte-exact (sha256); every switch carries some (fwd_new);
#      the switches' fwd_new add up to exactly 300 and every session is in
#      exactly one switch's flow table, on the node that served it;
#      the operator withdraws sw3 (tandemctl withdraw): it leaves the
#      router's next hops, status says so; announce: it is back;
#   3. lbd of sw2 stops (BIRD stays up, its session too): the VIP leaves
#      the router's next hops within 3 s;
#   4. sw1's links are cut: BFD (100 ms x 3) takes it out of the router's
#      ECMP route within 1.5 s (BFD: 0.3 s; the BGP hold time is 3 s; the
#      margin is for a loaded host).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_bgp.sh"

require_bgp
bgp_lab_up 3
H1=$(mb_hop 1) H2=$(mb_hop 2) H3=$(mb_hop 3)

# 1. Announce only when ready.
for k in 1 2; do
	if ! out=$(lab member-start $k 2>&1); then
		fail "switch $k starts (BIRD, lbd)" "$out"
		finish
	fi
done
check "switch 3 starts BIRD only" lab member-start 3 bird
all_established() { for k in 1 2 3; do [ "$(r_session $k)" = Established ] || return 1; done; }
check "the router's BGP sessions with all three switches are Established" wait_for 30 all_established
check "the router routes the VIP over sw1 and sw2 ($(r_hops))" wait_for 15 hops_are "$H1 $H2"
never_sw3() {
	local i
	for i in $(seq 30); do
		[[ " $(r_hops) " != *" $H3 "* ]] || return 1
		sleep 0.1
	done
}
check "sw3 (BIRD up, no lbd) never announces the VIP (3 s)" never_sw3
# sw3 also has a "sync" section (its peer is nobody here): its lbd must
# hear tandem-syncd say "ready" before it announces anything.
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TEST_TMP/sync.key")
jq --arg k "$TEST_TMP/sync.key" --arg s "$LAB_DIR/sw-3/syncd.sock" \
	'.sync = { switch_id: 3, local: "10.77.5.13", peer: "10.77.5.99", key_file: $k,
		   control_socket: $s, peer_dead_ms: 1500 }' "$LAB_DIR/sw-3/tandem.json" >"$TEST_TMP/sw3.json" &&
	cp "$TEST_TMP/sw3.json" "$LAB_DIR/sw-3/tandem.json"
# sw3's lbd cannot reach the nodes: its own health checks are dropped (the
# data plane's redirects bypass netfilter, lbd's connects do not)
in_ns sw3 nft -f - <<NFT
table inet tdmtest {
	chain out {
		type filter hook output priority 0;
		ip daddr 10.77.2.0/24 tcp dport 80 drop
	}
}
NFT
check "switch 3's lbd starts" lab member-start 3 lbd
sw3_reason() { mb_jctl 3 status | jq -r '.bgp.reason'; }
sw3_reason_has() { [[ "$(sw3_reason)" == *"$1"* ]]; }
check "sw3's lbd says a service of the VIP has no node" wait_for 10 sw3_reason_has "has no node"
diag "sw3's reason: $(sw3_reason)"
check "sw3 (lbd without a node) never announces the VIP (3 s)" never_sw3
check_eq "sw3's lbd reports the VIP not announced" false \
	"$(mb_jctl 3 status | jq -r '.bgp.vips[0].announced')"
in_ns sw3 nft delete table inet tdmtest
check "sw3's lbd: its nodes answer, but tandem-syncd does not" \
	wait_for 10 sw3_reason_has "replication: tandem-syncd does not answer"
diag "sw3's reason: $(sw3_reason)"
check "sw3 (replication not in sync) never announces the VIP (3 s)" never_sw3
in_ns sw3 "$TANDEM_BUILD/tandem-syncd" -c "$LAB_DIR/sw-3/tandem.json" >"$LAB_DIR/sw-3/syncd.log" 2>&1 &
check "sw3 announces once its syncd is ready (alone after 1.5 s): 3 next hops" \
	wait_for 10 hops_are "$H1 $H2 $H3"
check_eq "sw3's lbd reports the VIP announced" true "$(mb_jctl 3 status | jq -r '.bgp.vips[0].announced')"

# The same config, the same Maglev tables: a new flow gets the same node
# whichever switch sees its SYN.
d1=$(mb_digests 1)
check "sw1's Maglev table has a digest ($d1)" test -n "${d1#80:0000000000000000}"
check_eq "sw2 built the same Maglev table as sw1" "$d1" "$(mb_digests 2)"
check_eq "sw3 built the same Maglev table as sw1" "$d1" "$(mb_digests 3)"

# 2. 300 sessions over three switches.
declare -A new0
for k in 1 2 3; do new0[$k]=$(mb_fwd_new $k); done
SESSION_HOSTS="c1 c2 c3" sessions "$TEST_TMP/s" 300 "http://$VIP4" /1m.bin
read -r t1 t2 t3 tf < <(tally "$TEST_TMP/s")
check_eq "300 sessions from c1, c2, c3 complete (n1 $t1, n2 $t2, n3 $t3)" 0 "$tf"
[ "$tf" = 0 ] || diag "$(sessions_fail_lines "$TEST_TMP/s")"
want=$(awk '$2 == "1m.bin" { print $1 }' "$LAB_WWW/SHA256SUMS")
bad=0
for ((i = 0; i < 300; i++)); do
	[ "$(sha256sum <"$TEST_TMP/s/$i.bin" 2>/dev/null | cut -d' ' -f1)" = "$want" ] || bad=$((bad + 1))
done
check_eq "every download is byte-exact (sha256 of 1m.bin)" 0 "$bad"
sum=0
for k in 1 2 3; do
	d=$(($(mb_fwd_new $k) - ${new0[$k]}))
	check "sw$k carried some of the sessions (fwd_new +$d)" test "$d" -gt 0
	sum=$((sum + d))
done
check_eq "the switches' new flows add up to the sessions sent" 300 "$sum"
flows80 1 2 3 >"$TEST_TMP/flows"
awk -v c1="$C1_IP4" -v c2="$C2_IP4" -v c3="$C3_IP4" '
	NR == FNR { n[$1 " " $2]++; node[$1 " " $2] = $3; next }
	$5 == "ok" { ip = ($2 == "c1" ? c1 : $2 == "c2" ? c2 : c3); key = ip " " $4
		if (n[key] != 1) bad++; else if (node[key] != $3) wrong++ }
	END { print bad + 0, wrong + 0 }' "$TEST_TMP/flows" "$TEST_TMP/s/summary" >"$TEST_TMP/where"
read -r notone wrongnode <"$TEST_TMP/where"
check_eq "every session is in exactly one switch's flow table" 0 "$notone"
check_eq "... on the node that served it" 0 "$wrongnode"

# Drain by the operator: tandemctl withdraw, then announce.
sw3_state() { mb_jctl 3 status | jq -r '.bgp.neighbors[0].state'; }
check_eq "sw3's lbd shows its BGP session with the router" Established "$(sw3_state)"
check "tandemctl withdraw on sw3" timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-3/lbd.sock" withdraw
check "... the router drops sw3 from the VIP's next hops" wait_for 3 hops_are "$H1 $H2"
st=$(timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-3/lbd.sock" status)
check "... tandemctl status says so (withdrawn by the operator, route withdrawn, peer Established)" \
	grep -q "bgp route    v4   $VIP4 *withdrawn" <<<"$st"
diag "$(grep '^bgp' <<<"$st")"
check "tandemctl announce on sw3: back in the router's next hops" sh -c \
	"timeout 10 '$TANDEMCTL' -s '$LAB_DIR/sw-3/lbd.sock' announce >/dev/null"
check "... 3 next hops again" wait_for 3 hops_are "$H1 $H2 $H3"

# 3. lbd stops: withdrawn, while BIRD and its session stay up.
p=$(cat "$LAB_DIR/sw-2/lbd.pid")
kill -TERM "$p"
check "sw2's lbd stops: the router drops it from the VIP's next hops" wait_for 3 hops_are "$H1 $H3"
check_eq "... while its BGP session stays Established" Established "$(r_session 2)"
check "sw2's lbd logged the withdrawal" grep -q 'bgp_withdraw vip=v4 .*reason="lbd stops"' "$LAB_DIR/sw-2/lbd.log"

# 4. BFD: a switch whose links are cut leaves the route within 1.5 s (0.3 s
# nominal; the hold time, 3 s, would take longer).
t0=$(now_ms)
lab member-links 1 down
if wait_ms 3000 hops_are "$H3"; then
	ms=$(($(now_ms) - t0))
	check_le "BFD: sw1 leaves the router's route ${ms} ms after its links went down" "$ms" 1500
else
	fail "sw1 leaves the router's route within 3 s of its links going down" "hops: $(r_hops)"
fi
lab member-stop 1 hard
finish
