#!/bin/bash
# tests/bench/aa.sh WORKDIR - the "aa" section of tests/bench/run.sh
# (run.sh --only aa): an active-active pair behind round-robin DNS.
#
# One private pair lab (LAB_PAIR=1 LAB_AA=1 LAB_DNS=1 lab.sh: VIP4 in group
# g1 on switch a, VIP4B in g2 on b, BIND 9 in host dns).  The nodes run an
# iperf3 server bound to each VIP (so two clients never meet at one server)
# and one on their own address (lbd's health check), and pairload servers
# (:9000, :9001: v4b's own service).
#
#  aa_tcp_throughput_gbps: iperf3 c1 -> VIP4 and c2 -> VIP4B at once (2
#    streams each), summed; the baseline is the same with switch b stopped
#    (a holds both groups: the active-standby data path), rounds interleaved,
#    medians; ratio = active-active / active-standby.
#  aa_connections_per_second: connrate c1 -> VIP4 and c2 -> VIP4B at once,
#    summed; the same baseline and ratio.
#  dns_withdraw_p50_ms / _p99_ms: v4b's :9001 stopped on every node, time
#    until dig at the server no longer shows VIP4B (20 ms polls), TRIALS
#    times; the note gives lbd's own share (decision -> server's answer).
#  dns_answers_per_second: dnsperf (Debian's) from c1 at the server for
#    DUR s, querying the name, while v4b flaps every second (two signed
#    updates a second from switch b).
#
# Writes WORKDIR/metrics.jsonl and samples.jsonl (run.sh's format), raw
# files in WORKDIR/logs.  Exit 1 if the lab or daemons cannot start.
set -u
W=${1:?usage: aa.sh WORKDIR}
SECTION=aa
# shellcheck source=lib_nasd_lab.sh
. "$(dirname "$0")/lib_nasd_lab.sh"
ROUNDS=${BENCH_ROUNDS:-5}
DUR=${BENCH_SECONDS:-5}
TRIALS=${AA_DNS_TRIALS:-10}
PAIRLOAD=$REPO/tests/tools/pairload.py

fail_all() {
	local m
	for m in aa_tcp_throughput_gbps aa_connections_per_second dns_withdraw_p50_ms \
		dns_withdraw_p99_ms dns_answers_per_second; do
		metric "$m" "" "" "" "" "" "" "not measured: $1"
	done
}

groups() {	# groups X: "ROLE_G1 ROLE_G2" of switch X
	timeout 5 "$TANDEM_BUILD/tandemctl" -s "$LAB_DIR/sw-$1/lbd.sock" --json status 2>/dev/null |
		jq -r '[.groups[]?.role] | join(" ")'
}
dig_has() { in_ns c1 dig +short +time=1 +tries=1 "@$DNS_IP" "$DNS_NAME" A 2>/dev/null | grep -qx "$1"; }
servers() {	# servers start|stop PORT: pairload servers on the nodes
	local n p
	for n in n1 n2 n3; do
		if [ "$1" = start ]; then
			in_ns "$n" python3 "$PAIRLOAD" server "$2" "$n" >>"$L/pairload.log" 2>&1 </dev/null &
		else
			for p in $(ip netns pids "tdm-$LAB_NAME-$n"); do
				tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q "pairload.py server $2 " &&
					kill "$p" 2>/dev/null
			done
		fi
	done
}

up() {
	local n
	LAB_NAME=aa$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	log "lab $LAB_NAME up (active-active pair, BIND 9)"
	LAB_PAIR=1 LAB_AA=1 LAB_DNS=1 timeout 120 "$LAB_SH" up "$LAB_NAME" >>"$L/lab.log" 2>&1 ||
		{ LAB_NAME=""; fail_all "lab did not come up"; exit 1; }
	# shellcheck disable=SC1090
	. "/run/tandem-lab/$LAB_NAME/env"
	for n in n1 n2 n3; do
		lab node-stop "$n" iperf3 >>"$L/lab.log" 2>&1
		in_ns "$n" iperf3 -s -D -B "$VIP4" -p 5201 >>"$L/iperf3-s.log" 2>&1
		in_ns "$n" iperf3 -s -D -B "$VIP4B" -p 5201 >>"$L/iperf3-s.log" 2>&1
		# and one on the node's own address: lbd's health check of tcp/5201
		in_ns "$n" iperf3 -s -D -B "10.77.2.1${n#n}" -p 5201 >>"$L/iperf3-s.log" 2>&1
	done
	servers start 9000
	servers start 9001
	sleep 1
	lab switch-start a >>"$L/lab.log" 2>&1 && lab switch-start b >>"$L/lab.log" 2>&1 ||
		{ fail_all "switches did not start"; exit 1; }
	wait_for 30 sh -c "[ \"\$(timeout 5 $TANDEM_BUILD/tandemctl -s $LAB_DIR/sw-b/lbd.sock --json status | jq -r '[.groups[].role] | join(\" \")')\" = 'backup master' ]" ||
		{ fail_all "b did not take g2"; exit 1; }
	wait_for 15 dig_has "$VIP4B" || { fail_all "VIP4B not in DNS"; exit 1; }
}

