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
#   ipv6_tcp_throughput_1stream,         IPv6 through the switch vs IPv4
#   ipv6_http_connections_per_second     through the switch: iperf3 and
#                                        connrate c1 -> VIP6 vs c1 -> VIP4
# Offline metrics (lb.bpf.o loaded unpinned, tests/tools/flowbench):
#   flow_repoint_update_p50_us / _p99_us, bpf_ns_per_packet_test_run,
#   flow_table_memory_1m / _8m, flow_table_bytes_per_entry,
#   bpf_ns_per_packet_hit_table / _new_flow / _hit_cached (flowbench paths;
#   BENCH_BPF_BEFORE=an older lb.bpf.o adds its figures, rounds interleaved)
# Pair metrics (stateful failover; three pair-mode labs, LAB_PAIR=1 lab.sh, one
# after the other: VRRP advert 200 ms (the lab default), 100 ms, and the
# appliance's defaults (20 ms, keepalived's VRRP process real-time)):
#   failover_outage_crash_ms[_advert100|_defaults]     switch-stop a hard under probes
#   failover_outage_graceful_ms[_advert100|_defaults]  switch-stop a (priority 0)
#       (tests/tools/failprobe: UDP echo every ms c2 -> VIP:5201 -> node ->
#       c2, and one keep-alive HTTP connection; outage = the silence that
#       spans the moment c2's probes turned to the new master (tcpdump on
#       the client LAN bridge), the longest one anywhere in the failover
#       window beside it; sessions must survive on the same node)
#   sync_updates_per_s          flowgen syn (test_run of the master's tc
#                               program) ladder; backup's rx.flows
#   sync_lag_p50_ms / _p99_ms   master syncd's lag_ms during connrate
#   sync_lag_e2e_p50_ms / _p99_ms  flowgen lag: SYN on the master -> flow in
#                               the backup's map, same run
#   sync_resync_1m_s            1M flows in the master's map, backup syncd
#                               restarted, until synced (tests/tools/syncwatch)
# Section hop (tests/bench/hop.sh): hop_ns_per_packet, one switch hop's CPU
# per packet (tests/tools/rawgen into the switch, dropped at the node's
# ingress), Tandem against kernel forwarding.
# Section foload (tests/bench/foload.sh): failover_load_state_changes, the
# defaults' VRRP state changes in FOLOAD_SECONDS (600) of saturated CPUs.
#
# The binaries under test are copied to a private directory first (others
# may rebuild build/ meanwhile).  A failed measurement becomes value null with
# a note; the run goes on.  Takes about 15 minutes with the defaults (single-
# switch lab ~3, peers ~8, offline ~1, pair ~3), plus the handoff, nfs and aa
# sections.
#
# Handoff metrics (tests/bench/handoff.sh, its own lab with tandem-nasd):
#   handoff_latency_p50_us / _p99_us, handoff_client_stall_p50_ms / _p99_ms,
#   stream_throughput_continuous_handoffs_mbps, drain_sessions_s (1000
#   sessions moved off a drained node)
# NFS metrics (tests/bench/nfs.sh, its own lab with tandem-nasd's NFSv3):
#   nfs_read_mbps / nfs_write_mbps (VIP vs direct to a node, target ratio
#   >= 0.95), nfs_metadata_ops_per_s, nfs_handoff_call_p99_ms / _max_ms
# NFS peer metrics (tests/bench/nfspeer.sh, its own lab, nfs-ganesha in a
#   namespace beside n1 exporting the same directory): nfspeer_read_mbps /
#   _write_mbps, nfspeer_pipeline_calls_per_s, nfspeer_metadata_ops_per_s
#   (value tandem-nasd, baseline nfs-ganesha, target ratio >= 1.0),
#   nlm_lock_unlock_per_s (VIP vs direct)
# Directory metrics (tests/bench/directory.sh, its own pair lab with the
#   directory, nslcd and tandem-nasd): nfs_meta_ops_per_s_manage_gids (as a
#   user in 40 groups, vs without manage_gids), policy_enforce_p50_ms /
#   _p99_ms (a netgroup change to every node enforcing it)
# SMB metrics (tests/bench/smb.sh, its own lab with Samba's smbd, LAB_SMB=1):
#   smb_read_mbps / smb_write_mbps (smbclient, VIP vs direct to a node,
#   target ratio >= 0.95)
#
# Peer metrics (tests/bench/peers.sh, its own single-switch lab): Tandem
#   beside plain routing, nftables DNAT, HAProxy mode tcp and IPVS, rounds
#   interleaved: peers_PEER_tcp_throughput_1stream / _4streams,
#   _http_connections_per_second, _udp_pps_64byte_frames,
#   _cpu_us_per_connection (value Tandem, baseline the peer); its table
#   (peers.md) comes first in results.md
# Active-active metrics (tests/bench/aa.sh, its own pair lab with BIND 9):
#   aa_tcp_throughput_gbps, aa_connections_per_second (both switches
#   forwarding vs one: ratio), dns_withdraw_p50_ms / _p99_ms (service down
#   -> record gone), dns_answers_per_second (dnsperf under update load)
#
# Usage: tests/bench/run.sh [--only lab,peers,flow,pair,handoff,nfs,nfspeer,directory,smb,aa,foload,group]  (or BENCH_ONLY=...): run
# only those sections.  A partial run writes to tests/out/bench-only-SECTIONS/
# (results and logs) unless BENCH_OUT / BENCH_LOGS say otherwise, so it never
# overwrites the full bench/results.*.
# Exit: 0 when results were written, 1 on harness errors (not root, missing
# build or tools, the lab cannot come up, results cannot be written).
#
# Environment: BENCH_ROUNDS (5), BENCH_SECONDS (5, per run), BENCH_OUT
# (bench/), BENCH_LOGS (tests/out/bench/), TANDEM_BUILD (build/),
# BENCH_FAILOVER_TRIALS (3: failovers per kind and advert interval),
# BENCH_PAIR_LABS ("200 100 default": which pair labs, by VRRP advert).
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

PROBE_PIDS=()		# failprobe processes we started (pair section)
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

# cpu_model
. "$REPO/tests/bench/host.sh"
# num fmt ratio met median metric sample, lab plumbing, iperf_run conn_run
# udp_run, add vals nfail paired, lab_single_up, find_affinity
. "$REPO/tests/bench/lib_lab.sh"

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
		--arg cpuref_start "${CPUREF_START:-n/a n/a}" --arg cpuref_end "${CPUREF_END:-n/a n/a}" \
		--argjson seconds "$DUR" --argjson elapsed "$((SECONDS - T_START))" \
		--arg git "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" \
		'{date: $date, kernel: $kernel, cpu: $cpu, loadavg_at_start: $load, rounds: $rounds,
		  seconds_per_run: $seconds, elapsed_s: $elapsed, git: $git, how: $how,
		  cpuref: {start: ($cpuref_start | split(" ") | {cpu_ms: .[0], wall_ms: .[1]}),
			   end: ($cpuref_end | split(" ") | {cpu_ms: .[0], wall_ms: .[1]})}}')
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
		echo "- machine-speed reference (tests/bench/cpuref.c, CPU / wall ms, median of 3): start ${CPUREF_START:-n/a}, end ${CPUREF_END:-n/a}"
		echo "- git: $(jq -r .git <<<"$meta"); bench time $((SECONDS - T_START)) s"
		echo
		[ ! -s "$WORK/peers/peers.md" ] || cat "$WORK/peers/peers.md"
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
	for p in "${SINK_PIDS[@]}" "${PROBE_PIDS[@]}"; do
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

# ---------------------------------------------------------- lab section ---

