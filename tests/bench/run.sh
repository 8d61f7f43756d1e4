#!/bin/bash
# tests/bench/run.sh - Tandem's benchmark suite (`make bench`).
#
# Writes bench/results.json (metric -> {value, unit, baseline, ratio, target,
# met, note}, plus "samples" with the raw lab samples and "meta") and
# bench/results.md (the same as a table, with a header saying when, where and
# how).  Raw tool output goes to tests/out/bench/ (collected in a private
# /tmp directory while running, copied there at the end).
#
# Lab metrics, all in ONE private lab (appliance/lab/lab.sh, torn down on
# exit), rounds interleaved (round r runs every metric's baseline and Tandem
# runs back to back, the order alternating between rounds), medians reported:
#   tcp_throughput_1stream / _4streams   iperf3 c1 -> VIP (BPF) vs c1 -> the
#                                        same node's real address (routing)
#   http_connections_per_second          tests/tools/connrate, new TCP
#                                        connection per GET /node
#   udp_pps_64byte_frames                tests/tools/udpblast (18-byte payload
#                                        = 64-byte frames) -> udpsink on nodes
#   bpf_ns_per_packet_udp / _tcp         kernel BPF run-time stats of lbd's tc
#                                        program (tests/tools/bpfstats)
# Offline metrics (lb.bpf.o loaded unpinned, tests/tools/flowbench):
#   flow_repoint_update_p50_us / _p99_us, bpf_ns_per_packet_test_run,
#   flow_table_memory_1m / _8m, flow_table_bytes_per_entry
#
# The binaries under test are copied to a private directory first (others
# may rebuild build/ meanwhile).  A failed measurement becomes value null with
# a note; the run goes on.  Takes about 4 minutes with the defaults.
# Exit: 0 when results were written, 1 on harness errors (not root, missing
# build or tools, the lab cannot come up, results cannot be written).
#
# Environment: BENCH_ROUNDS (5), BENCH_SECONDS (5, per run), BENCH_OUT
# (bench/), BENCH_LOGS (tests/out/bench/), TANDEM_BUILD (build/).
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO" || exit 1
B=${TANDEM_BUILD:-$REPO/build}
export TANDEM_BUILD=$B
TOOLS=$B/tools
LAB_SH=$REPO/appliance/lab/lab.sh
OUT=${BENCH_OUT:-$REPO/bench}
LOGS_FINAL=${BENCH_LOGS:-$REPO/tests/out/bench}	# raw logs end up here
WORK=""			# private work dir (/tmp): binaries, logs, partial results
LOGS=""			# $WORK/logs while running (tests/out may be wiped by make check)
ROUNDS=${BENCH_ROUNDS:-5}
DUR=${BENCH_SECONDS:-5}
UDP_PAYLOAD=18		# IPv4 20 + UDP 8 + 18 = 46 B packet = 60 B frame + 4 B FCS
CONC=32			# connrate: connections in flight

LAB=""			# lab name once we own one
SINK_PIDS=()		# udpsink processes we started
BPF_STATS_OLD=""	# kernel.bpf_stats_enabled before we touched it
HARNESS_ERR=0
WRITTEN=0
READY=0			# preconditions passed: results are worth writing
T_START=$SECONDS

log() { printf 'bench: %s\n' "$*" >&2; }
harness_error() {
	log "HARNESS ERROR: $*"
	HARNESS_ERR=1
}

# ------------------------------------------------------------ results ---

METRICS=""		# $WORK/metrics.jsonl: one line per metric
SAMPLES=""		# $WORK/samples.jsonl: one line per raw sample

# num X: X if it is a JSON number, else null.
num() {
	if [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then
		echo "$1"
	else
		echo null
	fi
}

# fmt DECIMALS X: X rounded, or empty when X is not a number.
fmt() {
	[ "$(num "${2:-}")" != null ] || return 0
	awk -v d="$1" -v x="$2" 'BEGIN { printf "%.*f\n", d, x }'
}

# ratio A B: A/B with 3 decimals, or empty.
ratio() {
	[ "$(num "${1:-}")" != null ] && [ "$(num "${2:-}")" != null ] || return 0
	awk -v a="$1" -v b="$2" 'BEGIN { if (b != 0) printf "%.3f\n", a / b }'
}

# met X OP LIMIT: true/false, or null when X is not a number.  OP: ge le
met() {
	[ "$(num "${1:-}")" != null ] || { echo null; return; }
	awk -v x="$1" -v op="$2" -v l="$3" 'BEGIN {
		r = (op == "ge") ? (x >= l) : (x <= l); print r ? "true" : "false" }'
}

