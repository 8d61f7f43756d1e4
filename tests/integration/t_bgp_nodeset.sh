#!/bin/bash
# t_bgp_nodeset: the node set changes (a node leaves the port 80 table),
# then a switch dies: every session that began before the change still
# reaches its original node through the survivors, because the group
# replicated its flow to them (their new Maglev tables would send some of
# those sessions elsewhere).
#
#   c1 c2 c3 ---- [r] BIRD: ECMP over sw1 sw2 sw3, L4 hash, BFD 100 ms x 3
#                  |
#        [sw1]   [sw2]   [sw3]      lbd + BPF + BIRD + tandem-syncd each;
#                  |                one sync group on the storage LAN
#   [r] .1 ---- n1 n2 n3            nginx :80, iperf3 :5201; gateway r (DSR)
#
#   1. 90 downloads (1 MiB at 50 kB/s, ~21 s each; 30 from each client)
#      through the three switches: every switch creates some (fwd_new) and
#      every switch holds every session, each copy naming the same node;
#   2. the node with the most sessions (X) fails its port 80 check (nft in
#      X drops the checks to its own address; its VIP traffic goes on; its
#      tcp/5201 check passes, so X stays up): on every switch the port 80
#      table changes (table_digest), the same on all three;
#   3. the switch that created the most sessions loses its links and is
#      killed: it leaves the router's route (BFD); every entry the
#      survivors hold for a session still names the node it began on (X's
#      sessions too: X is out of the table, not down);
#   4. every download completes: HTTP 200, no curl error (no reset), the
#      sha256 of 1m.bin.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_bgp.sh"

require_bgp
sync_group_up

# 1. Load.
N=90
D=$TEST_TMP/dl
declare -A new0
for k in 1 2 3; do new0[$k]=$(mb_fwd_new "$k"); done
dl_start "$D" $N 50000
sessions() { flows80 1 2 3 | awk '{ print $1, $2, $3 }' | sort -u; }
all_everywhere() {
	local k
	for k in 1 2 3; do [ "$(flows80 "$k" | wc -l)" -ge $N ] || return 1; done
}
check "every switch holds all $N sessions" wait_for 20 all_everywhere
sessions >"$TEST_TMP/before"
check_eq "every copy of a session names the same node" 0 \
	"$(awk '{ print $1, $2 }' "$TEST_TMP/before" | sort | uniq -d | wc -l)"
victim=0 most=-1
for k in 1 2 3; do
	c=$(($(mb_fwd_new "$k") - ${new0[$k]}))
	check "sw$k created some of the sessions (fwd_new +$c)" test "$c" -gt 0
	if [ "$c" -gt "$most" ]; then victim=$k most=$c; fi
done
read -r X xn < <(awk '{ n[$3]++ } END { for (k in n) print k, n[k] }' "$TEST_TMP/before" | sort -k2,2nr | head -n 1)
diag "node $X carries $xn sessions; sw$victim created the most ($most)"

# 2. X leaves the port 80 table (its check fails), everywhere alike.
d0=$(mb_digests 1)
xip=10.77.2.1${X#n}
in_ns "$X" nft -f - <<NFT
table inet tdm_nocheck {
	chain in { type filter hook input priority 0; ip daddr $xip tcp dport 80 drop; }
}
NFT
changed() {
	local k d
	d=$(mb_digests 1)
	[ "$d" != "$d0" ] || return 1
	for k in 2 3; do [ "$(mb_digests "$k")" = "$d" ] || return 1; done
}
check "$X leaves the port 80 table on all three switches (the same new table)" wait_for 15 changed
out=$(mb_jctl 1 nodes | jq -r --arg x "$X" '.nodes[] | select(.name == $x) | .state')
check_eq "$X itself stays up (tcp/5201 passes)" up "$out"

# 3. The switch that created the most sessions dies.
surv=$(for k in 1 2 3; do [ "$k" = "$victim" ] || printf '%s ' "$k"; done)
left=$(for k in $surv; do mb_hop "$k"; done | sort | paste -sd' ')
t0=$(now_ms)
lab member-links "$victim" down
if wait_ms 3000 hops_are "$left"; then
	check_le "sw$victim leaves the router's route (BFD)" "$(($(now_ms) - t0))" 1500
else
	fail "sw$victim leaves the router's route within 3 s" "hops: $(r_hops)"
fi
lab member-stop "$victim" hard
sleep_until=$(($(now_ms) + 2000))	# let the moved sessions send a few packets
while [ "$(now_ms)" -lt "$sleep_until" ]; do sleep 0.2; done
# shellcheck disable=SC2086
flows80 $surv | awk '{ print $1, $2, $3 }' | sort -u >"$TEST_TMP/after"
flows_cmp "$TEST_TMP/before" "$TEST_TMP/after" >"$TEST_TMP/cmp"
read -r wrong missing <"$TEST_TMP/cmp"
check_eq "every survivor's entry for a session names the node it began on" 0 "$wrong"
check_eq "every session is in the survivors' tables" 0 "$missing"

# 4. Every download completes byte-exact, on its node.
dl_finish "$D" $N
in_ns "$X" nft delete table inet tdm_nocheck
finish