# One baseline/Tandem pair of metric M in round R (order alternates).
pair() {
	local m=$1 r=$2 side v before after d segs0 segs1 dp
	local order="baseline tandem"
	[ $((r % 2)) = 1 ] || order="tandem baseline"
	for side in $order; do
		segs0=$(c1_tcp_segs)
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
		tcp1v6.tandem) v=$(iperf_run "$VIP6" 1 "tcp1v6-t$r") ;;
		tcp1v6.baseline) v=$(iperf_run "$VIP4" 1 "tcp1v6-b$r") ;;
		cpsv6.tandem) v=$(conn_run "v6t$r" "$VIP6") ;;
		cpsv6.baseline) v=$(conn_run "v6b$r" "$VIP4") ;;
		esac
		if [ "$m" = udp ]; then
			sample udp_detail "$side" "$(cat "$LOGS/udpdetail-${side:0:1}$r.json" 2>/dev/null)"
		fi
		after=$(bpf_snap)
		segs1=$(c1_tcp_segs)
		add "$m" "$side" "$v"
		d=$(bpf_delta "$before" "$after")
		if [ "$side" = tandem ] && [ "$m" != udp ] && [ -n "$segs0" ] && [ -n "$segs1" ]; then
			# per TCP segment c1 sent (all of them go through the program: DSR
			# leaves only client -> VIP packets, and c1 talks to nothing else)
			dp=$(bpf_per "$before" "$after" $((segs1 - segs0)))
			sample "bpf_ns_per_segment" "$m.$side" "${dp:-null}"
			[ -n "$dp" ] && S[bpfseg.$m]="${S[bpfseg.$m]:-} $dp"
		fi
		sample "bpf_ns_per_run" "$m.$side" "${d:-null}"
		sample "bpf_runs" "$m.$side" "$(bpf_runs "$before" "$after")"
		[ "$side" = tandem ] && [ -n "$d" ] && S[bpf.$m]="${S[bpf.$m]:-} $d"
		[ "$side" = baseline ] && [ -n "$d" ] && S[bpfpass.$m]="${S[bpfpass.$m]:-} $d"
		log "round $r $m $side: ${v:-FAILED} (bpf ${d:-?} ns/run)"
	done
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
	metric ipv6_tcp_throughput_1stream "" Gbit/s "" "" "ratio >= 0.95" null "$why"
	metric ipv6_http_connections_per_second "" conn/s "" "" "ratio >= 0.95" null "$why"
	metric bpf_ns_per_packet_udp "" ns/packet "" "" "<= 100 ns" null "$why"
	metric bpf_ns_per_packet_tcp "" ns/packet "" "" "<= 100 ns" null "$why"
}

lab_section() {
	local r m
	if ! lab_single_up bn; then
		[ -n "$LAB" ] || harness_error "lab.sh up failed (see $LOGS_FINAL/lab.log)"
		lab_fail_metrics "$LAB_WHY${LAB:+ (see $LOGS_FINAL)}"
		return
	fi
	find_affinity

	if [ -z "$(bpf_snap)" ]; then
		log "cannot read the tc program's statistics (see $LOGS_FINAL/bpfstats.log)"
	fi
	BPF_STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo "")
	sysctl -q -w kernel.bpf_stats_enabled=1 >/dev/null 2>&1 || log "cannot enable kernel.bpf_stats_enabled"

	for ((r = 1; r <= ROUNDS; r++)); do
		for m in tcp1 tcp4 cps udp tcp1v6 cpsv6; do
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
	report_pair ipv6_tcp_throughput_1stream tcp1v6 Gbit/s 3 0.95 \
		"IPv6 vs IPv4 through the switch: iperf3 -c, 1 stream, ${DUR} s, c1 $C1_IP6 -> VIP6 $VIP6 vs c1 $C1_IP4 -> VIP4 $VIP4 (each to the node client affinity picks for it)"
	report_pair ipv6_http_connections_per_second cpsv6 conn/s 0 0.95 \
		"IPv6 vs IPv4 through the switch: tests/tools/connrate in c1, $CONC connections in flight, each a new TCP connection doing GET /node, ${DUR} s, to VIP6 vs to VIP4 (both spread over n1..n3 by Maglev)"
	report_pair udp_pps_64byte_frames udp packets/s 0 1.2 \
		"tests/tools/udpblast in c1: one socket (one flow), sendmmsg of ${UDP_PAYLOAD}-byte UDP payloads (46-byte IPv4 packets = 64-byte Ethernet frames incl. FCS) for ${DUR} s, to VIP:5201/udp vs $AFF_NODE's address; counted = datagrams reaching the nodes' UDP sockets (tests/tools/udpsink: read + socket-buffer drops) / send time; ${S[udpnote]:-}. When nothing is lost the rate is bound by the CPU cost of the whole path (sender, switch and receiver share the 2 CPUs; veth forwarding runs in softirq on the sending CPU), so the ratio compares per-packet path costs"

	local udp tcp tcpsamples cpsb passb passt skbsamples skb cpsseg
	udp=$(median "${S[bpf.udp]:-}")
	tcpsamples="${S[bpfseg.tcp1]:-} ${S[bpfseg.tcp4]:-}"
	tcp=$(median "$tcpsamples")
	skbsamples="${S[bpf.tcp1]:-} ${S[bpf.tcp4]:-}"
	skb=$(fmt 1 "$(median "$skbsamples")")
	cpsseg=$(fmt 1 "$(median "${S[bpfseg.cps]:-}")")
	cpsb=$(fmt 1 "$(median "${S[bpf.cps]:-}")")
	passb=$(fmt 1 "$(median "${S[bpfpass.udp]:-}")")
	passt=$(fmt 1 "$(median "${S[bpfpass.tcp1]:-} ${S[bpfpass.tcp4]:-}")")
	metric bpf_ns_per_packet_udp "$(fmt 1 "$udp")" ns/packet "" "" "<= 100 ns" "$(met "$udp" le 100)" \
		"lbd's tc program (client_interface $SW_IF ingress), kernel BPF stats: delta run_time_ns / delta run_cnt over each Tandem UDP run, median; every run is a flow-table hit. Samples [$(xargs <<<"${S[bpf.udp]:-}")]. The same program on the baseline UDP runs (not a VIP: lookup miss, pass) costs ${passb:-?} ns"
	metric bpf_ns_per_packet_tcp "$(fmt 1 "$tcp")" ns/packet "" "" "<= 100 ns" "$(met "$tcp" le 100)" \
		"per TCP segment: delta run_time_ns of the program over each Tandem iperf3 run (1 and 4 streams) / the TCP segments c1 sent meanwhile (Tcp OutSegs of c1's namespace: one per wire packet; only client -> VIP packets pass the program, replies bypass it (DSR)), median. Samples [$(xargs <<<"$tcpsamples")]. Per run (one skb: veth hands GSO aggregates of up to 64 KiB to tc, so per aggregate): ${skb:-?} ns [$(xargs <<<"$skbsamples")]; the same program on the baseline iperf3 runs (pass path): ${passt:-?} ns per skb. During the Tandem HTTP connection runs (small packets, one new flow per connection): ${cpsb:-?} ns per run, ${cpsseg:-?} ns per segment. All BPF-stats figures include the kernel's per-run clock reads (sched_clock, twice per run)"
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
	flow_paths
}

