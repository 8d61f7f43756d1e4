#!/bin/bash
# t_bgp_add_sync: a fourth switch joins a replicating group of three under
# load after the node set changed: it pulls every member's flows before it
# announces, so the sessions the router moves to it are flow-table hits on
# their original nodes, not midstream pickups with its (new) table.
#
#   c1 c2 c3 ---- [r] BIRD: ECMP over the switches, L4 hash, BFD
#                  |
#        [sw1]   [sw2]   [sw3]   [sw4: joins]   lbd + BPF + BIRD + syncd;
#                  |                            one sync group of four
#   [r] .1 ---- n1 n2 n3            nginx :80, iperf3 :5201 (DSR)
#
#   1. sw1..sw3 up and in sync (sw4, listed in the group, silent: gone);
#      90 downloads (1 MiB at 50 kB/s, ~21 s each) running;
#   2. the busiest node leaves the port 80 table (its check fails; it stays
#      up for tcp/5201): the running sessions keep their entries;
#   3. sw4 starts: the router routes over four once sw4 announces; by then
#      sw4 holds every running session (resync from each member), each on
#      the node it began on;
#   4. the sessions the router moved to sw4 are hits: sw4 picked up none
#      midstream (fwd_midstream 0) and forwarded some (fwd_hit);
#   5. every download completes byte-exact, no error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_bgp.sh"

require_bgp
bgp_sync_lab_up 4
members_up 1 2 3
for k in 1 2 3; do
	check "sw$k: in sync with the two live members (sw4 silent: gone)" wait_for 10 mb_in_sync "$k"
done

# 1. Load.
N=90
D=$TEST_TMP/dl
dl_start "$D" $N 50000
all_in() { [ "$(flows80 1 | wc -l)" -ge $N ]; }
check "all $N sessions are in sw1's table (replicated)" wait_for 20 all_in
flows80 1 2 3 | awk '{ print $1, $2, $3 }' | sort -u >"$TEST_TMP/before"

# 2. The busiest node leaves the port 80 table.
read -r X _ < <(awk '{ n[$3]++ } END { for (k in n) print k, n[k] }' "$TEST_TMP/before" | sort -k2,2nr | head -n 1)
d0=$(mb_digests 1)
in_ns "$X" nft add table inet tdm_nocheck
in_ns "$X" nft add chain inet tdm_nocheck in '{ type filter hook input priority 0; }'
in_ns "$X" nft add rule inet tdm_nocheck in ip daddr "10.77.2.1${X#n}" tcp dport 80 drop
changed() { [ "$(mb_digests 1)" != "$d0" ]; }
check "$X leaves sw1's port 80 table" wait_for 15 changed

# 3. sw4 joins; it announces only once it holds the group's flows.
if ! out=$(lab member-start 4 2>&1); then
	fail "switch 4 starts (BIRD, lbd, syncd)" "$out"
	finish
fi
flows80 4 | awk '{ print $1, $2, $3 }' | sort -u >"$TEST_TMP/early"
diag "sw4 held $(wc -l <"$TEST_TMP/early") sessions right after its start"
all4() { hops_are "$(for k in 1 2 3 4; do mb_hop "$k"; done | paste -sd' ')"; }
check "the router routes the VIP over the four switches" wait_for 20 all4
flows80 4 | awk '{ print $1, $2, $3 }' | sort -u >"$TEST_TMP/on4"
flows_cmp "$TEST_TMP/before" "$TEST_TMP/on4" >"$TEST_TMP/cmp"
read -r wrong missing <"$TEST_TMP/cmp"
check_eq "sw4 announced holding every running session" 0 "$missing"
check_eq "... each on the node it began on" 0 "$wrong"
check_eq "sw4 built the same (new) Maglev tables as sw1" "$(mb_digests 1)" "$(mb_digests 4)"

# 4. What the router moved to sw4 are hits.
hit4() { mb_jctl 4 stats | jq '.verdicts.fwd_hit'; }
moved() { [ "$(hit4)" -gt 0 ]; }
check "sw4 forwards some of the running sessions (the router moved them)" wait_for 10 moved
check_eq "sw4 picked up no session midstream (it knew them all)" 0 \
	"$(mb_jctl 4 stats | jq '.verdicts.fwd_midstream')"

# 5. Every download completes byte-exact.
dl_finish "$D" $N
in_ns "$X" nft delete table inet tdm_nocheck
finish