tput() {	# tput TAG: aggregate Gbit/s of c1 -> VIP4 and c2 -> VIP4B
	in_ns c1 timeout $((DUR + 20)) iperf3 -c "$VIP4" -t "$DUR" -P 2 -J >"$L/iperf-$1-c1.json" 2>&1 &
	local p=$!
	in_ns c2 timeout $((DUR + 20)) iperf3 -c "$VIP4B" -t "$DUR" -P 2 -J >"$L/iperf-$1-c2.json" 2>&1
	wait "$p"
	jq -s 'map(.end.sum_received.bits_per_second // empty) | if length == 2 then add / 1e9 else empty end' \
		"$L/iperf-$1-c1.json" "$L/iperf-$1-c2.json"
}

cps() {	# cps TAG: connections/s of c1 -> VIP4 and c2 -> VIP4B at once
	in_ns c1 timeout $((DUR + 20)) "$TANDEM_BUILD/tools/connrate" -c 32 -t "$DUR" -p 80 "$VIP4" \
		>"$L/connrate-$1-c1.json" 2>>"$L/connrate.err" &
	local p=$!
	in_ns c2 timeout $((DUR + 20)) "$TANDEM_BUILD/tools/connrate" -c 32 -t "$DUR" -p 80 "$VIP4B" \
		>"$L/connrate-$1-c2.json" 2>>"$L/connrate.err"
	wait "$p"
	jq -s 'map(.cps // empty) | if length == 2 then add | floor else empty end' \
		"$L/connrate-$1-c1.json" "$L/connrate-$1-c2.json"
}

# active-standby: b stopped gracefully (a takes g2); back: b restarted, synced, g2 on b.
as_on() {
	lab switch-stop b >>"$L/lab.log" 2>&1
	wait_for 10 sh -c "[ \"\$(timeout 5 $TANDEM_BUILD/tandemctl -s $LAB_DIR/sw-a/lbd.sock --json status | jq -r '[.groups[].role] | join(\" \")')\" = 'master master' ]"
}
as_off() {
	lab switch-start b >>"$L/lab.log" 2>&1
	wait_for 30 sh -c "[ \"\$(timeout 5 $TANDEM_BUILD/tandemctl -s $LAB_DIR/sw-b/lbd.sock --json status | jq -r '[.groups[].role] | join(\" \")')\" = 'backup master' ]"
}

measure_load() {
	local r aa_t="" as_t="" aa_c="" as_c="" v
	for ((r = 1; r <= ROUNDS; r++)); do
		v=$(tput "aa$r"); aa_t="$aa_t $v"
		v=$(cps "aa$r"); aa_c="$aa_c $v"
		as_on || log "round $r: a did not take g2"
		v=$(tput "as$r"); as_t="$as_t $v"
		v=$(cps "as$r"); as_c="$as_c $v"
		as_off || log "round $r: b did not take g2 back"
		log "round $r: throughput aa/as $(echo "$aa_t" | awk '{ print $NF }')/$(echo "$as_t" | awk '{ print $NF }') Gbit/s, conn/s $(echo "$aa_c" | awk '{ print $NF }')/$(echo "$as_c" | awk '{ print $NF }')"
	done
	local mt ms ct cs
	mt=$(med "$aa_t" 3) ms=$(med "$as_t" 3) ct=$(med "$aa_c" 0) cs=$(med "$as_c" 0)
	local why="Both figures are bounded by this host's 2 CPUs, not by the switches: every namespace (clients, both switches, nodes) shares them, the veth and TCP work of clients and nodes dominates, so a second forwarding switch adds no CPU to the whole and the ratio stays near 1 here; on two real switches each forwards its own VIP's traffic with its own CPUs and NICs."
	metric aa_tcp_throughput_gbps "$mt" Gbit/s "$ms" "$(awk -v a="$mt" -v b="$ms" 'BEGIN { if (b > 0) printf "%.3f", a / b }')" "" "" \
		"iperf3 c1 -> VIP4 and c2 -> VIP4B at the same time (2 streams each, $DUR s), summed; value: both switches forwarding (active-active), baseline: switch b stopped, a forwarding both VIPs (the active-standby data path), $ROUNDS rounds interleaved, medians. Samples aa [$(xargs <<<"$aa_t")], as [$(xargs <<<"$as_t")]. $why"
	metric aa_connections_per_second "$ct" conn/s "$cs" "$(awk -v a="$ct" -v b="$cs" 'BEGIN { if (b > 0) printf "%.3f", a / b }')" "" "" \
		"tests/tools/connrate (32 in flight, a new TCP connection per GET /node) c1 -> VIP4 and c2 -> VIP4B at once, summed; baseline and rounds as aa_tcp_throughput_gbps. Samples aa [$(xargs <<<"$aa_c")], as [$(xargs <<<"$as_c")]. $why"
}

