#!/bin/bash
# t_bgp_kill: a switch of three behind the ECMP router dies under load;
# BFD takes it out of the router's route and every session it carried goes
# on through the other two, on its node, byte-exact.
#
#   c1 c2 c3 ---- [r] BIRD: ECMP over sw1 sw2 sw3, L4 hash, BFD 100 ms x 3
#                  |
#        [sw1]   [sw2]   [sw3]      lbd + BPF + BIRD each, the same config
#                  |
#   [r] .1 ---- n1 n2 n3            nginx :80; their gateway is r (DSR)
#
#   1. 90 downloads (1 MiB at 70 kB/s, ~15 s each; 30 from each client)
#      run through the three switches; each session is in exactly one
#      switch's table, every switch carries some;
#   2. the switch with the most sessions loses its links and is killed
#      (SIGKILL): it leaves the router's route within 1.5 s (BFD: 0.3 s
#      nominal, the hold time 3 s);
#   3. its sessions go on through the survivors: they pick them up
#      midstream (fwd_midstream grows by at least their number) and, since
#      every switch builds the same Maglev table, send each to the node it
#      was on; every entry the survivors hold for a session names the node
#      it had before;
#   4. every download completes: HTTP 200, no curl error (no reset), the
#      sha256 of 1m.bin.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_bgp.sh"

require_bgp
bgp_lab_up 3
members_up 1 2 3

# 1. Load.
N=90
D=$TEST_TMP/dl
dl_start "$D" $N
all_in() { [ "$(flows80 1 2 3 | wc -l)" -ge $N ]; }
check "all $N sessions are in the switches' tables" wait_for 20 all_in
flows80 1 2 3 >"$TEST_TMP/before"
check_eq "each session is in exactly one switch's table" 0 \
	"$(awk '{ print $1, $2 }' "$TEST_TMP/before" | sort | uniq -d | wc -l)"
read -r victim vn < <(awk '{ n[$4]++ } END { for (k in n) print k, n[k] }' "$TEST_TMP/before" | sort -k2,2nr | head -n 1)
for k in 1 2 3; do
	c=$(awk -v k=$k '$4 == k' "$TEST_TMP/before" | wc -l)
	check "sw$k carries some of the sessions ($c)" test "$c" -gt 0
done
surv=$(for k in 1 2 3; do [ "$k" = "$victim" ] || printf '%s ' "$k"; done)
declare -A mid0
for k in $surv; do mid0[$k]=$(mb_jctl "$k" stats | jq '.verdicts.fwd_midstream'); done

# 2. The switch with the most sessions dies.
left=$(for k in $surv; do mb_hop "$k"; done | sort | paste -sd' ')
t0=$(now_ms)
lab member-links "$victim" down
if wait_ms 3000 hops_are "$left"; then
	ms=$(($(now_ms) - t0))
	check_le "BFD: sw$victim ($vn sessions) leaves the router's route ${ms} ms after its links went down" "$ms" 1500
else
	fail "sw$victim leaves the router's route within 3 s" "hops: $(r_hops)"
fi
lab member-stop "$victim" hard

# 3. Its sessions go on through the survivors, on their nodes.
moved_in() {
	local mid=0 k
	for k in $surv; do
		mid=$((mid + $(mb_jctl "$k" stats | jq '.verdicts.fwd_midstream') - ${mid0[$k]}))
	done
	echo "$mid"
	[ "$mid" -ge "$vn" ]
}
if wait_for 10 moved_in; then
	ok "the survivors picked up sw$victim's sessions midstream (fwd_midstream +$(moved_in), >= $vn)"
else
	fail "the survivors pick up sw$victim's sessions midstream" "fwd_midstream +$(moved_in), want >= $vn"
fi
# Each session lands on a survivor with its client's next packet (an ACK
# of the data its node sends directly): wait until every one has, then
# compare.  fwd_midstream above may count other flows' packets too, so it
# does not say that every session has arrived yet.
after_all() {
	# shellcheck disable=SC2086
	flows80 $surv >"$TEST_TMP/after"
	flows_cmp "$TEST_TMP/before" "$TEST_TMP/after" >"$TEST_TMP/cmp"
	[ "$(cut -d' ' -f2 "$TEST_TMP/cmp")" = 0 ]
}
wait_for 10 after_all
read -r wrong missing <"$TEST_TMP/cmp"
check_eq "every survivor's entry for a session names the node it had before" 0 "$wrong"
check_eq "every session is in a survivor's table" 0 "$missing"

# 4. Every download completes byte-exact.
dl_finish "$D" $N
finish
