#!/bin/bash
# tests/bench/hop.sh WORKDIR - the "hop" section of tests/bench/run.sh
# (run.sh --only hop): what one switch hop costs per packet, Tandem's BPF
# forwarding against the kernel's IP forwarding, apart from what the
# sender and the receiver cost.
#
#   c1 --rawgen--> hub bridge --> sw eth0 [tc: lb_tc] --> br1 --> p2 --> n2 eth0 [nft drop]
#
# tests/tools/rawgen in c1, pinned to one CPU, sends one 64-byte UDP frame
# again and again from an AF_PACKET socket (no qdisc, no socket layer); on
# veth every frame is carried through the bridge, the switch and the node's
# ingress in softirq on that CPU, in rawgen's own context, so its CPU time
# per frame is the whole way's cost.  Three kinds of run, rounds
# interleaved (order rotating):
#   ref      an EtherType no protocol takes (0x88b5), to the switch's MAC:
#            the switch's program passes it (PASS_NOT_IP) and its kernel
#            drops it at once: sender + client LAN + the switch's ingress
#   tandem   UDP to VIP:5201 (a flow-table hit after the first frame):
#            redirected by lb_tc to n2, dropped at n2's ingress (nftables
#            netdev ingress hook, counted)
#   routing  UDP to n2's address: passed by lb_tc (not a VIP), forwarded by
#            the switch's kernel, dropped at n2's ingress the same way
# hop = a run's ns per frame less ref's in the same round.  The drop
# rule counts what reached the nodes: each run must deliver what it sent (a
# hop that lost frames would look cheap).
#
#   hop_ns_per_packet      Tandem's hop, baseline the routed hop, ratio
#                          Tandem / routing (target <= 0.5)
#
# Writes WORKDIR/metrics.jsonl and samples.jsonl (run.sh's format), raw
# files in WORKDIR/logs.  Exit 1 if the lab or lbd cannot start.
set -u
W=${1:?usage: hop.sh WORKDIR}
SECTION=hop
# shellcheck source=lib_nasd_lab.sh
. "$(dirname "$0")/lib_nasd_lab.sh"
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${HOP_SECONDS:-3}
SPORT=40000

fail_all() {
	metric hop_ns_per_packet "" ns/packet "" "" "ratio <= 0.5" "" "not measured: $1"
}

for c in taskset nft; do
	command -v "$c" >/dev/null || { fail_all "$c is not installed (harness error)"; exit 1; }
done
LAB_NAME=hp$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
log "lab $LAB_NAME up"
timeout 120 "$LAB_SH" up "$LAB_NAME" >>"$L/lab.log" 2>&1 || { LAB_NAME=""; fail_all "lab did not come up"; exit 1; }
# shellcheck disable=SC1090
. "/run/tandem-lab/$LAB_NAME/env"
lab lbd-start >>"$L/lab.log" 2>&1 || { fail_all "tandem-lbd did not start"; exit 1; }
nodes_up3() {
	[ "$(timeout 5 "$TANDEMCTL" -s "$LBD_SOCK" --json nodes | jq '[.nodes[] | select(.state == "up")] | length')" = 3 ]
}
wait_for 20 nodes_up3 || { fail_all "the nodes did not come up in lbd"; exit 1; }

SW_MAC=$(in_ns sw cat "/sys/class/net/$SW_CLIENT_IF/address")
for n in $LAB_NODES; do	# the sink: rawgen's frames die at each node's ingress, counted
	in_ns "$n" nft -f - <<EOF || { fail_all "nftables drop at $n's ingress"; exit 1; }
table netdev hopsink {
	counter sunk { }
	chain in {
		type filter hook ingress device "eth0" priority -500; policy accept;
		ip protocol udp udp sport $SPORT counter name "sunk" drop
	}
}
EOF
done
sunk() {	# frames the nodes' sinks dropped so far
	local n s=0 v
	for n in $LAB_NODES; do
		v=$(in_ns "$n" nft -j list counter netdev hopsink sunk | jq '.nftables[] | select(.counter) | .counter.packets')
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
CPU=$(($(nproc) - 1))
ksoft() {	# ticks (user + system) of the softirq thread of CPU
	local p
	p=$(pgrep -x "ksoftirqd/$CPU" | head -n 1)
	[ -n "$p" ] && awk '{ print $14 + $15 }' "/proc/$p/stat" || echo 0
}
run() {	# run KIND ROUND: rawgen's JSON (plus delivered and ksoftirqd ticks)
	local a=() s0 s1 k0 k1 o
	case "$1" in
	ref) a=(-e 0x88b5 -t "$VIP4") ;;
	tandem) a=(-t "$VIP4") ;;
	routing) a=(-t "$N2_IP4") ;;
	esac
	s0=$(sunk) k0=$(ksoft)
	o=$(in_ns c1 taskset -c "$CPU" timeout $((SECS + 10)) "$TANDEM_BUILD/tools/rawgen" -i eth0 \
		-d "$SW_MAC" -s "$C1_IP4" -p "$SPORT" -T "$SECS" "${a[@]}" 2>>"$L/rawgen.err")
	s1=$(sunk) k1=$(ksoft)
	[ -n "$o" ] || return 0
	jq -c --argjson d $((s1 - s0)) --argjson k $((k1 - k0)) --arg kind "$1" --argjson r "$2" \
		'. + {kind: $kind, round: $r, delivered: $d, ksoftirqd_ticks: $k}' <<<"$o" | tee -a "$L/runs.jsonl"
}