lbd_withdraw_ms() {	# b's lbd: mean withdraw latency so far (sum_us count)
	timeout 5 "$TANDEM_BUILD/tandemctl" -s "$LAB_DIR/sw-b/lbd.sock" --json status |
		jq -r '.dns.withdraw_latency | "\(.sum_us) \(.count)"'
}

measure_withdraw() {
	local i t0 t ms="" s0 c0 s1 c1
	read -r s0 c0 < <(lbd_withdraw_ms)
	for ((i = 1; i <= TRIALS; i++)); do
		t0=$(now_ms)
		servers stop 9001
		t=""
		while [ $(($(now_ms) - t0)) -lt 10000 ]; do
			dig_has "$VIP4B" || { t=$(($(now_ms) - t0)); break; }
			sleep 0.02
		done
		ms="$ms ${t:-x}"
		servers start 9001
		wait_for 15 dig_has "$VIP4B" || log "trial $i: VIP4B did not come back"
	done
	read -r s1 c1 < <(lbd_withdraw_ms)
	local ok p50 p99 lbd
	ok=$(tr ' ' '\n' <<<"$ms" | grep -E '^[0-9]+$' | sort -n)
	p50=$(awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }' <<<"$ok")
	p99=$(awk '{ v[NR] = $1 } END { if (NR) print v[NR] }' <<<"$ok")
	lbd=$(awk -v s="$((s1 - s0))" -v c="$((c1 - c0))" 'BEGIN { if (c > 0) printf "%.1f", s / c / 1000 }')
	local note="from the stop of v4b's own service (tcp 9001) on every node until dig at the server (polled every 20 ms from c1) no longer returns VIP4B; $TRIALS trials [$(xargs <<<"$ms")] ms (x: not within 10 s). It includes lbd's health detection (fall 2 x interval 300 ms, a refused connect each) and the update; lbd's own part, from its decision to the server's answer to nsupdate, averaged ${lbd:-?} ms over the same trials. With $TRIALS trials p99 is the worst one."
	metric dns_withdraw_p50_ms "$p50" ms "" "" "<= 2000" "$([ -n "$p50" ] && [ "$p50" -le 2000 ] && echo true || echo false)" "$note"
	metric dns_withdraw_p99_ms "$p99" ms "" "" "<= 2000" "$([ -n "$p99" ] && [ "$p99" -le 2000 ] && echo true || echo false)" "$note"
}

measure_dnsperf() {
	local flap u0 u1 qps
	command -v dnsperf >/dev/null || { metric dns_answers_per_second "" "" "" "" "" "" "dnsperf missing (apt-get install dnsperf)"; return; }
	echo "$DNS_NAME A" >"$L/queries"
	u0=$(timeout 5 "$TANDEM_BUILD/tandemctl" -s "$LAB_DIR/sw-b/lbd.sock" --json status | jq '.dns.updates.ok')
	( while :; do servers stop 9001; sleep 1; servers start 9001; sleep 1; done ) >/dev/null 2>&1 &
	flap=$!
	in_ns c1 dnsperf -s "$DNS_IP" -d "$L/queries" -l "$DUR" -c 4 -Q 200000 >"$L/dnsperf.out" 2>&1
	kill "$flap" 2>/dev/null
	wait "$flap" 2>/dev/null
	servers start 9001
	u1=$(timeout 5 "$TANDEM_BUILD/tandemctl" -s "$LAB_DIR/sw-b/lbd.sock" --json status | jq '.dns.updates.ok')
	qps=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$L/dnsperf.out")
	metric dns_answers_per_second "$qps" answers/s "" "" "" "" \
		"dnsperf (Debian's) from c1, 4 clients, $DUR s, every query '$DNS_NAME A' (two A records, rotated), at named (BIND 9, one namespace of this 2-CPU host, sharing it with dnsperf) while switch b flapped v4b every second: $((u1 - u0)) signed updates (nsupdate, TSIG) taken meanwhile. $(grep -E 'Queries (completed|lost)' "$L/dnsperf.out" | tr -s ' \n' ' ')"
}

up
measure_load
measure_withdraw
measure_dnsperf
exit 0