# median V...: the median of the numbers in the arguments (each argument may
# hold several, blank-separated; anything else is ignored).
median() {
	printf '%s\n' "$@" | tr -s '[:blank:]' '\n' | grep -E '^-?[0-9.]+([eE][-+]?[0-9]+)?$' |
		sort -g | awk '{ v[++n] = $1 }
		END { if (n == 0) exit
		      if (n % 2) printf "%.10g\n", v[(n + 1) / 2]
		      else printf "%.10g\n", (v[n / 2] + v[n / 2 + 1]) / 2 }'
}

# metric NAME VALUE UNIT BASELINE RATIO TARGET MET NOTE
metric() {
	jq -cn --arg name "$1" --argjson value "$(num "$2")" --arg unit "$3" \
		--argjson baseline "$(num "$4")" --argjson ratio "$(num "$5")" \
		--arg target "$6" --argjson met "${7:-null}" --arg note "$8" \
		'{name: $name, value: $value, unit: $unit, baseline: $baseline, ratio: $ratio,
		  target: $target, met: $met, note: $note}' >>"$METRICS"
}

# sample GROUP SIDE VALUE: one raw sample (a number or a JSON object).
sample() {
	local v=$3
	[ -n "$v" ] || v=null
	jq -cn --arg g "$1" --arg s "$2" --argjson v "$v" '{g: $g, s: $s, v: $v}' \
		>>"$SAMPLES" 2>/dev/null || true
}

cpu_model() {
	local m fam mod
	m=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	fam=$(awk -F': ' '/^cpu family/ { print $2; exit }' /proc/cpuinfo)
	mod=$(awk -F': ' '/^model\t/ { print $2; exit }' /proc/cpuinfo)
	echo "$m (family $fam model $mod), $(nproc) CPUs$(grep -qw hypervisor /proc/cpuinfo && echo ', virtual machine')"
}

HOW="All lab metrics come from one network-namespace lab (appliance/lab/lab.sh: clients c1/c2, \
switch sw running tandem-lbd with its tc BPF program on the client interface, nodes n1..n3 with \
nginx and iperf3), all on this one machine: clients, switch and nodes share its CPUs, so a lab \
number is the cost of the whole path on this host, not of the switch alone. Baseline = the client \
talks to a node's real address and the switch forwards by ordinary kernel routing (lbd's program \
still runs on those packets and passes them); Tandem = the client talks to the VIP and the BPF \
program forwards by L2 rewrite (direct server return: replies bypass it). ${ROUNDS} rounds of \
${DUR} s runs; each round runs every metric's baseline and Tandem run back to back, the order \
alternating between rounds; values are medians, ratio = Tandem / baseline. BPF run time comes \
from the kernel's own statistics (kernel.bpf_stats_enabled=1 during the lab runs). Flow-table \
metrics load build/lb.bpf.o unpinned and unattached (tests/tools/flowbench)."

