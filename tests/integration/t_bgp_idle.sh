#!/bin/bash
# t_bgp_idle: idle flows expire in a scale-out group, which has no VRRP
# master to do it: each switch expires the flows its own data plane
# forwarded and tells the other members (DEL); a member's copy of a live
# session never expires by its own clock.
#
#   c1 c2 c3 ---- [r] BIRD, ECMP over sw1 sw2 sw3 (one sync group, full
#                 mesh, sync.idle_timeout_s 4: LAB_IDLE_S)
#                  |
#   [r] .1 ---- n1 n2 n3            nginx :80 (DSR)
#
#   1. three paced downloads (one per client, ~35 s each) and 30 short
#      fetches through the VIP: every switch holds all 33 flows;
#   2. the 30 short ones, done at once, are gone from every switch within
#      idle_timeout_s and a sweep (their switches expired them: syncd's
#      events.expired), while the three downloads' flows stay on all three
#      switches, the same node everywhere, though the copies got no packet
#      for longer than idle_timeout_s;
#   3. the downloads complete byte-exact, without an error; then their
#      flows are gone from every switch too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_bgp.sh"

require_bgp
export LAB_IDLE_S=4
sync_group_up

# port80 K: switch K's flows to port 80 ("client port node" lines, sorted)
port80() { mb_flows "$1" | awk '$4 == 80 { print $1, $2, $6 }'; }
every_has() {	# every_has N: each switch holds exactly N flows to port 80
	local k
	for k in 1 2 3; do [ "$(port80 "$k" | wc -l)" = "$1" ] || return 1; done
}
at_least() {	# at_least N: each switch holds N or more
	local k
	for k in 1 2 3; do [ "$(port80 "$k" | wc -l)" -ge "$1" ] || return 1; done
}

# 1. Three long downloads, 30 short fetches.
dl_start "$TEST_TMP/dl" 3 30000	# 1 MiB at 30 kB/s: ~35 s
fetch() { in_ns "$1" curl -sS -m 10 -o /dev/null -w '%{http_code}\n' "http://$VIP4/1m.bin"; }
codes=$(for i in $(seq 30); do fetch "c$((i % 3 + 1))"; done | sort | uniq -c | awk '{ print $1, $2 }' | paste -sd' ')
check_eq "30 short fetches through the VIP answered 200" "30 200" "$codes"
check "every switch holds the 33 flows (its own and the members' copies)" wait_for 10 at_least 33
e0=$(for k in 1 2 3; do mb_sync "$k" status | jq '.events.expired'; done | awk '{ n += $1 } END { print n + 0 }')

# 2. The short ones expire everywhere, the live downloads stay everywhere.
t0=$(now_ms)
check "the 30 idle flows are gone from every switch, the 3 live ones stay" wait_for 15 every_has 3
diag "idle flows gone after $(($(now_ms) - t0)) ms; switch 1 holds: $(port80 1 | paste -sd';')"
e1=$(for k in 1 2 3; do mb_sync "$k" status | jq '.events.expired'; done | awk '{ n += $1 } END { print n + 0 }')
check "the switches that forwarded them expired them (events.expired +$((e1 - e0)), want >= 30)" \
	test $((e1 - e0)) -ge 30
check_eq "the 3 live flows name the same node on every switch" 1 \
	"$(for k in 1 2 3; do port80 "$k" | md5sum; done | sort -u | wc -l)"
sleep 8	# twice idle_timeout_s more: the members' copies got no packet meanwhile
check "... and still there on every switch 8 s later" every_has 3

# 3. The downloads complete; then their flows go too.
dl_finish "$TEST_TMP/dl" 3
check "the downloads' flows are gone from every switch once idle" wait_for 20 every_has 0
for k in 1 2 3; do
	diag "sw$k syncd events: $(mb_sync "$k" status | jq -c '.events')"
done
finish
