#!/bin/bash
# t_failover_load: the appliance's default failover settings (VRRP adverts
# every 20 ms, keepalived's VRRP process real-time, doc/failover.md) make no
# takeover nobody asked for while every CPU of the machine is saturated, and
# still take over a crash at once, every session kept.  (The 10-minute
# version and the outage in ms are make bench's: failover_load_*.)
#
#   c1 c2 ---- brc ---- swa (master, prio 150)  swb (backup, prio 100)
#                        lbd+syncd+keepalived    lbd+syncd+keepalived
#                        ---- brs ---- n1 n2 n3
#
#  1. the pair lab at the appliance's defaults (no advert_int_ms, no
#     rt_priority in its config): keepalived.conf says advert_int 0.02 and
#     vrrp_rt_priority 50; both VRRP processes run SCHED_RR;
#  2. 40 long sessions through the VIP, then stress-ng saturating both CPUs
#     (4 CPU hogs at the test's own priority) for 60 s: sampled every 50 ms,
#     a is master and b backup in every sample, and neither keepalived
#     logged a state change;
#  3. still saturated: switch-stop a hard; b becomes master; after the
#     load, every session completes byte-exact, no reset.
. "$(dirname "$0")/lib.sh"

require_pair
require_cmd stress-ng chrt
export LAB_ADVERT_MS=default
pair_up

# 1. The defaults.
for x in a b; do
	d=$LAB_DIR/sw-$x
	check_eq "switch $x: keepalived.conf at the default advert interval (both instances)" 2 \
		"$(grep -c 'advert_int 0\.02$' "$d/keepalived.conf")"
	check_eq "switch $x: keepalived.conf runs the VRRP process real-time" 1 \
		"$(grep -c 'vrrp_rt_priority 50' "$d/keepalived.conf")"
	# (SCHED_RR|SCHED_RESET_ON_FORK: the scripts it runs do not inherit it)
	check_eq "switch $x: keepalived's VRRP process is SCHED_RR" SCHED_RR \
		"$(chrt -p "$(cat "$d/keepalived-vrrp.pid")" | awk '/policy/ { sub(/\|.*/, "", $NF); print $NF; exit }')"
done

# 2. Sessions, then every CPU saturated for 60 s.
SECS=100
if load_start "$TEST_TMP/l" 20 10 10 $SECS; then
	ok "40 long sessions established through the VIP (20 downloads, 10 uploads, 10 req/resp)"
else
	fail "40 long sessions established" "$(wc -l <"$TEST_TMP/l/ready") ready" \
		"$(tail -n 3 "$TEST_TMP"/l/py.*.log)"
	finish
fi
# the state changes each keepalived logged so far (the start's)
changes() { grep -c "Entering .* STATE" "$LAB_DIR/sw-$1/keepalived.log"; }
ca=$(changes a) cb=$(changes b)
watch_start a
watch_start b
stress-ng --cpu 4 --timeout 90s >/dev/null 2>&1 &
STRESS=$!
at_exit "kill $STRESS 2>/dev/null"
t0=$(now_ms)
cpu0=$(head -n 1 /proc/stat)
sleep 60
cpu1=$(head -n 1 /proc/stat)
watch_stop a
watch_stop b
# busy share of the 60 s: 1 - (idle + iowait) / total, from /proc/stat
busy=$(printf '%s\n%s\n' "$cpu0" "$cpu1" | awk '{ t = 0; for (i = 2; i <= 9; i++) t += $i; tot[NR] = t; id[NR] = $5 + $6 }
	END { printf "%.0f", 100 * (1 - (id[2] - id[1]) / (tot[2] - tot[1])) }')
diag "CPUs busy during the 60 s: ${busy}%"
check_le "both CPUs saturated (busy %)" 95 "$busy"
# samples: "T_MS ROLE ..."; after t0 a must say master and b backup in each
off() {	# off X ROLE: the first samples of X after t0 whose role is not ROLE
	awk -v t0="$t0" -v r="$2" '$1 >= t0 && $2 != r' "$TEST_TMP/watch.$1" | head -n 3
}
n=$(awk -v t0="$t0" '$1 >= t0' "$TEST_TMP/watch.a" | wc -l)
check_le "switch a sampled at least 600 times in the 60 s" 600 "$n"
check_eq "saturated 60 s: a master in every sample" "" "$(off a master)"
check_eq "saturated 60 s: b backup in every sample" "" "$(off b backup)"
check_eq "saturated 60 s: no VRRP state change logged by a or b" "$ca $cb" "$(changes a) $(changes b)" ||
	diag "$(grep -h "Entering\|rttime\|died\|tandem_check" "$LAB_DIR"/sw-[ab]/keepalived.log | tail -n 8)"
check_eq "every session still running" 40 "$(load_alive "$TEST_TMP/l")"

# 3. A crash while saturated.
t1=$(now_ms)
sw_stop a hard
if wait_ms 5000 roles_are - master; then
	ok "b master $(($(now_ms) - t1)) ms after the hard stop of a (CPUs saturated; bench measures the outage)"
else
	fail "b becomes master after the hard stop of a" "role of b: '$(sw_role b)'" \
		"$(tail -n 5 "$SWB_DIR/keepalived.log")"
fi
check_eq "every session still running after the takeover" 40 "$(load_alive "$TEST_TMP/l")"
kill "$STRESS" 2>/dev/null
wait "$STRESS" 2>/dev/null
load_finish "$TEST_TMP/l" $((SECS + 60))
check_eq "all 40 sessions complete byte-exact, no reset (longest stall ${LOAD_GAP} ms)" \
	"40 0" "$LOAD_OK $LOAD_BAD" || diag "$LOAD_FAILS"
finish
