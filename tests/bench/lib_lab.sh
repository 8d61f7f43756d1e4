# shellcheck shell=bash disable=SC2034  # (its variables are read by the sourcing script)
# tests/bench/lib_lab.sh - the single-switch lab's measuring helpers, shared
# by tests/bench/run.sh (its lab section) and tests/bench/peers.sh.  Sourced
# (bash); the caller defines log MSG and sets:
#   METRICS, SAMPLES   files: one JSON line per metric / raw sample
#   LOGS               directory of raw tool output
#   B, TOOLS, LAB_SH   the binaries under test, tests/tools, lab.sh
#   DUR, CONC, UDP_PAYLOAD   seconds per run, connrate's connections in
#                      flight, UDP payload bytes
#   SAMPLE_PREFIX      (optional) put before every sample's group name
# lab_single_up sources the lab's env file (NS_*, VIP4, LAB_NODES, N1_IP4 ...)
# and sets LAB, SW_IF, NODE_IPS; find_affinity sets AFF_NODE and AFF_IP.

LAB=""			# lab name once we own one
LAB_WHY=""		# why lab_single_up failed
SINK_PIDS=()		# udpsink processes we started

# ------------------------------------------------------------ results ---

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
	jq -cn --arg g "${SAMPLE_PREFIX:-}$1" --arg s "$2" --argjson v "$v" '{g: $g, s: $s, v: $v}' \
		>>"$SAMPLES" 2>/dev/null || true
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

# bpf_per BEFORE AFTER COUNT: run-time ns between two snapshots per COUNT
# (e.g. TCP segments sent: per packet, where a run may see a GSO aggregate
# of many), or empty.
bpf_per() {
	[ -n "$1" ] && [ -n "$2" ] && [ "${3:-0}" -gt 0 ] 2>/dev/null || return 0
	jq -rn --argjson a "$1" --argjson b "$2" --argjson n "$3" \
		'($b.run_time_ns - $a.run_time_ns) / $n * 10 | round / 10' 2>/dev/null
}

# c1_tcp_segs: TCP segments sent from c1's namespace so far (Tcp OutSegs:
# one per wire packet, however the stack aggregated them), or empty.
c1_tcp_segs() {
	in_ns "$NS_C1" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) col[$i] = i; h = 1; next }
		print $(col["OutSegs"]) }' /proc/net/snmp 2>/dev/null
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


declare -A S	# S[group.side] = space-separated samples, in run order
add() {	# add GROUP SIDE VALUE
	S[$1.$2]="${S[$1.$2]:-} ${3:-x}"
	sample "$1" "$2" "$3"
}
vals() { echo "${S[$1.$2]:-}" | tr ' ' '\n' | grep -v '^x\?$' || true; }
nfail() { echo "${S[$1.$2]:-}" | tr ' ' '\n' | grep -c '^x$' || true; }


# paired GROUP [A B]: median over rounds of A/B (sides tandem and baseline
# unless given; rounds where both ran).
paired() {
	local t b
	read -ra t <<<"${S[$1.${2:-tandem}]:-}"
	read -ra b <<<"${S[$1.${3:-baseline}]:-}"
	local i rs=""
	for ((i = 0; i < ${#t[@]} && i < ${#b[@]}; i++)); do
		rs="$rs $(ratio "${t[i]}" "${b[i]}")"
	done
	fmt 3 "$(median "$rs")"
}

cpu_ticks() {	# utime + stime of PID, in clock ticks
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ------------------------------------------------------------ lab up ---

# lab_single_up PREFIX: a single-switch lab named PREFIX + 6 hex digits, its
# env sourced, lbd started and (up to 20 s) every node up in lbd; c1 gets
# the whole port range (connrate opens tens of thousands of connections).
# 0, or 1 with LAB_WHY set (LAB stays set when the lab itself is up: the
# caller's lab_down removes it).
lab_single_up() {
	local n m
	LAB_WHY=""
	LAB=$1$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	log "lab $LAB up"
	if ! timeout 120 "$LAB_SH" up "$LAB" >>"$LOGS/lab.log" 2>&1; then
		LAB=""	# lab.sh removes a partial lab itself
		LAB_WHY="lab did not come up"
		return 1
	fi
	# shellcheck disable=SC1090
	. "/run/tandem-lab/$LAB/env"
	SW_IF=$(jq -r .client_interface "$LBD_CONF")
	NODE_IPS=()
	for n in $LAB_NODES; do
		m=${n^^}_IP4
		NODE_IPS+=("${!m}")
	done
	in_ns "$NS_C1" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" >/dev/null || true
	if ! timeout 40 "$LAB_SH" lbd-start "$LAB" >>"$LOGS/lab.log" 2>&1; then
		cp "$LBD_LOG" "$LOGS/lbd.log" 2>/dev/null
		LAB_WHY="tandem-lbd did not start (its log: lbd.log)"
		return 1
	fi
	wait_for 20 nodes_up || log "not all nodes up after 20 s; measuring anyway"
	timeout 5 "$B/tandemctl" -s "$LBD_SOCK" nodes >>"$LOGS/lab.log" 2>&1
	return 0
}

# find_affinity: warm-up through the VIP (iperf3, connrate) and find the
# node client affinity sends c1's iperf3 to (n1 when lbd cannot tell):
# baselines that want one node use that node's real address.
find_affinity() {
	local m
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
}
