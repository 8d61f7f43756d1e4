#!/bin/bash
# tests/bench/group.sh WORKDIR - the "group" section of tests/bench/run.sh
# (run.sh --only group): a scale-out group behind the ECMP router (LAB_BGP=4
# LAB_BGP_SYNC=1: BIRD, BFD, tandem-syncd full mesh): three switches, then
# the fourth joins.
#
#  group3_repl_flows_per_s, group4_repl_flows_per_s (sw4 joins after the
#    first run): flows replicated per second in the group while
#    connrate runs from c1, c2 and c3 through the VIP (new connections as
#    fast as they go, GROUP_SECONDS, default 10): the flows the three
#    switches created (syncd's events.reported) over the run, each sent to
#    every other member; the note has the records the members received
#    (N-1 times that), the aggregate conn/s and what was left in flight.
#  group_death_to_survivor_ms (p50, p99 in the note; 4 switches, or 3 if
#    sw4 did not join): 24 keep-alive HTTP sessions (failprobe tcp, a
#    request every 10 ms, 8 from each client); the switch that created the
#    most of them loses its links and is killed; for each session that went
#    through it, the longest time without a response = from the death to
#    its first response through a survivor (BFD 100 ms x 3 at the router,
#    then TCP's retransmission timer).  Sessions that did not go through it
#    show their normal gaps and are left out (gap under 100 ms).
#  group_cps_1_2_3: aggregate conn/s (connrate from the three clients)
#    with 1, 2 and 3 switches announcing (tandemctl withdraw/announce).
#  group_switch_cpu_us_per_conn: over the 3-switch run, each switch's tc
#    program run time plus its processes' CPU, per new flow it handled.
#
# Writes WORKDIR/metrics.jsonl and samples.jsonl (run.sh's format), raw
# files in WORKDIR/logs.  Exit 1 if the lab or daemons cannot start.
set -u
W=${1:?usage: group.sh WORKDIR}
SECTION=group
# shellcheck source=lib_nasd_lab.sh
. "$(dirname "$0")/lib_nasd_lab.sh"
SECS=${GROUP_SECONDS:-10}

fail_all() {
	metric group3_repl_flows_per_s "" flows/s "" "" "" "" "not measured: $1"
	metric group4_repl_flows_per_s "" flows/s "" "" "" "" "not measured: $1"
	metric group_death_to_survivor_ms "" ms "" "" "" "" "not measured: $1"
	metric group_cps_1_2_3 "" conn/s "" "" "" "" "not measured: $1"
	metric group_switch_cpu_us_per_conn "" us/conn "" "" "" "" "not measured: $1"
}

command -v bird >/dev/null || [ -x /usr/sbin/bird ] || { fail_all "bird2 is not installed"; exit 1; }
LAB_NAME=gr$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
log "lab $LAB_NAME up (4 switches in one sync group, 3 started)"
LAB_BGP=4 LAB_BGP_SYNC=1 timeout 120 "$LAB_SH" up "$LAB_NAME" >>"$L/lab.log" 2>&1 ||
	{ LAB_NAME=""; fail_all "lab did not come up"; exit 1; }
# shellcheck disable=SC1090
. "/run/tandem-lab/$LAB_NAME/env"
for k in 1 2 3; do lab member-start "$k" >>"$L/lab.log" 2>&1 || { fail_all "switch $k did not start"; exit 1; }; done
hops() { ip -n "$NS_R" route show "$VIP4/32" 2>/dev/null | grep -c 'via'; }
nhops() { [ "$(hops)" = "$1" ]; }
wait_for 30 nhops 3 || { fail_all "the router does not route over three switches"; exit 1; }
sd() { timeout 5 "$TANDEMCTL" -s "$LAB_DIR/sw-$1/syncd.sock" --json status; }
UP="1 2 3"
# sum FIELD: jq FIELD of every running switch's syncd status, added up
sum() { local k; for k in $UP; do sd "$k" | jq "$1"; done | awk '{ n += $1 } END { print n + 0 }'; }
settled() { [ "$(sum .tx.in_flight)" = 0 ]; }