declare -A HOP
kinds=(ref tandem routing)
for ((r = 1; r <= ROUNDS; r++)); do
	declare -A NS=()
	for ((i = 0; i < 3; i++)); do
		k=${kinds[$(((i + r) % 3))]}
		o=$(run "$k" "$r")
		NS[$k]=$(jq -r '.ns_per_packet // empty' <<<"$o" 2>/dev/null)
		log "round $r $k: $(jq -r '"\(.ns_per_packet) ns/frame, \(.sent) sent, \(.delivered) at the nodes, ksoftirqd \(.ksoftirqd_ticks) ticks"' <<<"$o" 2>/dev/null)"
	done
	for k in tandem routing; do
		[ -n "${NS[ref]}" ] && [ -n "${NS[$k]}" ] &&
			HOP[$k]+=" $(awk -v a="${NS[$k]}" -v b="${NS[ref]}" 'BEGIN { printf "%.1f", a - b }')"
		echo "{\"g\":\"hop_ns\",\"s\":\"$k\",\"v\":$(awk -v a="${NS[$k]:-0}" -v b="${NS[ref]:-0}" 'BEGIN { printf "%.1f", a - b }')}" >>"$SMP"
	done
done

t=$(med "${HOP[tandem]:-}") b=$(med "${HOP[routing]:-}")
lost=$(jq -s '[.[] | select(.kind != "ref" and .delivered < .sent)] | length' "$L/runs.jsonl" 2>/dev/null)
ks=$(jq -s '[.[].ksoftirqd_ticks] | add' "$L/runs.jsonl" 2>/dev/null)
ref=$(jq -rs '[.[] | select(.kind == "ref") | .ns_per_packet] | sort | if length == 0 then "?" else .[(length - 1) / 2 | floor] end' "$L/runs.jsonl" 2>/dev/null)
ratio="" met=""
if [ -n "$t" ] && [ -n "$b" ] && awk -v b="$b" 'BEGIN { exit !(b > 0) }'; then
	ratio=$(awk -v t="$t" -v b="$b" 'BEGIN { printf "%.3f", t / b }')
	met=$(awk -v x="$ratio" 'BEGIN { print (x <= 0.5) ? "true" : "false" }')
fi
note="tests/tools/rawgen in c1 pinned to CPU $CPU: one 64-byte UDP frame (sport $SPORT) from an AF_PACKET socket (qdisc bypassed) for ${SECS} s per run, $ROUNDS rounds of three runs, order rotating; rawgen's CPU time (getrusage: on veth the whole way runs in softirq in its context) per frame. hop = ns per frame less the same round's ref run (EtherType 0x88b5 to the switch: passed by lb_tc, dropped by the switch's kernel; median ${ref} ns: sender, client LAN bridge, switch ingress). Tandem: to VIP:5201 (lb_tc flow-table hit, redirect to n2); routing: to n2's address (lb_tc passes, the switch's kernel forwards); both dropped by an nftables rule at n2's ingress hook (netdev), so both include the storage LAN bridge and n2's ingress. Samples tandem [$(xargs <<<"${HOP[tandem]:-}")] routing [$(xargs <<<"${HOP[routing]:-}")]. Runs where the nodes' drop rules counted fewer frames than sent: ${lost:-?} (must be 0); ksoftirqd/$CPU ticks over all runs: ${ks:-?} (work it took over is not in rawgen's time)"
metric hop_ns_per_packet "$t" ns/packet "$b" "$ratio" "ratio <= 0.5" "$met" "$note"
log "tandem hop $t ns, routed hop $b ns, ratio ${ratio:-?}"
