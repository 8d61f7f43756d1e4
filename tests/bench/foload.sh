#!/bin/bash
# tests/bench/foload.sh WORKDIR - the "foload" section of tests/bench/run.sh
# (run.sh --only foload): the appliance's default failover settings under
# the heaviest load the lab can make, for FOLOAD_SECONDS (default 600).
#
# One private pair lab at the appliance's VRRP defaults (LAB_PAIR=1
# LAB_ADVERT_MS=default: adverts every 20 ms, keepalived's VRRP process
# real-time; doc/failover.md).  While it runs: connrate through the VIP
# from c1 (new connections as fast as they go), iperf3 through the VIP
# from c2 (4 streams), and stress-ng with 4 CPU hogs at the bench's own
# priority: both CPUs saturated.
#
#  failover_load_state_changes: VRRP state changes either keepalived
#    logged during the run (target 0: no takeover nobody asked for); the
#    note has the busy share of the CPUs (/proc/stat), the roles sampled
#    every 50 ms (lbd's, by pairload poll) and what was carried.
#
# Writes WORKDIR/metrics.jsonl and samples.jsonl (run.sh's format), raw
# files in WORKDIR/logs.  Exit 1 if the lab or daemons cannot start.
set -u
W=${1:?usage: foload.sh WORKDIR}
SECTION=foload
# shellcheck source=lib_nasd_lab.sh
. "$(dirname "$0")/lib_nasd_lab.sh"
SECS=${FOLOAD_SECONDS:-600}
PAIRLOAD=$REPO/tests/tools/pairload.py

fail_all() {
	metric failover_load_state_changes "" "" "" "" "0 in ${SECS} s, both CPUs saturated" "" "not measured: $1"
}

command -v stress-ng >/dev/null || { fail_all "stress-ng is not installed (harness error)"; exit 1; }
LAB_NAME=fl$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
log "lab $LAB_NAME up (pair at the appliance's VRRP defaults)"
LAB_PAIR=1 LAB_ADVERT_MS=default timeout 120 "$LAB_SH" up "$LAB_NAME" >>"$L/lab.log" 2>&1 ||
	{ LAB_NAME=""; fail_all "lab did not come up"; exit 1; }
# shellcheck disable=SC1090
. "/run/tandem-lab/$LAB_NAME/env"
lab switch-start a >>"$L/lab.log" 2>&1 && lab switch-start b >>"$L/lab.log" 2>&1 ||
	{ fail_all "switches did not start"; exit 1; }
role() { timeout 5 "$TANDEM_BUILD/tandemctl" -s "$LAB_DIR/sw-$1/lbd.sock" --json status 2>/dev/null | jq -r '.role // empty'; }
stable() { [ "$(role a)" = master ] && [ "$(role b)" = backup ]; }
wait_for 30 stable || { fail_all "the pair did not settle (a master, b backup)"; exit 1; }
sleep 2	# the start's own state changes are logged by now
changes() { grep -c "Entering .* STATE" "$LAB_DIR/sw-$1/keepalived.log"; }
ca=$(changes a) cb=$(changes b)

for x in a b; do
	python3 "$PAIRLOAD" poll --lbd "$LAB_DIR/sw-$x/lbd.sock" --syncd "$LAB_DIR/sw-$x/syncd.sock" \
		--ms 50 --secs $((SECS + 30)) --out "$L/roles.$x" &
done
log "${SECS} s: connrate (c1) and iperf3 -P 4 (c2) through the VIP, stress-ng --cpu 4"
in_ns c1 timeout $((SECS + 30)) "$TANDEM_BUILD/tools/connrate" -c 32 -t "$SECS" -p 80 "$VIP4" \
	>"$L/connrate.json" 2>>"$L/connrate.err" &
in_ns c2 timeout $((SECS + 30)) iperf3 -c "$VIP4" -t "$SECS" -P 4 -J >"$L/iperf3.json" 2>&1 &
stress-ng --cpu 4 --timeout "${SECS}s" >>"$L/stress.log" 2>&1 &
# The host's own stalls, beside keepalived's: cyclictest (rt-tests) wakes a
# SCHED_FIFO thread (priority 60, above keepalived's 50) every RT_INT_US and
# writes each wake-up's lateness; a stall that keeps it late longer than the
# backup's master-down window (3 adverts + skew: ~72 ms at the defaults)
# keeps keepalived from hearing adverts too, whatever keepalived does
# (--laptop: cpu_dma_latency left as it is).
RT_INT_US=2000
rt_t0=$(now_ms)
cyclictest --laptop -m -p 60 -i $RT_INT_US -D "${SECS}s" -v -q >"$L/rtlat.txt" 2>&1 &
cpu0=$(head -n 1 /proc/stat)
t0=$(now_ms)
sleep "$SECS"
cpu1=$(head -n 1 /proc/stat)
t1=$(now_ms)
sleep 2
wait $(jobs -p | tr '\n' ' ') 2>/dev/null