write_results() {
	local meta date kern cpu
	[ "$WRITTEN" = 0 ] || return 0
	WRITTEN=1
	mkdir -p "$OUT" || { harness_error "cannot create $OUT"; return 1; }
	date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
	kern=$(uname -r)
	cpu=$(cpu_model)
	touch "$METRICS" "$SAMPLES"
	meta=$(jq -cn --arg date "$date" --arg kernel "$kern" --arg cpu "$cpu" \
		--arg load "$LOAD_START" --arg how "$HOW" --argjson rounds "$ROUNDS" \
		--argjson seconds "$DUR" --argjson elapsed "$((SECONDS - T_START))" \
		--arg git "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" \
		'{date: $date, kernel: $kernel, cpu: $cpu, loadavg_at_start: $load, rounds: $rounds,
		  seconds_per_run: $seconds, elapsed_s: $elapsed, git: $git, how: $how}')
	if ! jq -s --argjson meta "$meta" --slurpfile samples "$SAMPLES" '
		(reduce .[] as $m ({}; . + {($m.name): ($m | del(.name))}))
		+ {samples: (reduce $samples[] as $s ({};
				.[$s.g][$s.s] = ((.[$s.g][$s.s] // []) + [$s.v])))}
		+ {meta: $meta}' "$METRICS" >"$OUT/results.json.tmp"; then
		harness_error "cannot build results.json"
		return 1
	fi
	mv "$OUT/results.json.tmp" "$OUT/results.json"
	{
		echo "# Tandem benchmark results"
		echo
		echo "- date: $date"
		echo "- kernel: $kern"
		echo "- CPU: $cpu"
		echo "- load average at start: $LOAD_START (other work shares this machine)"
		echo "- git: $(jq -r .git <<<"$meta"); bench time $((SECONDS - T_START)) s"
		echo
		echo "How measured: $HOW"
		echo
		echo "| metric | value | unit | baseline | ratio | target | met | note |"
		echo "|---|---|---|---|---|---|---|---|"
		jq -r 'to_entries[] | select(.key != "samples" and .key != "meta") | .value as $v |
			"| \(.key) | \($v.value // "n/a") | \($v.unit) | \($v.baseline // "-") | \($v.ratio // "-") | \($v.target) | \(if $v.met == null then "-" elif $v.met then "yes" else "**no**" end) | \($v.note | gsub("\\|"; "/")) |"' \
			"$OUT/results.json"
		echo
		echo "Raw samples (per run, in run order) are in results.json under \"samples\"."
	} >"$OUT/results.md.tmp" || { harness_error "cannot write results.md"; return 1; }
	mv "$OUT/results.md.tmp" "$OUT/results.md" || { harness_error "cannot write results.md"; return 1; }
	log "wrote $OUT/results.json and $OUT/results.md"
}

# ---------------------------------------------------------- lab plumbing --

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${SINK_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	if [ -n "$BPF_STATS_OLD" ]; then
		sysctl -q -w kernel.bpf_stats_enabled="$BPF_STATS_OLD" >/dev/null 2>&1 || true
		BPF_STATS_OLD=""
	fi
	lab_down
	[ "$READY" = 0 ] || write_results || true
	if [ -n "$WORK" ]; then
		rm -rf -- "$LOGS_FINAL" 2>/dev/null
		{ mkdir -p "$LOGS_FINAL" && cp -a "$LOGS/." "$LOGS_FINAL/"; } 2>/dev/null ||
			log "cannot copy the logs to $LOGS_FINAL"
		rm -rf -- "$WORK"
	fi
	[ "$HARNESS_ERR" = 0 ] || rc=1
	exit "$rc"
}

# lab_down: remove our lab, if any.  (No redirection into a file that might be
# gone: a failed redirection would skip the command.)
lab_down() {
	local out
	[ -n "$LAB" ] || return 0
	log "lab $LAB down"
	out=$(timeout 60 "$LAB_SH" down "$LAB" 2>&1) || log "lab $LAB down failed: $out"
	printf '%s\n' "$out" >>"$LOGS/lab.log" 2>/dev/null
	LAB=""
}

in_ns() {	# in_ns NAMESPACE CMD...
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

nodes_up() {
	local n
	n=$(timeout 5 "$B/tandemctl" -s "$LBD_SOCK" --json nodes 2>/dev/null |
		jq '[.nodes[] | select(.state == "up")] | length' 2>/dev/null)
	[ "${n:-0}" -ge 3 ]
}

wait_for() {	# wait_for SECONDS CMD...
	local end=$((SECONDS + $1))
	shift
	while ! "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.2
	done
}

bpf_snap() {	# the tc program's {run_time_ns, run_cnt} JSON, or empty
	in_ns "$NS_SW" "$TOOLS/bpfstats" -i "$SW_IF" 2>>"$LOGS/bpfstats.log"
}

# bpf_delta BEFORE AFTER: ns per run between two snapshots, or empty.
bpf_delta() {
	[ -n "$1" ] && [ -n "$2" ] || return 0
	jq -rn --argjson a "$1" --argjson b "$2" \
		'($b.run_cnt - $a.run_cnt) as $c | ($b.run_time_ns - $a.run_time_ns) as $t |
		 if $c > 0 then ($t / $c * 10 | round / 10) else empty end' 2>/dev/null
}

# bpf_runs BEFORE AFTER: run_cnt delta, or empty.
bpf_runs() {
	[ -n "$1" ] && [ -n "$2" ] || return 0
	jq -rn --argjson a "$1" --argjson b "$2" '$b.run_cnt - $a.run_cnt' 2>/dev/null
}

# ------------------------------------------------------------- one run ---
# Each prints the measured value (or nothing on failure); details go to logs.

# iperf_run DST STREAMS TAG: Gbit/s received.
iperf_run() {
	local dst=$1 streams=$2 tag=$3 f out try
	f=$LOGS/iperf-$tag.json
	for try in 1 2; do
		in_ns "$NS_C1" timeout $((DUR + 20)) iperf3 -c "$dst" -t "$DUR" -P "$streams" \
			-J >"$f" 2>>"$LOGS/iperf.err"
		out=$(jq -r 'if .error then empty else .end.sum_received.bits_per_second / 1e9 end' \
			"$f" 2>/dev/null)
		if [ -n "$out" ]; then
			fmt 3 "$out"
			return 0
		fi
		log "iperf3 $tag (try $try) failed: $(jq -r '.error // "no result"' "$f" 2>/dev/null)"
		sleep 1
	done
}

# conn_run TAG ADDR...: completed connections per second.
conn_run() {
	local tag=$1 f
	shift
	f=$LOGS/connrate-$tag.json
	in_ns "$NS_C1" timeout $((DUR + 20)) "$TOOLS/connrate" -c "$CONC" -t "$DUR" -p 80 "$@" \
		>"$f" 2>>"$LOGS/connrate.err" || return 0
	jq -r '.cps' "$f" 2>/dev/null | xargs -r printf '%.0f\n'
}

sink_listening() { [ -n "$(in_ns "$1" ss -Hlnu 'sport = :5201' 2>/dev/null)" ]; }

# udp_run DST TAG: datagrams per second that reached the nodes' UDP sockets.
udp_run() {
	local dst=$1 tag=$2 n ns i f rcv=0 drops=0 secs ok=1
	local -a files=()
	SINK_PIDS=()
	for n in $LAB_NODES; do
		ns=NS_${n^^}
		f=$LOGS/udpsink-$tag-$n.json
		files+=("$f")
		# Not through in_ns (a function): $! must be the sink's own pid.
		ip netns exec "${!ns}" "$TOOLS/udpsink" -t $((DUR + 30)) 5201 >"$f" 2>>"$LOGS/udpsink.err" &
		SINK_PIDS+=($!)
	done
	for n in $LAB_NODES; do
		ns=NS_${n^^}
		wait_for 5 sink_listening "${!ns}" || ok=0
	done
	if [ "$ok" = 1 ]; then
		in_ns "$NS_C1" timeout $((DUR + 20)) "$TOOLS/udpblast" -t "$DUR" -s "$UDP_PAYLOAD" \
			"$dst" 5201 >"$LOGS/udpblast-$tag.json" 2>>"$LOGS/udpblast.err" || ok=0
	fi
	sleep 0.5	# let queued datagrams drain into the sinks
	for i in "${SINK_PIDS[@]}"; do
		kill -TERM "$i" 2>/dev/null
		wait "$i" 2>/dev/null
	done
	SINK_PIDS=()
	[ "$ok" = 1 ] || return 0
	for f in "${files[@]}"; do
		n=$(jq -r '.received // 0' "$f" 2>/dev/null)
		[ "$(num "$n")" != null ] || { log "udpsink $f: no result"; ok=0; n=0; }
		rcv=$((rcv + n))
		n=$(jq -r '.drops // 0' "$f" 2>/dev/null)
		[ "$(num "$n")" != null ] || n=0
		drops=$((drops + n))
	done
	[ "$ok" = 1 ] || return 0
	secs=$(jq -r .seconds "$LOGS/udpblast-$tag.json" 2>/dev/null)
	jq -c --argjson r "$rcv" --argjson d "$drops" \
		'{sent: .sent, send_errors: .send_errors, seconds: .seconds, received: $r, socket_drops: $d}' \
		"$LOGS/udpblast-$tag.json" >"$LOGS/udpdetail-$tag.json" 2>/dev/null
	[ "$rcv" -gt 0 ] || return 0
	awk -v r="$rcv" -v d="$drops" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f\n", (r + d) / s }'
}

# ---------------------------------------------------------- lab section ---

declare -A S	# S[group.side] = space-separated samples, in run order
add() {	# add GROUP SIDE VALUE
	S[$1.$2]="${S[$1.$2]:-} ${3:-x}"
	sample "$1" "$2" "$3"
}
vals() { echo "${S[$1.$2]:-}" | tr ' ' '\n' | grep -v '^x\?$' || true; }
nfail() { echo "${S[$1.$2]:-}" | tr ' ' '\n' | grep -c '^x$' || true; }

# One baseline/Tandem pair of metric M in round R (order alternates).
pair() {
	local m=$1 r=$2 side v before after d
	local order="baseline tandem"
	[ $((r % 2)) = 1 ] || order="tandem baseline"
	for side in $order; do
		before=$(bpf_snap)
		case "$m.$side" in
		tcp1.tandem) v=$(iperf_run "$VIP4" 1 "tcp1-t$r") ;;
		tcp1.baseline) v=$(iperf_run "$AFF_IP" 1 "tcp1-b$r") ;;
		tcp4.tandem) v=$(iperf_run "$VIP4" 4 "tcp4-t$r") ;;
		tcp4.baseline) v=$(iperf_run "$AFF_IP" 4 "tcp4-b$r") ;;
		cps.tandem) v=$(conn_run "t$r" "$VIP4") ;;
		cps.baseline) v=$(conn_run "b$r" "${NODE_IPS[@]}") ;;
		udp.tandem) v=$(udp_run "$VIP4" "t$r") ;;
		udp.baseline) v=$(udp_run "$AFF_IP" "b$r") ;;
		esac
		if [ "$m" = udp ]; then
			sample udp_detail "$side" "$(cat "$LOGS/udpdetail-${side:0:1}$r.json" 2>/dev/null)"
		fi
		after=$(bpf_snap)
		add "$m" "$side" "$v"
		d=$(bpf_delta "$before" "$after")
		sample "bpf_ns_per_run" "$m.$side" "${d:-null}"
		sample "bpf_runs" "$m.$side" "$(bpf_runs "$before" "$after")"
		[ "$side" = tandem ] && [ -n "$d" ] && S[bpf.$m]="${S[bpf.$m]:-} $d"
		[ "$side" = baseline ] && [ -n "$d" ] && S[bpfpass.$m]="${S[bpfpass.$m]:-} $d"
		log "round $r $m $side: ${v:-FAILED} (bpf ${d:-?} ns/run)"
	done
}