# flow_paths: the program's own run time per packet on each path of the
# flow decision (tests/tools/flowbench paths: one bpf_prog_test_run per
# packet, 20000 distinct flows in a 160000-entry table, so the table's lines
# are mostly out of the CPU's caches, as with many clients), less the floor
# (an empty tc program through the same one-run test_run, what the
# measurement itself adds); hit_hot: one flow, test_run repeat (cached).
# Rounds interleaved with BENCH_BPF_BEFORE (an older lb.bpf.o), when given,
# for a before/after in one run.
flow_paths() {
	local r o tag objs=now k v note before b
	local -A obj=([now]="$B/lb.bpf.o")
	if [ -n "${BENCH_BPF_BEFORE:-}" ] && cp "$BENCH_BPF_BEFORE" "$WORK/lb-before.bpf.o" 2>/dev/null; then
		obj[before]=$WORK/lb-before.bpf.o
		objs="now before"
	fi
	log "data-plane paths: flowbench paths, $ROUNDS rounds ($objs)"
	for ((r = 1; r <= ROUNDS; r++)); do
		for tag in $objs; do
			o=$(timeout 120 "$TOOLS/flowbench" paths -n 20000 "${obj[$tag]}" 2>>"$LOGS/flowbench-paths.err")
			[ -n "$o" ] && printf '%s\n' "$o" >>"$LOGS/flowbench-paths-$tag.jsonl"
		done
	done
	# path_ns TAG KEY: median over the rounds of KEY less the floor (hit_hot: as is)
	path_ns() {
		jq -rs --arg k "$2" '[.[] | select(.[$k] != null and .[$k] >= 0) |
			if $k == "hit_hot" then .[$k] else .[$k] - .floor end] | sort |
			if length == 0 then empty else .[(length - 1) / 2 | floor] * 10 | round / 10 end' \
			"$LOGS/flowbench-paths-$1.jsonl" 2>/dev/null
	}
	local floor line
	floor=$(jq -rs '[.[].floor] | sort | if length == 0 then empty else .[(length - 1) / 2 | floor] end' \
		"$LOGS/flowbench-paths-now.jsonl" 2>/dev/null)
	line=$(jq -rs '[.[] | select(.line_ns_4k != null)] | if length == 0 then empty else
		"an uncached load on this machine (flowbench line_ns: dependent random walk over 32 MiB) takes \(map(.line_ns_4k) | sort | .[(length - 1) / 2 | floor]) ns on 4 KiB pages (as a large BPF map), \(map(.line_ns_huge) | sort | .[(length - 1) / 2 | floor]) ns on huge pages" end' \
		"$LOGS/flowbench-paths-now.jsonl" 2>/dev/null)
	for k in hit:bpf_ns_per_packet_hit_table:100 syn_new:bpf_ns_per_packet_new_flow:300 \
		hit_hot:bpf_ns_per_packet_hit_cached:100; do
		IFS=: read -r key name target <<<"$k"
		v=$(path_ns now "$key")
		b=""
		[ "$objs" = now ] || b=$(path_ns before "$key")
		before=${b:+; the same run with BENCH_BPF_BEFORE ($(basename "$BENCH_BPF_BEFORE")), rounds interleaved: $b ns}
		case "$key" in
		hit) note="ACK of an existing flow (FWD_HIT), 20000 distinct flows each sent once per round, in a 160000-entry lb_flows: per packet the flow's bucket and entry come from memory, as with many active clients" ;;
		syn_new) note="SYN of a new flow (FWD_NEW): flow-table miss, pin-table miss, Maglev pick, LRU insert, ring-buffer event for tandem-syncd (nobody consumes it here, so the ring's lines are cold as in a ring that wraps)" ;;
		hit_hot) note="one flow's ACK run again and again (bpf_prog_test_run repeat 1000000, the kernel's average): every line cached, the best case, close to one flow at a high rate" ;;
		esac
		[ "$key" = hit_hot ] || note="$note; one bpf_prog_test_run per packet, the kernel's duration less the floor (median ${floor:-?} ns: an empty tc program through the same one-run test_run)"
		metric "$name" "$v" ns/packet "" "" "<= $target ns" "$(met "$v" le "$target")" \
			"tests/tools/flowbench paths on lb.bpf.o (unpinned, unattached), median of $ROUNDS rounds: $note$before${line:+; $line}; doc/dataplane-cost.md has the breakdown"
	done
}

# --------------------------------------------------------- pair section ---
# Stateful failover: two switches (LAB_PAIR=1 lab.sh), tandem-syncd between
# them, keepalived moving the VIPs.  Lab "A" (the lab default VRRP advert,
# 200 ms; flow_table_size PAIR_FLOWS) measures the sync metrics and the
# failovers; lab "B" (advert 100 ms) only the failovers.

PAIR_TRIALS=${BENCH_FAILOVER_TRIALS:-3}	# failovers per kind and advert interval
PAIR_FLOWS=2097152			# lab A's flow_table_size (room for the 1M resync)
RESYNC_N=1048576
UPD_RATES="100000 200000 300000 400000 500000"	# sync_updates_per_s ladder (offered SYN/s)
UPD_SECS=2				# seconds per ladder step
GAP_MS=2				# probe gaps shorter than this are not listed (1 ms probes)

pair_metric_names() {	# NAME:UNIT:TARGET for every pair metric
	cat <<'EOF'
failover_outage_crash_ms:ms:<= 500 ms, every session kept
failover_outage_crash_ms_advert100:ms:<= 500 ms, every session kept
failover_outage_graceful_ms:ms:<= 100 ms, every session kept
failover_outage_graceful_ms_advert100:ms:<= 100 ms, every session kept
failover_outage_crash_ms_defaults:ms:<= 100 ms, every session kept
failover_outage_graceful_ms_defaults:ms:<= 20 ms, every session kept
sync_updates_per_s:flows/s:>= 200000
sync_lag_p50_ms:ms:report (p99 <= 5 ms)
sync_lag_p99_ms:ms:<= 5 ms
sync_lag_e2e_p50_ms:ms:report (p99 <= 5 ms)
sync_lag_e2e_p99_ms:ms:<= 5 ms
sync_resync_1m_s:s:<= 2 s
EOF
}