da=$(($(changes a) - ca)) db=$(($(changes b) - cb))
busy=$(printf '%s\n%s\n' "$cpu0" "$cpu1" | awk '{ t = 0; for (i = 2; i <= 9; i++) t += $i; tot[NR] = t; id[NR] = $5 + $6 }
	END { printf "%.1f", 100 * (1 - (id[2] - id[1]) / (tot[2] - tot[1])) }')
off() { awk -v t0="$t0" -v t1="$t1" -v r="$2" '$1 >= t0 && $1 <= t1 && $2 != r' "$L/roles.$1" | wc -l; }
n=$(awk -v t0="$t0" -v t1="$t1" '$1 >= t0 && $1 <= t1' "$L/roles.a" | wc -l)
cps=$(jq -r '.cps // empty' "$L/connrate.json" 2>/dev/null | xargs -r printf '%.0f')
gbps=$(jq -r '.end.sum_received.bits_per_second // empty' "$L/iperf3.json" 2>/dev/null | awk '{ printf "%.2f", $1 / 1e9 }')
for x in a b; do cp "$LAB_DIR/sw-$x/keepalived.log" "$L/keepalived-$x.log" 2>/dev/null; done
total=$((da + db))
# stalls: the RT thread's wake-ups later than 20 and 60 ms, its worst, and
# the wall-clock second of each one over 60 ms (sample k ~ rt_t0 + k x interval)
read -r st20 st60 stmax < <(awk '$1 == "0:" { l = $3 / 1000; if (l > 20) a++; if (l > 60) b++; if (l > m) m = l }
	END { printf "%d %d %.1f\n", a, b, m }' "$L/rtlat.txt")
awk -v t0="$rt_t0" -v iv=$RT_INT_US '$1 == "0:" && $3 > 60000 { printf "%d\n", (t0 + $2 * iv / 1000) / 1000 }' \
	"$L/rtlat.txt" | sort -u >"$L/stall-secs"
# keepalived's state changes (its log has seconds) that have such a stall
# in the same or the previous second
change_secs() {	# change_secs X SKIP: the epoch second of each state change after the first SKIP
	grep "Entering .* STATE" "$L/keepalived-$1.log" | tail -n +"$(($2 + 1))" | cut -d: -f1-3 |
		while read -r d; do date -d "$d" +%s; done
}
{ change_secs a "$ca"; change_secs b "$cb"; } 2>/dev/null | sort -u >"$L/change-secs"
explained=$(awk 'NR == FNR { s[$1] = 1; next } (s[$1] || s[$1 - 1]) { n++ } END { print n + 0 }' "$L/stall-secs" "$L/change-secs")
nchg=$(wc -l <"$L/change-secs")
log "state changes a $da, b $db; CPUs busy ${busy}%; samples $n, a not master in $(off a master), b not backup in $(off b backup); host stalls (RT thread late) > 20 ms: $st20, > 60 ms: $st60, worst $stmax ms; seconds with a state change: $nchg, of them with a > 60 ms stall: $explained"
echo "{\"g\":\"failover_load\",\"s\":\"stalls\",\"v\":{\"over_20ms\":${st20:-null},\"over_60ms\":${st60:-null},\"worst_ms\":${stmax:-null},\"change_secs\":$nchg,\"explained\":$explained}}" >>"$SMP"
echo "{\"g\":\"failover_load\",\"s\":\"changes\",\"v\":{\"a\":$da,\"b\":$db,\"busy_pct\":${busy:-null},\"samples\":$n}}" >>"$SMP"
metric failover_load_state_changes "$total" "" "" "" "0 in ${SECS} s, both CPUs saturated" \
	"$([ "$total" = 0 ] && echo true || echo false)" \
	"pair lab at the appliance's VRRP defaults (advert 20 ms, keepalived's VRRP process SCHED_RR at 50, vrrp_rlimit_rttime 200 ms); for $(((t1 - t0) / 1000)) s: connrate -c 32 from c1 to VIP:80 (${cps:-?} conn/s), iperf3 -P 4 from c2 to VIP:5201 (${gbps:-?} Gbit/s), stress-ng --cpu 4 at the bench's priority; CPUs busy ${busy:-?}% (/proc/stat). Value = VRRP state changes (\"Entering ... STATE\") keepalived logged in the run: a $da, b $db. lbd's role sampled every 50 ms ($n samples): a not master in $(off a master), b not backup in $(off b backup). Host stalls (cyclictest, SCHED_FIFO 60, every $((RT_INT_US / 1000)) ms): late > 20 ms $st20 times, > 60 ms $st60 times, worst $stmax ms; of the $nchg seconds with a state change, $explained had a > 60 ms stall in it or the second before (a stall that long hides the master's adverts from the backup, the 72 ms window, whatever keepalived does)."