# paired GROUP: median over rounds of tandem/baseline (rounds where both ran).
paired() {
	local t b
	read -ra t <<<"${S[$1.tandem]:-}"
	read -ra b <<<"${S[$1.baseline]:-}"
	local i rs=""
	for ((i = 0; i < ${#t[@]} && i < ${#b[@]}; i++)); do
		rs="$rs $(ratio "${t[i]}" "${b[i]}")"
	done
	fmt 3 "$(median "$rs")"
}

# report_pair NAME GROUP UNIT DECIMALS TARGET_RATIO NOTE
report_pair() {
	local name=$1 g=$2 unit=$3 dec=$4 tr=$5 note=$6 t b rt m nf pr
	t=$(fmt "$dec" "$(median "$(vals "$g" tandem)")")
	b=$(fmt "$dec" "$(median "$(vals "$g" baseline)")")
	rt=$(ratio "$t" "$b")
	m=$(met "$rt" ge "$tr")
	nf=$(($(nfail "$g" tandem) + $(nfail "$g" baseline)))
	[ "$nf" = 0 ] || note="$note; $nf of $((2 * ROUNDS)) runs failed (see $LOGS_FINAL)"
	[ -n "$t" ] || note="no successful Tandem run; $note"
	[ -n "$b" ] || note="no successful baseline run; $note"
	note="$note; samples tandem [$(vals "$g" tandem | xargs)] baseline [$(vals "$g" baseline | xargs)]"
	pr=$(paired "$g")
	[ -z "$pr" ] || note="$note; median of the per-round ratios (each Tandem run / the baseline run next to it): $pr"
	metric "$name" "$t" "$unit" "$b" "$rt" "ratio >= $tr" "$m" "$note"
}

lab_fail_metrics() {	# every lab metric null, with REASON
	local why=$1 x
	for x in tcp_throughput_1stream:Gbit/s tcp_throughput_4streams:Gbit/s \
		http_connections_per_second:conn/s udp_pps_64byte_frames:packets/s; do
		metric "${x%%:*}" "" "${x#*:}" "" "" "ratio >= $([ "${x%%:*}" = udp_pps_64byte_frames ] && echo 1.2 || echo 1.0)" null "$why"
	done
	metric bpf_ns_per_packet_udp "" ns/packet "" "" "<= 100 ns" null "$why"
	metric bpf_ns_per_packet_tcp "" ns/packet "" "" "<= 100 ns" null "$why"
}

lab_section() {
	local f r m env
	LAB=bn$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	log "lab $LAB up"
	if ! timeout 120 "$LAB_SH" up "$LAB" >>"$LOGS/lab.log" 2>&1; then
		harness_error "lab.sh up $LAB failed (see $LOGS_FINAL/lab.log)"
		LAB=""	# lab.sh removes a partial lab itself
		lab_fail_metrics "lab did not come up (harness error)"
		return
	fi
	env=/run/tandem-lab/$LAB/env
	# shellcheck disable=SC1090
	. "$env"
	SW_IF=$(jq -r .client_interface "$LBD_CONF")
	NODE_IPS=()
	for f in $LAB_NODES; do
		m=${f^^}_IP4
		NODE_IPS+=("${!m}")
	done
	in_ns "$NS_C1" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" >/dev/null || true
	if ! timeout 40 "$LAB_SH" lbd-start "$LAB" >>"$LOGS/lab.log" 2>&1; then
		lab_fail_metrics "tandem-lbd did not start (its log: $LOGS_FINAL/lbd.log)"
		cp "$LBD_LOG" "$LOGS/lbd.log" 2>/dev/null
		return
	fi
	wait_for 20 nodes_up || log "not all nodes up after 20 s; measuring anyway"
	timeout 5 "$B/tandemctl" -s "$LBD_SOCK" nodes >>"$LOGS/lab.log" 2>&1

	# Warm-up through the VIP, and find the node client affinity sends c1 to:
	# the baselines for iperf3 and UDP use that node's real address.
	iperf_run "$VIP4" 1 warmup >/dev/null
	in_ns "$NS_C1" timeout 10 "$TOOLS/connrate" -t 1 -p 80 "$VIP4" >/dev/null 2>&1
	in_ns "$NS_C1" timeout 10 "$TOOLS/connrate" -t 1 -p 80 "${NODE_IPS[@]}" >/dev/null 2>&1
	AFF_NODE=$(timeout 5 "$B/tandemctl" -s "$LBD_SOCK" --json flows --limit 100000 2>/dev/null |
		jq -r --arg c "$C1_IP4" '[.flows[] | select(.port == 5201 and .client == $c) | .node][0] // empty' \
			2>/dev/null)
	if [ -z "$AFF_NODE" ]; then
		log "cannot tell which node the VIP sends c1's iperf3 to; using n1"
		AFF_NODE=n1
	fi
	m=${AFF_NODE^^}_IP4
	AFF_IP=${!m}
	log "client affinity: c1 -> $AFF_NODE ($AFF_IP); baselines use that address"
	sample meta affinity_node "\"$AFF_NODE\""

	if [ -z "$(bpf_snap)" ]; then
		log "cannot read the tc program's statistics (see $LOGS_FINAL/bpfstats.log)"
	fi
	BPF_STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo "")
	sysctl -q -w kernel.bpf_stats_enabled=1 >/dev/null 2>&1 || log "cannot enable kernel.bpf_stats_enabled"

	for ((r = 1; r <= ROUNDS; r++)); do
		for m in tcp1 tcp4 cps udp; do
			pair "$m" "$r"
		done
	done

	if [ -n "$BPF_STATS_OLD" ]; then
		sysctl -q -w kernel.bpf_stats_enabled="$BPF_STATS_OLD" >/dev/null 2>&1
		BPF_STATS_OLD=""
	fi
	timeout 5 "$B/tandemctl" -s "$LBD_SOCK" stats >"$LOGS/lbd-stats.txt" 2>&1
	timeout 5 "$B/tandemctl" -s "$LBD_SOCK" --json stats >"$LOGS/lbd-stats.json" 2>&1
	cp "$LBD_LOG" "$LOGS/lbd.log" 2>/dev/null

	S[udpnote]=$(jq -rs '[.[] | select(.g == "udp_detail" and (.v | type) == "object") | .v] |
		if length == 0 then "no UDP run details" else
		"over all UDP runs: \(map(.sent) | add) datagrams sent, \(map(.received) | add) read by the sinks, \(map(.socket_drops) | add) socket drops, \(map(.send_errors) | add) send errors" end' \
		"$SAMPLES" 2>/dev/null)
	report_pair tcp_throughput_1stream tcp1 Gbit/s 3 1.0 \
		"iperf3 -c, 1 stream, ${DUR} s, c1 -> VIP $VIP4 (lands on $AFF_NODE by client affinity) vs c1 -> $AFF_NODE's address $AFF_IP"
	report_pair tcp_throughput_4streams tcp4 Gbit/s 3 1.0 \
		"iperf3 -c -P 4, ${DUR} s, same paths as 1 stream"
	report_pair http_connections_per_second cps conn/s 0 1.0 \
		"tests/tools/connrate in c1, $CONC connections in flight, each a new TCP connection doing GET /node (HTTP/1.0, read until close), ${DUR} s; VIP (spread over n1..n3 by Maglev) vs the three nodes' addresses round robin (same three nginx)"
	report_pair udp_pps_64byte_frames udp packets/s 0 1.2 \
		"tests/tools/udpblast in c1: one socket (one flow), sendmmsg of ${UDP_PAYLOAD}-byte UDP payloads (46-byte IPv4 packets = 64-byte Ethernet frames incl. FCS) for ${DUR} s, to VIP:5201/udp vs $AFF_NODE's address; counted = datagrams reaching the nodes' UDP sockets (tests/tools/udpsink: read + socket-buffer drops) / send time; ${S[udpnote]:-}. When nothing is lost the rate is bound by the CPU cost of the whole path (sender, switch and receiver share the 2 CPUs; veth forwarding runs in softirq on the sending CPU), so the ratio compares per-packet path costs"

	local udp tcp tcpsamples cpsb passb passt
	udp=$(median "${S[bpf.udp]:-}")
	tcpsamples="${S[bpf.tcp1]:-} ${S[bpf.tcp4]:-}"
	tcp=$(median "$tcpsamples")
	cpsb=$(fmt 1 "$(median "${S[bpf.cps]:-}")")
	passb=$(fmt 1 "$(median "${S[bpfpass.udp]:-}")")
	passt=$(fmt 1 "$(median "${S[bpfpass.tcp1]:-} ${S[bpfpass.tcp4]:-}")")
	metric bpf_ns_per_packet_udp "$(fmt 1 "$udp")" ns/packet "" "" "<= 100 ns" "$(met "$udp" le 100)" \
		"lbd's tc program (client_interface $SW_IF ingress), kernel BPF stats: delta run_time_ns / delta run_cnt over each Tandem UDP run, median; every run is a flow-table hit. Samples [$(xargs <<<"${S[bpf.udp]:-}")]. The same program on the baseline UDP runs (not a VIP: lookup miss, pass) costs ${passb:-?} ns"
	metric bpf_ns_per_packet_tcp "$(fmt 1 "$tcp")" ns/packet "" "" "<= 100 ns" "$(met "$tcp" le 100)" \
		"as for UDP, over the Tandem iperf3 runs (1 and 4 streams). A 'packet' here is one skb: veth hands GSO aggregates of up to 64 KiB to tc, so this is per aggregate; only client -> VIP packets (data, ACKs of the client) pass the program, replies bypass it (DSR). Samples [$(xargs <<<"$tcpsamples")]. The same program on the baseline iperf3 runs (pass path): ${passt:-?} ns per skb. Per packet during the Tandem HTTP connection runs (small packets, new flows): ${cpsb:-?} ns. All BPF-stats figures include the kernel's per-run clock reads (sched_clock, twice per run)"
}

# ------------------------------------------------------ offline section ---

flow_section() {
	local f=$LOGS/flowbench-repoint.json fm=$LOGS/flowbench-mem.json p50 p99 note rc v
	log "flow re-point: 1M flows, 100k re-points"
	timeout 180 "$TOOLS/flowbench" repoint -n 1048576 -i 100000 -v 1000 "$B/lb.bpf.o" \
		>"$f" 2>"$LOGS/flowbench-repoint.err"
	rc=$?
	if jq -e .update.p50_us "$f" >/dev/null 2>&1; then
		p50=$(jq -r .update.p50_us "$f")
		p99=$(jq -r .update.p99_us "$f")
		note=$(jq -r '"lb.bpf.o unpinned; lb_flows (LRU hash) sized \(.max_entries), filled with \(.flows) flows in \(.fill_s) s; \(.update.n) re-points of random existing flows, each one bpf_map_update_elem(BPF_EXIST) timed alone (p90 \(.update.p90_us) us, max \(.update.max_us) us, mean \(.update.mean_us) us). lbd'"'"'s migrate (lookup + update): p50 \(.lookup_update.p50_us) us, p99 \(.lookup_update.p99_us) us. Verified with bpf_prog_test_run: \(.verify.ok) of \(.verify.ok + .verify.bad) re-pointed flows sent their next packet to the new node. The LRU map was full: entries \(.entries_after_fill) after the fill, \(.entries_after_repoints) after the re-points (an update in a full LRU map takes a free element first, so the first ones evict a batch of other flows)"' "$f")
		[ "$rc" = 0 ] || note="$note; flowbench exit $rc"
		metric flow_repoint_update_p50_us "$p50" us "" "" "<= 2 us" "$(met "$p50" le 2)" "$note"
		metric flow_repoint_update_p99_us "$p99" us "" "" "<= 2 us" "$(met "$p99" le 2)" \
			"same run as flow_repoint_update_p50_us"
		v=$(jq -r '.test_run_hit_ns // empty' "$f")
		[ "$v" != 0 ] || v=""
		metric bpf_ns_per_packet_test_run "$v" ns/packet "" "" "<= 100 ns" "$(met "$v" le 100)" \
			"lb_tc on a 64-byte TCP packet of an existing flow (hit) in the 1M-flow table, bpf_prog_test_run with repeat 1000000: the kernel's average per run (no real device; test_run does not perform the redirect)"
	else
		note="flowbench repoint failed (exit $rc): $(tail -n 3 "$LOGS/flowbench-repoint.err" | tr '\n' ' ')"
		metric flow_repoint_update_p50_us "" us "" "" "<= 2 us" null "$note"
		metric flow_repoint_update_p99_us "" us "" "" "<= 2 us" null "$note"
		metric bpf_ns_per_packet_test_run "" ns/packet "" "" "<= 100 ns" null "$note"
	fi

	log "flow-table memory: 1M and 8M entries"
	timeout 240 "$TOOLS/flowbench" mem "$B/lb.bpf.o" 1048576 8388608 >"$fm" 2>"$LOGS/flowbench-mem.err"
	rc=$?
	local sz label mib bpe l
	for sz in 1048576 8388608; do
		label=$([ "$sz" = 1048576 ] && echo 1m || echo 8m)
		l=$(jq -c --argjson n "$sz" 'select(.max_entries == $n)' "$fm" 2>/dev/null | head -n 1)
		if [ -n "$l" ] && [ "$(jq -r .memlock_bytes <<<"$l")" -gt 0 ] 2>/dev/null; then
			mib=$(jq -r '.memlock_bytes / 1048576 * 10 | round / 10' <<<"$l")
			bpe=$(jq -r .bytes_per_entry <<<"$l")
			note=$(jq -r '"map shaped like lb_flows (type \(.map_type) = LRU hash, key \(.key_size) B, value \(.value_size) B) with max_entries \(.max_entries), filled with \(.inserted) flows (\(.present) present after the fill, \(.fill_s) s); memory = the kernel'"'"'s figure, memlock: in /proc/self/fdinfo (\(.memlock_bytes) B, \(.bytes_per_entry) B per entry; LRU maps are preallocated, so this is the same before and after the fill)"' <<<"$l")
			metric "flow_table_memory_$label" "$mib" MiB "" "" "report" null "$note"
			[ "$label" = 8m ] && metric flow_table_bytes_per_entry "$bpe" bytes "" "" "report" null \
				"8M-entry table: memlock / max_entries (1M table: $(jq -r '.bytes_per_entry' <<<"$(jq -c 'select(.max_entries == 1048576)' "$fm" 2>/dev/null | head -n 1)" 2>/dev/null) B)"
		else
			note="flowbench mem failed for $sz entries (exit $rc): $(tail -n 3 "$LOGS/flowbench-mem.err" | tr '\n' ' ')"
			metric "flow_table_memory_$label" "" MiB "" "" "report" null "$note"
			[ "$label" = 8m ] && metric flow_table_bytes_per_entry "" bytes "" "" "report" null "$note"
		fi
	done
}

# ------------------------------------------------------------------ main ---

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
case "$ROUNDS.$DUR" in
*[!0-9.]* | .* | *. | 0.* | *.0 | *.*.*)
	log "HARNESS ERROR: BENCH_ROUNDS and BENCH_SECONDS want positive integers"
	exit 1
	;;
esac
WORK=$(mktemp -d /tmp/tandem-bench.XXXXXX) || exit 1
LOGS=$WORK/logs
METRICS=$WORK/metrics.jsonl
SAMPLES=$WORK/samples.jsonl
mkdir -p "$LOGS" "$WORK/bin/tools" || exit 1
: >"$METRICS"
: >"$SAMPLES"
trap cleanup EXIT
trap 'log interrupted; exit 130' INT
trap 'log terminated; exit 143' TERM

[ "$(id -u)" = 0 ] || { harness_error "must run as root (network namespaces, BPF)"; exit 1; }
for c in ip ss jq iperf3 awk timeout sysctl od; do
	command -v "$c" >/dev/null 2>&1 || { harness_error "missing command: $c"; exit 1; }
done
for f in "$B/tandem-lbd" "$B/tandemctl" "$B/lb.bpf.o" "$TOOLS/connrate" "$TOOLS/udpblast" \
	"$TOOLS/udpsink" "$TOOLS/bpfstats" "$TOOLS/flowbench" "$LAB_SH"; do
	[ -e "$f" ] || { harness_error "missing $f (run make all)"; exit 1; }
done

# Run from a private copy of the binaries: others may rebuild build/ while
# the bench runs (lbd finds lb.bpf.o next to itself).
SNAP=$WORK/bin
if ! { cp -p "$B/tandem-lbd" "$B/tandemctl" "$B/lb.bpf.o" "$SNAP/" &&
	cp -p "$TOOLS/connrate" "$TOOLS/udpblast" "$TOOLS/udpsink" "$TOOLS/bpfstats" \
		"$TOOLS/flowbench" "$SNAP/tools/"; }; then
	harness_error "cannot copy the build to $SNAP"
	exit 1
fi
B=$SNAP
TOOLS=$SNAP/tools
export TANDEM_BUILD=$SNAP

READY=1
log "rounds $ROUNDS x ${DUR} s per run; work dir $WORK; logs will be in $LOGS_FINAL"
lab_section
lab_down
flow_section
write_results
log "done in $((SECONDS - T_START)) s"
[ "$HARNESS_ERR" = 0 ]