pair_fail_metrics() {	# every pair metric not measured yet: null, with REASON
	local why=$1 line name
	while IFS= read -r line; do
		name=${line%%:*}
		grep -q "\"name\":\"$name\"" "$METRICS" 2>/dev/null && continue
		line=${line#*:}
		metric "$name" "" "${line%%:*}" "" "" "${line#*:}" null "$why"
	done < <(pair_metric_names)
}

sd_status() { timeout 5 "$B/tandemctl" -s "$1" --json status 2>/dev/null; }
lbd_role() { timeout 5 "$B/tandemctl" -s "$1" --json status 2>/dev/null | jq -r '.role // empty' 2>/dev/null; }

# pair_stable: a is master, b backup, both syncd synced with the peer alive.
pair_stable() {
	[ "$(lbd_role "$LBD_SOCK_A")" = master ] && [ "$(lbd_role "$LBD_SOCK_B")" = backup ] &&
		sd_status "$SYNCD_SOCK_A" | jq -e '.synced and .ready and .peer.alive' >/dev/null 2>&1 &&
		sd_status "$SYNCD_SOCK_B" | jq -e '.synced and .ready and .peer.alive' >/dev/null 2>&1
}

pair_lab_up() {	# pair_lab_up ADVERT_MS FLOWS: lab up, both switches started and stable
	local adv=$1 flows=$2 x
	LAB=bp$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	log "pair lab $LAB up (VRRP advert $adv ms, flow_table_size $flows)"
	if ! LAB_PAIR=1 LAB_ADVERT_MS=$adv LAB_FLOWS=$flows timeout 120 "$LAB_SH" up "$LAB" \
		>>"$LOGS/pair-lab.log" 2>&1; then
		LAB=""
		PAIR_WHY="pair lab did not come up (see $LOGS_FINAL/pair-lab.log)"
		return 1
	fi
	# shellcheck disable=SC1090
	. "/run/tandem-lab/$LAB/env"
	for x in a b; do
		if ! timeout 60 "$LAB_SH" switch-start "$LAB" "$x" >>"$LOGS/pair-lab.log" 2>&1; then
			PAIR_WHY="switch $x did not start (see $LOGS_FINAL/pair-lab.log and the switch logs)"
			return 1
		fi
	done
	if ! wait_for 30 pair_stable; then
		PAIR_WHY="the pair did not settle (a master, b backup, both synced) within 30 s"
		return 1
	fi
	INST_A=$(jq -r .instance "$CONF_A")
	INST_B=$(jq -r .instance "$CONF_B")
	MAP_A=$SWA_DIR/bpffs/tandem/$INST_A/lb_flows
	MAP_B=$SWB_DIR/bpffs/tandem/$INST_B/lb_flows
	return 0
}

pair_lab_down() {	# keep the switches' logs, then remove the lab
	local x f tag=$1
	[ -n "$LAB" ] || return 0
	for x in a b; do
		for f in lbd syncd keepalived; do
			cp "/run/tandem-lab/$LAB/sw-$x/$f.log" "$LOGS/pair-$tag-sw$x-$f.log" 2>/dev/null
		done
	done
	lab_down
}

pid_gone() {	# PID is gone or a zombie (its parent may reap lazily)
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	[ "${st%% *}" = Z ]
}

rcvbuf_errors() {	# UdpRcvbufErrors in namespace NS
	ip netns exec "$1" nstat -az UdpRcvbufErrors 2>/dev/null | awk '$1 == "UdpRcvbufErrors" { print $2 }'
}

probe_stop() {
	local p
	for p in "${PROBE_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PROBE_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	PROBE_PIDS=()
}

# ---- failover ----

# pair_trial KIND TAG: one failover of switch a (KIND crash = switch-stop
# hard, graceful = switch-stop) under the probes, then a restarted.  Prints
# one JSON object (the trial's sample) or nothing.
pair_trial() {
	local kind=$1 tag=$2 n ns t0 t1 vb va flows uport tport tsw ok=1 hard=""
	[ "$kind" = crash ] && hard=hard
	if ! wait_for 40 pair_stable; then
		log "failover $tag: the pair is not stable (a master, b backup, synced); skipped"
		return 0
	fi
	PROBE_PIDS=()
	for n in $LAB_NODES; do
		ns=NS_${n^^}
		ip netns exec "${!ns}" "$TOOLS/failprobe" echo -n "$n" "$VIP4" 5201 \
			>"$LOGS/fo-$tag-echo-$n.json" 2>>"$LOGS/failprobe.err" &
		PROBE_PIDS+=($!)
	done
	for n in $LAB_NODES; do
		ns=NS_${n^^}
		wait_for 5 sink_listening "${!ns}" || ok=0
	done
	# c2: the probes are its only flows
	ip netns exec "$NS_C2" "$TOOLS/failprobe" udp -t 60 -i 1000 -g "$GAP_MS" "$VIP4" 5201 \
		>"$LOGS/fo-$tag-udp.json" 2>>"$LOGS/failprobe.err" &
	PROBE_PIDS+=($!)
	ip netns exec "$NS_C2" "$TOOLS/failprobe" tcp -t 60 -i 1000 -g "$GAP_MS" "$VIP4" 80 \
		>"$LOGS/fo-$tag-tcp.json" 2>>"$LOGS/failprobe.err" &
	PROBE_PIDS+=($!)
	sleep 1.5
	# Does the backup hold the probes' flows (written by its syncd)?
	uport=$(ip netns exec "$NS_C2" ss -Hnu state established "( dport = :5201 )" 2>/dev/null |
		awk '{ n = split($3, a, ":"); print a[n]; exit }')
	tport=$(ip netns exec "$NS_C2" ss -Hnt state established "( dport = :80 )" 2>/dev/null |
		awk '{ n = split($3, a, ":"); print a[n]; exit }')
	flows=$(timeout 10 "$B/tandemctl" -s "$LBD_SOCK_B" --json flows --limit 1000000 2>/dev/null |
		jq -c --arg c "$C2_IP4" --arg u "${uport:-0}" --arg t "${tport:-0}" '[.flows[] |
			select(.client == $c and ((.proto == "udp" and .client_port == ($u | tonumber)) or
						  (.proto == "tcp" and .client_port == ($t | tonumber)))) |
			"\(.proto)/\(.port) on \(.node)\(if (.flags | index("synced")) then " (synced)" else "" end)"] | sort' \
			2>/dev/null)
	vb=$(timeout 5 "$B/tandemctl" -s "$LBD_SOCK_B" --json stats 2>/dev/null | jq -c .verdicts 2>/dev/null)
	# The instant the client's path moves: c2's first probe to b's MAC,
	# captured on c2's port of the client LAN's bridge (pair_switch_watch).
	pair_switch_watch "$tag" ||
		log "failover $tag: no capture of the path change (tcpdump): the window's longest gap stands for the takeover"
	t0=$(date +%s.%N)
	timeout 60 "$LAB_SH" switch-stop "$LAB" a $hard >>"$LOGS/pair-lab.log" 2>&1 || ok=0
	t1=$(date +%s.%N)
	sleep 3		# TCP's retransmission timer needs a while after a long outage
	tsw=$(pair_switch_time "$tag")
	va=$(timeout 5 "$B/tandemctl" -s "$LBD_SOCK_B" --json stats 2>/dev/null | jq -c .verdicts 2>/dev/null)
	probe_stop
	[ -z "$hard" ] || timeout 20 "$LAB_SH" switch-links "$LAB" a up >>"$LOGS/pair-lab.log" 2>&1
	timeout 60 "$LAB_SH" switch-start "$LAB" a >>"$LOGS/pair-lab.log" 2>&1 ||
		log "failover $tag: switch a did not restart"
	[ "$ok" = 1 ] || { log "failover $tag: probe setup or switch-stop failed"; return 0; }
	jq -cn --arg kind "$kind" --argjson t0 "$t0" --argjson t1 "$t1" --argjson res "$GAP_MS" \
		--slurpfile u "$LOGS/fo-$tag-udp.json" --slurpfile t "$LOGS/fo-$tag-tcp.json" \
		--argjson flows "${flows:-null}" --argjson vb "${vb:-null}" --argjson va "${va:-null}" \
		--argjson tsw "${tsw:-null}" \
		--argjson echo "$(cat "$LOGS"/fo-"$tag"-echo-*.json 2>/dev/null | jq -s -c . 2>/dev/null || echo null)" '
		def kept(p): p.error == null and p.node_changes == 0 and p.last_rx > $t1 and p.received > 0;
		# the failover window: from the stop command until 1 s after it returned
		def inwin: .[0] < $t1 + 1 and .[0] + .[1] / 1000 > $t0;
		def win(p): [p.gaps[] | select(inwin)] | max_by(.[1]) // [null, 0];
		def outside(p): [p.gaps[] | select(inwin | not) | .[1]] | max // 0;
		# the takeover: the gap that spans the moment c2 turned to the new
		# master (no such gap: shorter than the probe resolution)
		def takeover(p): if $tsw == null then null else
			([p.gaps[] | select(.[0] <= $tsw and .[0] + .[1] / 1000 >= $tsw) | .[1]] | max // $res) end;
		($u[0]) as $u | ($t[0]) as $t | win($u) as $uw | win($t) as $tw |
		{kind: $kind, stop_cmd_ms: (($t1 - $t0) * 1000 | round),
		 udp_gap_ms: (if $uw[0] then $uw[1] else $res end), udp_gap_after_stop_ms: (if $uw[0] then ($uw[0] - $t0) * 1000 | round else null end),
		 udp_noise_ms: outside($u), udp_max_gap_ms: $u.max_gap_ms,
		 udp_takeover_ms: takeover($u),
		 path_switch_after_stop_ms: (if $tsw then ($tsw - $t0) * 1000 | round else null end),
		 fwd_takeover_ms: ([$echo[]? | select(.received > 100) | takeover(.)] | max),
		 udp_lost: $u.lost, udp_sent: $u.sent, udp_kept: kept($u), udp_node: $u.last_node,
		 tcp_gap_ms: (if $tw[0] then $tw[1] else $res end), tcp_noise_ms: outside($t), tcp_kept: kept($t), tcp_node: $t.last_node,
		 tcp_error: $t.error,
		 fwd_gap_ms: ([$echo[]? | select(.received > 100) | win(.) | if .[0] then .[1] else $res end] | max),
		 fwd_received: ([$echo[]? | .received] | add),
		 backup_had: $flows,
		 new_master: (if $va and $vb then {fwd_hit: ($va.fwd_hit - $vb.fwd_hit),
			fwd_new: ($va.fwd_new - $vb.fwd_new),
			fwd_midstream: ($va.fwd_midstream - $vb.fwd_midstream),
			fwd_rehash: ($va.fwd_rehash_syn + $va.fwd_rehash_down - $vb.fwd_rehash_syn - $vb.fwd_rehash_down)}
			else null end)}' 2>>"$LOGS/failprobe.err"
}

# pair_switch_watch TAG: tcpdump on c2's port of the client LAN (in the
# hub) waits for c2's first UDP probe to switch b's MAC: the moment c2's
# neighbour entry for the VIP turned to the new master.  Only frames to
# b's MAC match (before the takeover c2 addresses a), one is enough.
# 0 once tcpdump listens, -1 if it does not within 5 s.
pair_switch_watch() {
	local mac
	SWITCH_PID=""
	mac=$(ip -n "$NS_SWB" link show eth0 2>/dev/null | awk '/link\/ether/ { print $2 }')
	[ -n "$mac" ] && command -v tcpdump >/dev/null || return 1
	ip netns exec "$NS_HUB" timeout 30 tcpdump -i c2 -nn -tt -l -c 1 \
		"ether dst $mac and udp dst port 5201" >"$LOGS/fo-$1-switch.txt" 2>"$LOGS/fo-$1-switch.err" &
	SWITCH_PID=$!
	wait_for 5 grep -q "listening on" "$LOGS/fo-$1-switch.err"
}

# pair_switch_time TAG: the capture's time stamp (CLOCK_REALTIME seconds,
# as failprobe's), or nothing.
pair_switch_time() {
	local i
	[ -n "$SWITCH_PID" ] || return 0
	for ((i = 0; i < 50; i++)); do
		pid_gone "$SWITCH_PID" && break
		sleep 0.1
	done
	kill "$SWITCH_PID" 2>/dev/null
	wait "$SWITCH_PID" 2>/dev/null
	awk 'NR == 1 && $1 ~ /^[0-9]+\.[0-9]+$/ { print $1 }' "$LOGS/fo-$1-switch.txt" 2>/dev/null
}

# pair_failovers ADVERT: PAIR_TRIALS crashes and graceful stops, interleaved.
pair_failovers() {
	local adv=$1 i kind s
	for ((i = 1; i <= PAIR_TRIALS; i++)); do
		for kind in crash graceful; do
			s=$(pair_trial "$kind" "$kind-$adv-$i")
			sample failover "$kind.advert$adv" "${s:-null}"
			if [ -n "$s" ]; then
				log "failover $kind (advert $adv ms) $i: $(jq -r '"UDP takeover gap \(.udp_takeover_ms) ms (path moved at +\(.path_switch_after_stop_ms) ms), longest in the window \(.udp_gap_ms) ms at +\(.udp_gap_after_stop_ms) ms (noise outside: \(.udp_noise_ms) ms; kept \(.udp_kept)), TCP \(.tcp_gap_ms) ms (kept \(.tcp_kept)), forward-only \(.fwd_takeover_ms) ms (window \(.fwd_gap_ms) ms); backup held \(.backup_had)"' <<<"$s")"
				echo "$s" >>"$WORK/fo-$kind-$adv.jsonl"
			else
				log "failover $kind (advert $adv ms) $i: FAILED"
				echo null >>"$WORK/fo-$kind-$adv.jsonl"
			fi
		done
	done
}

# report_failover NAME KIND ADVERT LIMIT_MS
report_failover() {
	local name=$1 kind=$2 adv=$3 lim=$4 f=$WORK/fo-$2-$3.jsonl v note m skew
	skew=$(awk -v a="$adv" 'BEGIN { printf "%.0f", (256 - 100) / 256 * a }')
	if [ ! -s "$f" ] || ! jq -e -s 'map(select(. != null)) | length > 0' "$f" >/dev/null 2>&1; then
		metric "$name" "" ms "" "" "<= $lim ms, every session kept" null \
			"no successful trial (see $LOGS_FINAL/pair-lab.log, failprobe.err)"
		return
	fi
	v=$(jq -s 'map(select(. != null) | .udp_takeover_ms // .udp_gap_ms) | max | . * 10 | round / 10' "$f")
	note=$(jq -rs --arg kind "$kind" --argjson adv "$adv" --argjson skew "$skew" --argjson res "$GAP_MS" '
		def r1: if type == "number" then . * 10 | round / 10 else "?" end;
		def l(f): map(f | r1 | tostring) | join(", ");
		(map(select(. != null))) as $ok |
		"switch-stop a\(if $kind == "crash" then " hard (every process of switch a frozen, its two LAN ports cut in one ip -batch and its sync link, then SIGKILL of lbd, syncd and keepalived)" else " (keepalived gets SIGTERM first and sends priority-0 adverts; then lbd and syncd stop, syncd once the data plane is quiet)" end), VRRP advert \($adv) ms, backup priority 100 (skew \($skew) ms\(if $kind == "crash" then "; master-down interval 3 x \($adv) + \($skew) = \(3 * $adv + $skew) ms, less the time since the last advert" else "" end)). Value = the WORST of \($ok | length) trials (\(length - ($ok | length)) failed to run) of the takeover gap of a UDP echo probe: c2 sends one 16-byte datagram per ms to VIP:5201, the node echoes it from the VIP (both directions through the pair: requests by the switch program, replies by the storage gateway); the takeover gap is the silence that spans the moment c2'"'"'s probes turned to the new master (its first probe to b'"'"'s MAC, tcpdump on c2'"'"'s port of the client LAN bridge), so it holds both directions'"'"' outage and no unrelated stall of this shared host; a value of \($res) means no gap of \($res) ms or more spans it (the probe resolution). Takeover gap per trial [\($ok | l(.udp_takeover_ms))] ms (median \($ok | map(.udp_takeover_ms // .udp_gap_ms) | sort | .[(length - 1) / 2 | floor] | r1)), the path moved [\($ok | l(.path_switch_after_stop_ms))] ms after the stop command. The longest silence anywhere in the failover window (from the stop command until 1 s after it returned; noise of this shared 2-CPU host included) [\($ok | l(.udp_gap_ms))] ms, starting [\($ok | l(.udp_gap_after_stop_ms))] ms after the stop command, probes lost [\($ok | map(.udp_lost) | join(", "))]; longest gap outside the window [\($ok | l(.udp_noise_ms))] ms. Client -> node direction alone (echo side): takeover gap [\($ok | l(.fwd_takeover_ms))] ms, longest in the window [\($ok | l(.fwd_gap_ms))] ms\(if $kind == "crash" then " (a switch forwards only frames addressed to its own MAC, so both directions wait for the backup'"'"'s gratuitous ARPs: for the VIP on the client side, for the gateway on the storage side)" else "" end). TCP, one keep-alive HTTP/1.1 connection to VIP:80 with GET /node every ms: longest wait in the window [\($ok | l(.tcp_gap_ms))] ms (TCP retransmission back-off included: 200 ms minimum RTO, doubling). Sessions kept (same node, no reset, answers after the stop): UDP \($ok | map(select(.udp_kept)) | length)/\($ok | length), TCP \($ok | map(select(.tcp_kept)) | length)/\($ok | length). Before each stop the backup held the probes'"'"' flows: \($ok | map(.backup_had | if . == null then "?" else join(" + ") end) | unique | join(" / ")); the new master counted per trial \($ok | map(.new_master | "\(.fwd_hit) hits, \(.fwd_midstream) midstream, \(.fwd_new) new, \(.fwd_rehash) rehash") | join("; "))"' "$f")
	m=$(jq -s --argjson lim "$lim" 'map(select(. != null)) |
		(map(.udp_takeover_ms // .udp_gap_ms) | max) <= $lim and all(.udp_kept and .tcp_kept)' "$f")
	metric "$name" "$v" ms "" "" "<= $lim ms, every session kept" "$m" "$note"
}

# ---- sync rate, lag, resync ----

pair_lag() {
	local s0 s1 e2e cr idle
	log "sync lag: connrate through the VIP for ${DUR} s, end-to-end probe meanwhile"
	ip netns exec "$NS_SWA" timeout 30 "$TOOLS/flowgen" lag -i eth0 -m "$MAP_B" -t 2 -e 5 -b 79000000 \
		>"$LOGS/pair-lag-e2e-idle.json" 2>>"$LOGS/flowgen.err"
	idle=$(cat "$LOGS/pair-lag-e2e-idle.json" 2>/dev/null)
	sample sync_lag e2e_idle "${idle:-null}"
	s0=$(sd_status "$SYNCD_SOCK_A" | jq -c '.lag_ms + {retransmits: .tx.retransmits, resyncs: .resyncs.sent}')
	ip netns exec "$NS_C1" timeout $((DUR + 20)) "$TOOLS/connrate" -c "$CONC" -t "$DUR" -p 80 "$VIP4" \
		>"$LOGS/pair-connrate.json" 2>>"$LOGS/connrate.err" &
	local cpid=$!
	sleep 0.5
	ip netns exec "$NS_SWA" timeout $((DUR + 20)) "$TOOLS/flowgen" lag -i eth0 -m "$MAP_B" \
		-t "$((DUR - 1))" -e 10 -b 80000000 >"$LOGS/pair-lag-e2e.json" 2>>"$LOGS/flowgen.err"
	wait "$cpid"
	s1=$(sd_status "$SYNCD_SOCK_A" | jq -c '.lag_ms + {retransmits: .tx.retransmits, resyncs: .resyncs.sent}')
	cr=$(jq -r '.cps // empty' "$LOGS/pair-connrate.json" 2>/dev/null | xargs -r printf '%.0f')
	e2e=$(cat "$LOGS/pair-lag-e2e.json" 2>/dev/null)
	sample sync_lag syncd_before "${s0:-null}"
	sample sync_lag syncd_after "${s1:-null}"
	sample sync_lag e2e "${e2e:-null}"
	local p50 p99 n0 n1 note
	p50=$(jq -r '.p50 // empty' <<<"$s1" 2>/dev/null)
	p99=$(jq -r '.p99 // empty' <<<"$s1" 2>/dev/null)
	n0=$(jq -r '.samples // 0' <<<"$s0" 2>/dev/null)
	n1=$(jq -r '.samples // 0' <<<"$s1" 2>/dev/null)
	note="master syncd's own lag_ms (time from syncd reading a flow event off the ring to the peer's ack of the message carrying it; a log2 histogram: the value is the upper bound of its bucket, 2^k us) after tests/tools/connrate in c1 opened ${cr:-?} connections/s through the VIP (${CONC} in flight, ${DUR} s: as many as this 2-CPU host sustains, $(awk -v c="${cr:-0}" 'BEGIN { print (c >= 10000) ? "above" : "BELOW" }') the 10k/s of the target; connrate has no rate limit) on a freshly started pair; the histogram is cumulative since syncd's start: ${n0:-?} samples before the run, ${n1:-?} after; during the run the master retransmitted $(jq -rn --argjson a "${s0:-null}" --argjson b "${s1:-null}" '($b.retransmits - $a.retransmits) // "?"' 2>/dev/null) message(s) (fixed 30 ms RTO) and started $(jq -rn --argjson a "${s0:-null}" --argjson b "${s1:-null}" '($b.resyncs - $a.resyncs) // "?"' 2>/dev/null) bulk resync(s)"
	[ -n "$cr" ] || note="connrate failed; $note"
	metric sync_lag_p50_ms "$p50" ms "" "" "report (p99 <= 5 ms)" null "$note"
	metric sync_lag_p99_ms "$p99" ms "" "" "<= 5 ms" "$(met "$p99" le 5)" "same run as sync_lag_p50_ms"
	note="end to end, measured from outside syncd during the same connrate run: every 10 ms tests/tools/flowgen lag runs the master's tc program (bpf_prog_test_run) on one SYN of a new client, then polls the BACKUP's flow map (every 20 us) until the flow is there: ring buffer wait + syncd batching + HMAC + UDP + the backup's apply. $(jq -r '"\(.n) probes, \(.missing) never arrived (1 s), p90 \(.p90_ms) ms, max \(.max_ms) ms, mean \(.mean_ms) ms"' <<<"$e2e" 2>/dev/null). The same probe just before, without connrate (every 5 ms, 2 s): $(jq -r '"p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, max \(.max_ms) ms"' <<<"$idle" 2>/dev/null)"
	metric sync_lag_e2e_p50_ms "$(jq -r '.p50_ms // empty' <<<"$e2e" 2>/dev/null)" ms "" "" "report (p99 <= 5 ms)" null "$note"
	p99=$(jq -r '.p99_ms // empty' <<<"$e2e" 2>/dev/null)
	metric sync_lag_e2e_p99_ms "$p99" ms "" "" "<= 5 ms" "$(met "$p99" le 5)" "same run as sync_lag_e2e_p50_ms"
}

# pair_settle: wait until a's syncd sends no resync and b is synced again.
pair_settle() {
	sd_status "$SYNCD_SOCK_A" | jq -e '(.resyncs.sending | not) and .tx.in_flight < 100' >/dev/null 2>&1 &&
		sd_status "$SYNCD_SOCK_B" | jq -e '.synced' >/dev/null 2>&1
}

pair_updates() {
	local rate base=10000000 count sent g a0 a1 b0 w pa pb ca cb ok s best="" steps="" d0 d1 clk
	clk=$(getconf CLK_TCK 2>/dev/null || echo 100)
	pa=$(cat "$SWA_DIR/syncd.pid" 2>/dev/null)
	pb=$(cat "$SWB_DIR/syncd.pid" 2>/dev/null)
	for rate in burst $UPD_RATES; do
		if [ "$rate" = burst ]; then
			count=100000	# fits the 8 MiB event ring: nothing can be lost
		else
			count=$((rate * UPD_SECS))
		fi
		wait_for 20 pair_settle || log "sync updates: the pair did not settle before step $rate"
		a0=$(sd_status "$SYNCD_SOCK_A")
		b0=$(sd_status "$SYNCD_SOCK_B" | jq -r '.rx.flows')
		ca=$(cpu_ticks "$pa")
		cb=$(cpu_ticks "$pb")
		d0=$(rcvbuf_errors "$NS_SWB")
		# -T: a CPU-bound generator must not stretch a step (longer steps
		# would also be harder ones)
		g=$(ip netns exec "$NS_SWA" timeout 60 "$TOOLS/flowgen" syn -i eth0 -n "$count" \
			-r "$([ "$rate" = burst ] && echo 0 || echo "$rate")" -b "$base" -T "$UPD_SECS" \
			2>>"$LOGS/flowgen.err")
		sent=$(jq -r '.count // 0' <<<"$g" 2>/dev/null)
		w=$(timeout 20 "$TOOLS/syncwatch" wait -s "$SYNCD_SOCK_B" -i 5 -t 3 -f "$((b0 + ${sent:-0}))" 2>/dev/null)
		a1=$(sd_status "$SYNCD_SOCK_A")
		ca=$(( $(cpu_ticks "$pa") - ca ))
		cb=$(( $(cpu_ticks "$pb") - cb ))
		d1=$(rcvbuf_errors "$NS_SWB")
		# the step's flows leave both tables again (deletes are not replicated)
		"$TOOLS/flowgen" fill -D -m "$MAP_A" -n "${sent:-$count}" -b "$base" >/dev/null 2>>"$LOGS/flowgen.err"
		"$TOOLS/flowgen" fill -D -m "$MAP_B" -n "${sent:-$count}" -b "$base" >/dev/null 2>>"$LOGS/flowgen.err"
		base=$((base + count))
		s=$(jq -cn --arg step "$rate" --argjson g "${g:-null}" --argjson w "${w:-null}" \
			--argjson a0 "${a0:-null}" --argjson a1 "${a1:-null}" --argjson clk "$clk" \
			--argjson ca "$ca" --argjson cb "$cb" --argjson d "$(( ${d1:-0} - ${d0:-0} ))" '
			{step: $step, offered: $g.rate, count: $g.count, gen_s: $g.seconds,
			 caught_up: ($w.ok // false),
			 rate: (if ($w.ok // false) then ($g.count / ($w.t_done - $g.t_start) | round) else null end),
			 lag_after_gen_ms: (if ($w.ok // false) then (($w.t_done - $g.t_end) * 1000 | round) else null end),
			 resyncs: ($a1.resyncs.sent - $a0.resyncs.sent),
			 events_lost: ($a1.events.lost - $a0.events.lost),
			 retransmits: ($a1.tx.retransmits - $a0.tx.retransmits),
			 window_full: ($a1.tx.window_full - $a0.tx.window_full),
			 rcvbuf_drops: $d,
			 cpu_master_syncd: (($ca / $clk / ($g.seconds + 0.001)) * 100 | round),
			 cpu_backup_syncd: (($cb / $clk / ($g.seconds + 0.001)) * 100 | round)}' 2>/dev/null)
		sample sync_updates "$rate" "${s:-null}"
		log "sync updates step $rate: $s"
		steps="$steps${steps:+; }$(jq -r '"\(.step) [\(if .caught_up and .resyncs == 0 and .events_lost == 0 then "passed" else "FAILED" end)]: \(.count) SYNs at \(.offered)/s -> \(if .caught_up then "backup had all \(.lag_after_gen_ms) ms after the last, \(.rate)/s" else "backup did NOT catch up within 3 s" end), resyncs \(.resyncs), events lost \(.events_lost), retransmits \(.retransmits), window full \(.window_full), backup socket drops \(.rcvbuf_drops), CPU master syncd \(.cpu_master_syncd)% backup \(.cpu_backup_syncd)%"' <<<"$s" 2>/dev/null)"
		ok=$(jq -r 'if .caught_up and .resyncs == 0 and .events_lost == 0 then "yes" else "no" end' <<<"$s" 2>/dev/null)
		if [ "$rate" != burst ]; then
			echo "$s" >>"$WORK/upd-steps.jsonl"
			[ "$ok" = yes ] || break
		fi
	done
	# The generator is CPU-bound near the top, so a failed step may have
	# offered no more than a passed one: only rates below every failed
	# step's offered rate count as sustained.
	best=$(jq -rs 'map(select(.caught_up and .resyncs == 0 and .events_lost == 0)) as $ok |
		(map(select((.caught_up and .resyncs == 0 and .events_lost == 0) | not) | .offered) | min) as $fail |
		[$ok[] | select($fail == null or .offered < $fail) | .rate] | max // empty' \
		"$WORK/upd-steps.jsonl" 2>/dev/null)
	wait_for 20 pair_settle || true
	metric sync_updates_per_s "$best" flows/s "" "" ">= 200000" "$(met "$best" ge 200000)" \
		"flow creations on the master without real traffic: tests/tools/flowgen runs the master's attached tc program (bpf_prog_test_run, root namespace; the redirect is not performed) on TCP SYNs to VIP:80 from distinct clients: each inserts a flow into the real pinned map and emits a ring-buffer event that syncd replicates. Ladder of offered rates, ${UPD_SECS} s each (the burst step: 100k SYNs flat out, fits the event ring), stopped at the first step where the backup's syncd did not receive every flow within 3 s, or a bulk resync or a lost event happened; value = the highest rate of a passed step whose offered rate was below the failed step's (the generator is CPU-bound near the top, so a failed step may offer no more than a passed one), counted as SYNs / (time the backup's rx.flows had them all - first SYN). The generator, both syncds and the softirq work share the 2 CPUs. Steps: $steps. After each step its flows are deleted from both tables (deletes are not replicated)"
}

pair_resync() {
	local n have=0 f w s a0 a1 d0 d1 p results="" ok t1m="" tmo base=90000000 note
	for n in 100000 250000 500000 "$RESYNC_N"; do
		f=$("$TOOLS/flowgen" fill -m "$MAP_A" -n "$((n - have))" -b "$((base + have))" 2>>"$LOGS/flowgen.err")
		have=$n
		tmo=$(( n < 250000 ? 5 : (n < RESYNC_N ? 10 : 15) ))
		a0=$(sd_status "$SYNCD_SOCK_A")
		p=$(cat "$SWB_DIR/syncd.pid" 2>/dev/null)
		[ -z "$p" ] || kill -TERM "$p" 2>/dev/null
		[ -z "$p" ] || wait_for 10 pid_gone "$p" || kill -KILL "$p" 2>/dev/null
		d0=$(rcvbuf_errors "$NS_SWB")
		# the watcher is running before the restart: its clock starts first
		"$TOOLS/syncwatch" wait -s "$SYNCD_SOCK_B" -i 5 -t "$tmo" -f "$n" >"$LOGS/resync-$n.json" 2>/dev/null &
		w=$!
		sleep 0.02
		timeout 60 "$LAB_SH" switch-start "$LAB" b >>"$LOGS/pair-lab.log" 2>&1
		wait "$w"
		d1=$(rcvbuf_errors "$NS_SWB")
		a1=$(sd_status "$SYNCD_SOCK_A")
		s=$(jq -c --argjson n "$n" --argjson f "${f:-null}" --argjson a0 "${a0:-null}" \
			--argjson a1 "${a1:-null}" --argjson d "$(( ${d1:-0} - ${d0:-0} ))" \
			'{flows: $n, table_entries: $f.entries, ok: .ok, seconds: .seconds,
			  first_answer_s: .first_answer_s, rx_flows: .rx_flows,
			  resyncs_started: ($a1.resyncs.sent - $a0.resyncs.sent),
			  retransmits: ($a1.tx.retransmits - $a0.tx.retransmits),
			  backup_socket_drops: $d}' "$LOGS/resync-$n.json" 2>/dev/null)
		sample sync_resync "$n" "${s:-null}"
		log "resync $n flows: $s"
		results="$results${results:+; }$(jq -r '"\(.flows) flows (master table \(.table_entries)): \(if .ok then "synced after \(.seconds) s (syncd answered after \(.first_answer_s) s)" else "NOT synced after \(.seconds) s" end), \(.resyncs_started) bulk resync(s) started by the master, \(.retransmits) retransmits, \(.backup_socket_drops) datagrams dropped at the backup'"'"'s full socket buffer"' <<<"$s" 2>/dev/null)"
		ok=$(jq -r '.ok' <<<"$s" 2>/dev/null)
		[ "$n" = "$RESYNC_N" ] && [ "$ok" = true ] && t1m=$(jq -r '.seconds | . * 1000 | round / 1000' <<<"$s")
		if [ "$ok" != true ]; then
			# stop a resync that does not converge before the next step
			p=$(cat "$SWB_DIR/syncd.pid" 2>/dev/null)
			[ -z "$p" ] || kill -TERM "$p" 2>/dev/null
			sleep 0.5
		fi
	done
	note="the master's flow table filled straight into its pinned map (tests/tools/flowgen fill, bpf_map_update_batch; node ids 0..2 = n1..n3), then only the backup's tandem-syncd restarted (SIGTERM, lab.sh switch-start b); time from just before the restart until its status says synced=true with rx.flows >= the table size (tests/tools/syncwatch, polled every 5 ms). Sizes grow in steps on the same table: $results"
	if [ -n "$t1m" ]; then
		metric sync_resync_1m_s "$t1m" s "" "" "<= 2 s" "$(met "$t1m" le 2)" "$note"
	else
		metric sync_resync_1m_s "" s "" "" "<= 2 s" false "did not complete (or failed to run); $note"
	fi
}

# pair_lab_wanted ADVERT: whether BENCH_PAIR_LABS (default "200 100 default",
# every lab) names this one; a partial run (e.g. BENCH_ONLY=pair
# BENCH_PAIR_LABS=default) leaves the others' metrics null, "not measured".
pair_lab_wanted() {
	case " ${BENCH_PAIR_LABS:-200 100 default} " in *" $1 "*) return 0 ;; esac
	return 1
}

pair_section() {
	PAIR_WHY=""
	if ! command -v keepalived >/dev/null 2>&1 && [ ! -x /usr/sbin/keepalived ]; then
		harness_error "missing keepalived (pair section)"
		pair_fail_metrics "keepalived is not installed (harness error)"
		return
	fi
	HOW="$HOW Pair metrics (failover_*, sync_*): a second lab in pair mode (LAB_PAIR=1 lab.sh: switches swa and swb, each with tandem-lbd, tandem-syncd and keepalived, on the same client and storage LANs plus a dedicated sync link; swa priority 150, swb 100, preempt), once with the lab default VRRP advert (200 ms; flow_table_size $PAIR_FLOWS, where the sync metrics are measured too) and once with a 100 ms advert and once at the appliance's defaults (no advert_int_ms in the config: 20 ms adverts, keepalived's VRRP process real-time; failovers only)."
	if pair_lab_wanted 200; then
		if pair_lab_up 200 "$PAIR_FLOWS"; then
			pair_lag
			pair_failovers 200
			pair_updates
			pair_resync
		else
			harness_error "$PAIR_WHY"
		fi
		pair_lab_down a200
		report_failover failover_outage_crash_ms crash 200 500
		report_failover failover_outage_graceful_ms graceful 200 100
	fi
	if pair_lab_wanted 100; then
		if pair_lab_up 100 262144; then
			pair_failovers 100
		else
			harness_error "$PAIR_WHY (advert 100 ms)"
		fi
		pair_lab_down a100
		report_failover failover_outage_crash_ms_advert100 crash 100 500
		report_failover failover_outage_graceful_ms_advert100 graceful 100 100
	fi
	# the appliance's defaults: no advert_int_ms in the config (20 ms), the
	# VRRP process real-time (doc/failover.md)
	if pair_lab_wanted default; then
		if pair_lab_up default 262144; then
			pair_failovers 20
		else
			harness_error "$PAIR_WHY (appliance defaults)"
		fi
		pair_lab_down adef
		report_failover failover_outage_crash_ms_defaults crash 20 100
		report_failover failover_outage_graceful_ms_defaults graceful 20 20
	fi
	pair_fail_metrics "${PAIR_WHY:-not measured}"
}

# ------------------------------------ handoff, nfs, aa: sections with labs ---

# script_section NAME WHAT: tests/bench/NAME.sh runs its own lab (WHAT says
# what it measures); its metrics, samples and logs join ours.
script_section() {
	local d=$WORK/$1
	mkdir -p "$d"
	log "$1: $2 (tests/bench/$1.sh)"
	TANDEM_BUILD=$B bash "$REPO/tests/bench/$1.sh" "$d" ||
		harness_error "$1 section: its lab or daemons did not start (see $LOGS_FINAL/$1)"
	cat "$d/metrics.jsonl" >>"$METRICS" 2>/dev/null
	cat "$d/samples.jsonl" >>"$SAMPLES" 2>/dev/null
	cp -a "$d/logs" "$LOGS/$1" 2>/dev/null
}
handoff_section() { script_section handoff "live session handoff through tandem-nasd"; }
nfs_section() { script_section nfs "NFSv3 through the VIP"; }
nfspeer_section() { script_section nfspeer "tandem-nasd beside nfs-ganesha, NLM through the VIP"; }
directory_section() { script_section directory "the directory on the nodes: manage_gids, export policy"; }
smb_section() { script_section smb "SMB (Samba) through the VIP"; }
aa_section() { script_section aa "an active-active pair behind round-robin DNS"; }
foload_section() { script_section foload "the default failover settings with both CPUs saturated"; }
peers_section() { script_section peers "Tandem beside nftables, HAProxy, IPVS and routing"; }
hop_section() { script_section hop "one switch hop's CPU per packet: Tandem vs kernel forwarding"; }
group_section() { script_section group "a scale-out group of three and four switches behind the ECMP router"; }

# ------------------------------------------------------------------ main ---

usage() {
	echo "usage: tests/bench/run.sh [--only SECTIONS]   SECTIONS: comma-separated lab,peers,flow,hop,pair,handoff,nfs,nfspeer,directory,smb,aa,foload,group" >&2
	exit 2
}
ONLY=${BENCH_ONLY:-}
while [ $# -gt 0 ]; do
	case "$1" in
	--only) [ $# -ge 2 ] || usage; ONLY=$2; shift 2 ;;
	--only=*) ONLY=${1#--only=}; shift ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done
case ",${ONLY}," in
,,) SECTIONS="lab peers flow hop pair handoff nfs nfspeer directory smb aa foload group" ;;
*[!a-z,]* | *,,,*) usage ;;
*)
	SECTIONS=$(tr ',' ' ' <<<"$ONLY")
	for x in $SECTIONS; do
		case "$x" in lab | peers | flow | hop | pair | handoff | nfs | nfspeer | directory | smb | aa | foload | group) ;; *) usage ;; esac
	done
	# A partial run does not overwrite the full results unless asked to.
	OUT=${BENCH_OUT:-$REPO/tests/out/bench-only-$(tr ' ' '-' <<<"$SECTIONS")}
	LOGS_FINAL=${BENCH_LOGS:-$OUT/logs}
	;;
esac
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
want lab || want flow || HOW="Pair-mode lab only (--only pair)."
want lab || want flow || want pair || HOW="Handoff, NFS and SMB labs only (--only handoff,nfs,smb): tests/bench/handoff.sh, tests/bench/nfs.sh, tests/bench/smb.sh."
want lab || want flow || want pair || want handoff || want nfs || want nfspeer || want directory || want smb || want aa || want foload || want hop || want group ||
	HOW="Peers section only (--only peers): tests/bench/peers.sh, its method above the table."

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
# The machine-speed reference (tests/bench/cpuref.c: a fixed CPU loop, CPU
# and wall ms, the median of three) at the start and again at the end: these
# shared machines differ 2-3x from day to day, and a run's figures compare
# with another run's only through it (the flow section adds the BPF side:
# flowbench's floor, an empty program's test_run).
CPUREF=$B/cpuref	# (B becomes the build's snapshot below)
CPUREF_START=$(cpu_reference "$CPUREF" 2>/dev/null || echo "n/a n/a")
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
! want pair || command -v nstat >/dev/null 2>&1 || { harness_error "missing command: nstat"; exit 1; }
for c in nft haproxy ipvsadm; do	# (the peers section says which peer it could not measure)
	! want peers || command -v "$c" >/dev/null 2>&1 || harness_error "missing command: $c (peers section)"
done
for f in "$B/tandem-lbd" "$B/tandem-syncd" "$B/tandem-failover" "$B/tandemctl" "$B/lb.bpf.o" \
	"$TOOLS/connrate" "$TOOLS/udpblast" "$TOOLS/udpsink" "$TOOLS/bpfstats" "$TOOLS/flowbench" \
	"$TOOLS/failprobe" "$TOOLS/flowgen" "$TOOLS/syncwatch" "$TOOLS/rawgen" "$LAB_SH"; do
	[ -e "$f" ] || { harness_error "missing $f (run make all)"; exit 1; }
done

# Run from a private copy of the binaries: others may rebuild build/ while
# the bench runs (lbd finds lb.bpf.o next to itself; lab.sh takes
# everything from TANDEM_BUILD).
SNAP=$WORK/bin
if ! { cp -p "$B/tandem-lbd" "$B/tandem-syncd" "$B/tandem-failover" "$B/tandemctl" \
		"$B/lb.bpf.o" "$SNAP/" &&
	cp -p "$TOOLS/connrate" "$TOOLS/udpblast" "$TOOLS/udpsink" "$TOOLS/bpfstats" \
		"$TOOLS/flowbench" "$TOOLS/failprobe" "$TOOLS/flowgen" "$TOOLS/syncwatch" \
		"$TOOLS/rawgen" "$SNAP/tools/"; }; then
	harness_error "cannot copy the build to $SNAP"
	exit 1
fi
if want handoff || want nfs || want nfspeer || want directory; then
	for f in "$B/tandem-nasd" "$B/flowdrop.bpf.o"; do
		[ -e "$f" ] || { harness_error "missing $f (run make all)"; exit 1; }
	done
	cp -p "$B/tandem-nasd" "$B/flowdrop.bpf.o" "$SNAP/" || { harness_error "cannot copy tandem-nasd"; exit 1; }
fi
if want nfspeer; then	# its libnfs clients
	cp -p "$TOOLS/nfs_pipeline" "$TOOLS/nlm_client" "$SNAP/tools/" ||
		{ harness_error "cannot copy nfs_pipeline and nlm_client (run make all)"; exit 1; }
fi
B=$SNAP
TOOLS=$SNAP/tools
export TANDEM_BUILD=$SNAP

# settle: wait, at most 30 s, until the machine is at least 90 % idle over
# one second.  The kernel frees a finished section's namespaces, veths and
# flow maps asynchronously (netns cleanup, RCU callbacks), and a section
# measured meanwhile pays for that work (seen: handoff latency p99 x10 right
# after the pair section).
host_ticks() {	# idle+iowait and all ticks of the whole machine
	awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t }' /proc/stat
}
settle() {
	local i=0 i0 t0 i1 t1 idle=0
	while [ "$i" -lt 30 ]; do
		read -r i0 t0 < <(host_ticks)
		sleep 1
		read -r i1 t1 < <(host_ticks)
		i=$((i + 1))
		idle=$(((i1 - i0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))
		[ "$idle" -ge 90 ] && break
	done
	log "settled before the $1 section: ${i} s, $idle % idle"
}

READY=1
log "sections: $SECTIONS; rounds $ROUNDS x ${DUR} s per run; work dir $WORK; logs will be in $LOGS_FINAL; results to $OUT"
if want lab; then
	lab_section
	lab_down
fi
want peers && { settle peers; peers_section; }
want flow && { settle flow; flow_section; }
want hop && { settle hop; hop_section; }
want pair && { settle pair; pair_section; }
want handoff && { settle handoff; handoff_section; }
want nfs && { settle nfs; nfs_section; }
want nfspeer && { settle nfspeer; nfspeer_section; }
want directory && { settle directory; directory_section; }
want smb && { settle smb; smb_section; }
want aa && { settle aa; aa_section; }
want foload && { settle foload; foload_section; }
want group && { settle group; group_section; }
CPUREF_END=$(cpu_reference "$CPUREF" 2>/dev/null || echo "n/a n/a")
write_results
log "done in $((SECONDS - T_START)) s"
[ "$HARNESS_ERR" = 0 ]