# repl_run N: flows replicated per second in a group of N (the metric
# groupN_repl_flows_per_s) under connrate from c1 c2 c3.
repl_run() {
	local n=$1 e0 r0 e1 r1 c cps flows recv rate
	e0=$(sum .events.reported) r0=$(sum .rx.flows)
	for c in c1 c2 c3; do
		in_ns "$c" timeout $((SECS + 20)) "$TANDEM_BUILD/tools/connrate" -c 32 -t "$SECS" -p 80 "$VIP4" \
			>"$L/connrate$n.$c.json" 2>>"$L/connrate.err" &
	done
	wait
	wait_for 10 settled
	e1=$(sum .events.reported) r1=$(sum .rx.flows)
	cps=$(cat "$L"/connrate"$n".c*.json | jq -s '[.[].cps] | add | floor')
	flows=$((e1 - e0)) recv=$((r1 - r0))
	rate=$(awk -v f="$flows" -v s="$SECS" 'BEGIN { printf "%.0f", f / s }')
	log "group of $n: $flows own flows in $SECS s ($rate/s), $recv records received (want $(((n - 1) * flows))); $cps conn/s"
	echo "{\"g\":\"group\",\"s\":\"repl$n\",\"v\":{\"flows\":$flows,\"received\":$recv,\"cps\":${cps:-null},\"secs\":$SECS}}" >>"$SMP"
	metric "group${n}_repl_flows_per_s" "$rate" flows/s "" "" "" "" \
		"$n switches, one sync group (full mesh, lab on one 2-CPU host): connrate -c 32 from each of c1 c2 c3 for $SECS s (${cps:-?} conn/s in all); the switches created $flows flows (syncd events.reported), each sent to the $((n - 1)) other members; the members received $recv records ($(((n - 1) * flows)) expected); nothing left in flight afterwards: $(settled && echo yes || echo no)."
}

# 1. Replication rate in a group of 3, then of 4.
repl_run 3
lab member-start 4 >>"$L/lab.log" 2>&1 && wait_for 30 nhops 4 && UP="1 2 3 4" && repl_run 4 ||
	metric group4_repl_flows_per_s "" flows/s "" "" "" "" "not measured: sw4 did not join"

# 2. Aggregate conn/s through 1, 2 and 3 switches (the others withdrawn).
ctl() { timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-$1/lbd.sock" "$2" >/dev/null; }
# sw_cpu K: "BPF_NS TICKS NEW_FLOWS" of switch K: its tc program's run time
# (kernel BPF stats), the CPU ticks of its processes (lbd, syncd, BIRD) and
# the new flows its lbd counted
sw_cpu() {
	local ns=tdm-$LAB_NAME-sw$1 b t f
	b=$(ip netns exec "$ns" "$TANDEM_BUILD/tools/bpfstats" -i eth0 2>/dev/null | jq -r '.run_time_ns // 0')
	# shellcheck disable=SC2046 # (one word per pid)
	t=$(cat $(ip netns pids "$ns" | sed 's|.*|/proc/&/stat|') 2>/dev/null |
		awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }')
	f=$(timeout 5 "$TANDEMCTL" -s "$LAB_DIR/sw-$1/lbd.sock" --json stats 2>/dev/null |
		jq '[.nodes[]?.new_flows] | add // 0')
	echo "${b:-0} ${t:-0} ${f:-0}"
}
CLK=$(getconf CLK_TCK)
STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
sysctl -q -w kernel.bpf_stats_enabled=1 >/dev/null 2>&1 || log "cannot enable kernel.bpf_stats_enabled"
declare -A CPU0
cps_n=""
for n in 1 2 3; do
	for k in $UP; do if [ "$k" -le "$n" ]; then ctl "$k" announce; else ctl "$k" withdraw; fi; done
	wait_for 15 nhops "$n" || { log "the router did not settle on $n switches"; cps_n="$cps_n null"; continue; }
	[ "$n" != 3 ] || for k in 1 2 3; do CPU0[$k]=$(sw_cpu "$k"); done
	for c in c1 c2 c3; do
		in_ns "$c" timeout 30 "$TANDEM_BUILD/tools/connrate" -c 32 -t 5 -p 80 "$VIP4" >"$L/cps$n.$c.json" 2>>"$L/connrate.err" &
	done
	wait
	cps_n="$cps_n $(cat "$L"/cps"$n".c*.json | jq -s '[.[].cps] | add | floor')"
done
# Per switch, over the 3-switch run: (program run time + its processes'
# CPU) / the new flows it handled = CPU per connection
per_sw="" us_all=""
for k in 1 2 3; do
	read -r b0 t0 f0 <<<"${CPU0[$k]:-0 0 0}"
	read -r b1 t1 f1 <<<"$(sw_cpu "$k")"
	us=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v f=$((f1 - f0)) -v c="$CLK" \
		'BEGIN { if (f > 0) printf "%.2f", (b / 1e3 + t * 1e6 / c) / f }')
	per_sw="$per_sw sw$k: ${us:-?} us/conn ($((f1 - f0)) connections, program $(((b1 - b0) / 1000)) us, processes $((t1 - t0)) ticks);"
	us_all="$us_all ${us:-}"
