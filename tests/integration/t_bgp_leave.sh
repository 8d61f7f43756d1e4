#!/bin/bash
# t_bgp_leave: one command drains a switch out of its group under load
# (tandemctl leave: withdraw, wait until the router sends it nothing, stop
# lbd); its sessions go on through the others; it joins again by starting
# it, the others untouched.  tandemctl group shows the group throughout.
#
#   c1 c2 c3 ---- [r] BIRD: ECMP over sw1 sw2 sw3, L4 hash, BFD
#                  |
#        [sw1]   [sw2]   [sw3]      lbd + BPF + BIRD + tandem-syncd each;
#                  |                one sync group on the storage LAN
#   [r] .1 ---- n1 n2 n3            nginx :80, iperf3 :5201 (DSR)
#
#   1. tandemctl group on each switch: BGP Established, the route
#      announced, every other member alive and synced;
#   2. 60 downloads (1 MiB at 50 kB/s, ~21 s each) through the three;
#   3. `tandemctl leave` at the switch that created the most: it answers
#      once lbd stopped (lbd's process is gone), after the router took the
#      switch out of its route; the others still announce;
#   4. every download completes byte-exact, no reset;
#   5. the switch starts again: the router routes over three, and its
#      group view shows every member synced.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_bgp.sh"

require_bgp
bgp_sync_lab_up 3
members_up 1 2 3

# 1. The group as each switch sees it.
group_ok() {
	local out
	out=$(timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-$1/lbd.sock" group) || return 1
	grep -q '^bgp peer .* Established' <<<"$out" &&
		grep -q '^bgp route .* announced' <<<"$out" &&
		grep -q '^sync  *ready' <<<"$out" &&
		[ "$(grep -c '^member .* alive  synced' <<<"$out")" = 2 ] &&
		grep -q '^member .* this switch' <<<"$out"
}
for k in 1 2 3; do
	check "sw$k: tandemctl group: BGP Established, route announced, both others alive and synced" \
		wait_for 10 group_ok "$k"
done
diag "$(timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-1/lbd.sock" group)"

# 2. Load.
N=60
D=$TEST_TMP/dl
declare -A new0
for k in 1 2 3; do new0[$k]=$(mb_fwd_new "$k"); done
dl_start "$D" $N 50000
all_everywhere() {
	local k
	for k in 1 2 3; do [ "$(flows80 "$k" | wc -l)" -ge $N ] || return 1; done
}
check "every switch holds all $N sessions" wait_for 20 all_everywhere
victim=0 most=-1
for k in 1 2 3; do
	c=$(($(mb_fwd_new "$k") - ${new0[$k]}))
	if [ "$c" -gt "$most" ]; then victim=$k most=$c; fi
done
surv=$(for k in 1 2 3; do [ "$k" = "$victim" ] || printf '%s ' "$k"; done)

# 3. One command drains the switch.
lbd_pid=$(cat "$LAB_DIR/sw-$victim/lbd.pid")
if out=$(timeout 80 "$TANDEMCTL" -s "$LAB_DIR/sw-$victim/lbd.sock" leave 2>&1); then
	ok "sw$victim ($most sessions created): tandemctl leave answered: $out"
else
	fail "sw$victim: tandemctl leave" "$out"
fi
check "sw$victim's lbd has stopped" wait_for 10 pid_gone "$lbd_pid"
check_eq "the router routes over the others only" \
	"$(for k in $surv; do mb_hop "$k"; done | sort | paste -sd' ')" "$(r_hops)"
for k in $surv; do check_eq "sw$k still announces" ready "$(mb_reason "$k")"; done

# 4. Every session goes on through the others.
dl_finish "$D" $N

# 5. It joins again; nobody else touched.
members_up 1 2 3
check "sw$victim: tandemctl group: both others alive and synced again" wait_for 10 group_ok "$victim"
finish
