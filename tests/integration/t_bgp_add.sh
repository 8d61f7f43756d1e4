#!/bin/bash
# t_bgp_add: a fourth switch joins a group of three under load, touching
# none of them: the router adds it to the VIP's ECMP route, the sessions
# the router moves to it go on (it picks them up midstream and, with the
# same Maglev table, sends each to its node), new sessions spread over four.
#
#   c1 c2 c3 ---- [r] BIRD: ECMP over the switches, L4 hash, BFD
#                  |
#        [sw1]   [sw2]   [sw3]   [sw4: joins]   lbd + BPF + BIRD each
#                  |
#   [r] .1 ---- n1 n2 n3            nginx :80; their gateway is r (DSR)
#
#   1. sw1..sw3 up, 90 downloads (1 MiB at 70 kB/s, ~15 s each) running;
#   2. sw4 starts (BIRD, lbd): the router routes the VIP over four within
#      10 s; sw4 built the same Maglev table as sw1;
#   3. sw4 picks up running sessions midstream (the router's hash moved
#      them), each on the node it had;
#   4. every download completes byte-exact, no error;
#   5. 200 new sessions: every one of the four switches gets some.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_bgp.sh"

require_bgp
bgp_lab_up 4
members_up 1 2 3
diag "sw4's namespace is there, silent"
H1=$(mb_hop 1) H2=$(mb_hop 2) H3=$(mb_hop 3) H4=$(mb_hop 4)

# 1. Load.
N=90
D=$TEST_TMP/dl
dl_start "$D" $N
all_in() { [ "$(flows80 1 2 3 | wc -l)" -ge $N ]; }
check "all $N sessions are in the three switches' tables" wait_for 20 all_in
flows80 1 2 3 >"$TEST_TMP/before"

# 2. sw4 joins.
mid4() { mb_jctl 4 stats | jq '.verdicts.fwd_midstream'; }
if ! out=$(lab member-start 4 2>&1); then
	fail "switch 4 starts (BIRD, lbd)" "$out"
	finish
fi
check "the router routes the VIP over the four switches" wait_for 10 hops_are "$H1 $H2 $H3 $H4"
check_eq "sw4 built the same Maglev table as sw1" "$(mb_digests 1)" "$(mb_digests 4)"

# 3. Sessions the router moved to sw4 go on there, on their nodes.
moved() { [ "$(flows80 4 | wc -l)" -gt 0 ]; }
check "sw4 carries some of the running sessions (moved to it by the router)" wait_for 10 moved
flows80 4 >"$TEST_TMP/on4"
check "sw4 picked them up midstream (fwd_midstream $(mid4))" test "$(mid4)" -gt 0
awk 'NR == FNR { node[$1 " " $2] = $3; next }
	{ k = $1 " " $2; if (!(k in node)) nf++; else if (node[k] != $3) bad++ }
	END { print nf + 0, bad + 0 }' "$TEST_TMP/before" "$TEST_TMP/on4" >"$TEST_TMP/cmp"
read -r notold wrong <"$TEST_TMP/cmp"
diag "sw4 holds $(wc -l <"$TEST_TMP/on4") of the running sessions"
check_eq "every session sw4 holds is one of the running ones" 0 "$notold"
check_eq "... on the node it had before" 0 "$wrong"

# 4. Every download completes byte-exact.
dl_finish "$D" $N

# 5. New sessions spread over four.
declare -A new0
for k in 1 2 3 4; do new0[$k]=$(mb_jctl "$k" stats | jq '.verdicts.fwd_new'); done
SESSION_HOSTS="c1 c2 c3" sessions "$TEST_TMP/s" 200 "http://$VIP4"
read -r _ _ _ tf < <(tally "$TEST_TMP/s")
check_eq "200 new sessions complete" 0 "$tf"
sum=0
for k in 1 2 3 4; do
	d=$(($(mb_jctl "$k" stats | jq '.verdicts.fwd_new') - ${new0[$k]}))
	check "sw$k got some of the new sessions (fwd_new +$d)" test "$d" -gt 0
	sum=$((sum + d))
done
check_eq "the switches' new flows add up to the sessions sent" 200 "$sum"
finish