done
sysctl -q -w kernel.bpf_stats_enabled="$STATS_OLD" >/dev/null 2>&1
us_med=$(med "$us_all" 2)
echo "{\"g\":\"group\",\"s\":\"cpu_per_conn\",\"v\":\"${per_sw# }\"}" >>"$SMP"
metric group_switch_cpu_us_per_conn "$us_med" us/conn "" "" "report" "" \
	"CPU a switch spends per connection, measured over the 3-switch connrate run: its tc program's run time (kernel BPF stats) plus the CPU time of its processes (lbd, syncd, BIRD: replication and control), over the new flows its lbd counted; median of the three switches [${per_sw# }]. Not in it: the kernel's own forwarding of the packets outside the program (veth, redirect), which this host cannot tell apart from the clients' and nodes' softirq work. On separate machines a switch with C CPUs would then spend this per connection on its own CPUs, so the group's capacity grows with each switch by about C x 10^6 / (this figure + the kernel's per-packet forwarding cost x the packets of a connection) conn/s."

read -r c1s c2s c3s <<<"$cps_n"
log "aggregate conn/s through 1, 2, 3 switches:$cps_n"
echo "{\"g\":\"group\",\"s\":\"cps\",\"v\":{\"1\":${c1s:-null},\"2\":${c2s:-null},\"3\":${c3s:-null}}}" >>"$SMP"
metric group_cps_1_2_3 "${c3s:-}" conn/s "${c1s:-}" "" "" "" \
	"connrate -c 32 from each of c1 c2 c3 for 5 s through the VIP with 1, 2 and 3 switches announcing (the others withdrawn by tandemctl withdraw): ${c1s:-?}, ${c2s:-?}, ${c3s:-?} conn/s (value: 3 switches; baseline: 1). One 2-CPU host runs clients, router, switches and nodes, so the figure is bounded by the host, not by the switches; on separate machines each switch adds its own CPUs."
for k in $UP; do ctl "$k" announce; done
wait_for 15 nhops "$(wc -w <<<"$UP")" || log "the router did not come back to $(wc -w <<<"$UP") switches: $(hops)"

# 3. Switch death to the first response through a survivor: the switch
# that created the most of the probes' sessions dies.
# SYNs a switch forwarded: new flows, and those meeting an old entry of
# the same 5-tuple (connrate's ports have wrapped by now: rehash_syn)
fwdnew() {
	timeout 5 "$TANDEMCTL" -s "$LAB_DIR/sw-$1/lbd.sock" --json stats |
		jq '.verdicts.fwd_new + .verdicts.fwd_rehash_syn'
}
declare -A new0
for k in $UP; do new0[$k]=$(fwdnew "$k"); done
for c in c1 c2 c3; do
	for j in 1 2 3 4 5 6 7 8; do
		in_ns "$c" timeout 40 "$TANDEM_BUILD/tools/failprobe" tcp -i 10000 -t 20 "$VIP4" 80 \
			>"$L/probe.$c.$j.json" 2>>"$L/probe.err" &
	done
done
sleep 5
victim=1 most=-1
for k in $UP; do
	d=$(($(fwdnew "$k") - ${new0[$k]}))
	if [ "$d" -gt "$most" ]; then victim=$k most=$d; fi
done
log "sw$victim ($most of the sessions) dies (links down, SIGKILL)"
lab member-stop "$victim" hard >>"$L/lab.log" 2>&1
wait
gaps=$(cat "$L"/probe.*.json | jq -r 'select(.error == null) | .max_gap_ms' | awk '$1 >= 100' | sort -g)
lostn=$(cat "$L"/probe.*.json | jq -r 'select(.error != null) | .error' | wc -l)
n=$(printf '%s\n' $gaps | grep -c .)
p50=$(printf '%s\n' $gaps | awk '{ v[++n] = $1 } END { if (n) print v[int((n + 1) / 2)] }')
p99=$(printf '%s\n' $gaps | awk '{ v[++n] = $1 } END { if (n) print v[n - int(n / 100)] }')
log "death to survivor: $n sessions went through sw$victim; p50 ${p50:-?} ms, p99 ${p99:-?} ms; $lostn lost"
echo "{\"g\":\"group\",\"s\":\"death\",\"v\":{\"moved\":$n,\"lost\":$lostn,\"gaps\":[$(printf '%s\n' $gaps | paste -sd,)]}}" >>"$SMP"
metric group_death_to_survivor_ms "${p50:-}" ms "" "" "" "" \
	"$(wc -w <<<"$UP") switches, one sync group, BFD 100 ms x 3 at the router; 24 keep-alive HTTP sessions (failprobe tcp, one request every 10 ms, 8 from each client); the switch that created the most of them (sw$victim, $most) lost its links and was killed after 5 s. Value = p50 over the $n sessions that went through it of the longest time without a response (from the death to the first response through a survivor; TCP's retransmission timer included); p99 ${p99:-?} ms; sessions lost (reset, timeout): $lostn."
exit 0
