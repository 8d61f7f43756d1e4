#!/bin/bash
# tests/bench/handoff.sh WORKDIR - the "handoff" section of tests/bench/run.sh
# (run.sh --only handoff): live session handoff through tandem-nasd.
#
# One private lab (lab.sh), tandem-lbd, tandem-nasd with "handoff" on n1..n3
# (tests/integration/lib_nasd.sh's nasd_start), clients in c1
# (tests/tools/ho_client.py), handoffs driven by tests/tools/ho_drive.py (one
# process on the nasd control sockets: no process start per handoff).
#
#  latency + stall: one connection streaming /rate/10m.bin?bps=RATE (nasd's
#    pacer, 10 ms ticks) again and again; HO_N handoffs n_a <-> n_b, HO_GAP_MS
#    apart.  Latency per handoff = freeze->resume: the old node's
#    frozen_at_ns (its session pause) to the new node's
#    last_in.resumed_at_ns (tch_resume and session_restore done), one
#    host's CLOCK_MONOTONIC.  Stall per handoff = the longest gap between two recv()s
#    of the client that ends after the handoff started and begins before
#    HO_WIN_MS after it ended.  Baseline: the same stream without handoffs,
#    the same windows.  c1's retransmitted segments (nstat in its namespace)
#    over the run, per 1000 handoffs.
#  the same under load: the latency + stall run again (no baseline run)
#    with stress-ng --cpu 2 on this host: *_loaded_* metrics.
#  burst: BURST_N (600) keep-alive sessions through the VIP; the node
#    holding most hands them all off in one handoff_all: handoffs/s one
#    node sustains, freeze->DONE p50/p99 per handoff.
#  drain: DRAIN_N (1000) idle keep-alive sessions on n1, `tandemctl drain
#    n1`: seconds until lbd moved them all (drain_sessions_s).
#  throughput: an unpaced stream (GET /10m.bin again and again) for
#    HO_TP_S seconds with and without continuous handoffs (HO_TP_GAP_MS
#    apart), HO_TP_ROUNDS rounds interleaved, medians.
#
# Writes WORKDIR/metrics.jsonl (run.sh's metric lines) and
# WORKDIR/samples.jsonl, raw files in WORKDIR/logs.  Exit 1 if the lab or
# the daemons cannot start.
set -u
W=${1:?usage: handoff.sh WORKDIR}
SECTION=handoff
# shellcheck source=lib_nasd_lab.sh
. "$(dirname "$0")/lib_nasd_lab.sh"
TP=$REPO/tests/tools
HO_N=${HO_N:-200}
HO_GAP_MS=${HO_GAP_MS:-100}
HO_RATE=${HO_RATE:-1000000}
HO_WIN_MS=${HO_WIN_MS:-100}
HO_TP_S=${HO_TP_S:-6}
HO_TP_GAP_MS=${HO_TP_GAP_MS:-10}
HO_TP_ROUNDS=${HO_TP_ROUNDS:-2}

fail_all() {
	local why=$1
	metric handoff_latency_p50_us "" us "" "" "<= 300 us" "" "$why"
	metric handoff_latency_p99_us "" us "" "" "<= 2000 us" "" "$why"
	metric handoff_client_stall_p50_ms "" ms "" "" "report" "" "$why"
	metric handoff_client_stall_p99_ms "" ms "" "" "report" "" "$why"
	metric handoff_client_stall_max_ms "" ms "" "" "< 1000 ms" "" "$why"
	metric handoff_client_retrans_per_1000 "" segments "" "" "0" "" "$why"
	for m in handoff_latency_loaded_p50_us handoff_latency_loaded_p99_us handoff_client_stall_loaded_p50_ms \
		handoff_client_stall_loaded_p99_ms handoff_client_stall_loaded_max_ms handoff_client_retrans_loaded_per_1000; do
		metric "$m" "" "" "" "" "report" "" "$why"
	done
	metric stream_throughput_continuous_handoffs_mbps "" MB/s "" "" "report (ratio)" "" "$why"
}

nasd_lab_up bh
DRV=(/usr/bin/python3 "$TP/ho_drive.py" --sock "n1=$LAB_DIR/n1/nasd.sock" --sock "n2=$LAB_DIR/n2/nasd.sock"
	--sock "n3=$LAB_DIR/n3/nasd.sock")
CLI=(/usr/bin/python3 "$TP/ho_client.py")

# stream TAG PATH [DRIVER ARGS...]: a stream from c1; with driver args, hand
# it off meanwhile (the driver's --stop-file ends it), else run HO_TP_S s.
# Sets S_EP, S_HOLDER.
stream() {
	local tag=$1 path=$2 pid
	shift 2
	rm -f "$L/$tag".*
	in_ns c1 "${CLI[@]}" stream --host "$VIP4" --path "$path" --want "$(awk '$2 == "10m.bin" { print $1 }' "$LAB_WWW/SHA256SUMS")" \
		--stop-file "$L/$tag.stop" --port-file "$L/$tag.port" --times "$L/$tag.times" --out "$L/$tag.json" \
		>"$L/$tag.log" 2>&1 &
	pid=$!
	wait_for 5 test -s "$L/$tag.port"
	S_EP=$(tr -d '\n' <"$L/$tag.port")
	sleep 0.5
	S_HOLDER=$(holder "$S_EP")
	if [ $# -gt 0 ] && [ -n "$S_HOLDER" ]; then
		local to
		to=$(other "$S_HOLDER")
		timeout 300 "${DRV[@]}" --lbd "$LBD_SOCK" --ep "$S_EP" --from "$S_HOLDER" --nodes "$S_HOLDER,$to" \
			--check-every 0 --stop-file "$L/$tag.stop" --times "$L/$tag.ho" --out "$L/$tag.drive.json" "$@" \
			>"$L/$tag.drive.log" 2>&1
	else
		sleep "$HO_TP_S"
	fi
	touch "$L/$tag.stop"
	wait "$pid"
}

# c1's TCP retransmission counters as JSON (its namespace holds only this
# section's clients); rx BEFORE AFTER DONE: their growth, and per 1000 handoffs
tcpc() {
	in_ns c1 nstat -az 2>/dev/null | awk '$1 ~ /^(TcpRetransSegs|TcpExtTCPLossProbes|TcpExtTCPTimeouts)$/ {
		printf "%s\"%s\":%s", (n++ ? "," : "{"), $1, $2 } END { print (n ? "}" : "{}") }'
}
rx() {
	jq -cn --argjson a "$1" --argjson b "$2" --argjson d "${3:-0}" '[$b | keys[] as $k | {($k): ($b[$k] - ($a[$k] // 0))}] | add // {}
		| . + {per_1000: (if $d > 0 then ((.TcpRetransSegs // 0) * 1000 / $d) else null end), handoffs: $d}'
}

# ---------------------------------------------------- latency and stall --
log "latency/stall: $HO_N handoffs ${HO_GAP_MS} ms apart of a stream at $HO_RATE B/s"
c0=$(tcpc)
stream lat "/rate/10m.bin?bps=$HO_RATE" --count "$HO_N" --gap-ms "$HO_GAP_MS"
rx_idle=$(rx "$c0" "$(tcpc)" "$(jq -r '.done // 0' "$L/lat.drive.json" 2>/dev/null || echo 0)")
# baseline stream of the same length, no handoffs
HO_TP_S_SAVE=$HO_TP_S
HO_TP_S=$(jq -r '.seconds | ceil' "$L/lat.drive.json" 2>/dev/null || echo 20)
stream latbase "/rate/10m.bin?bps=$HO_RATE"
HO_TP_S=$HO_TP_S_SAVE
# analyse TAG BASETAG: JSON of run TAG's driver timings and client stalls,
# BASETAG ("" none) the same stream without handoffs
analyse() {
	python3 - "$L" "$HO_WIN_MS" "$HO_GAP_MS" "$1" "$2" <<'EOF'
import json, sys
L, win, gap, tag, btag = sys.argv[1], int(sys.argv[2]) * 10**6, int(sys.argv[3]) * 10**6, sys.argv[4], sys.argv[5]
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else None
def arrivals(f):
    return [int(l.split()[0]) for l in open(f) if l.strip()]
def stalls(arr, wins):
    out = []
    for s, e in wins:
        best = 0
        for a, b in zip(arr, arr[1:]):
            if b > s and a < e + win:
                best = max(best, b - a)
            if a > e + win:
                break
        out.append(round(best / 1e6, 2))
    return out
d = json.load(open(L + "/" + tag + ".drive.json"))
t = d["timings"]
lat = t.get("freeze_to_resume", [])
done_lat = [a + b + c + e for a, b, c, e in zip(t["freeze"], t["update_to_switch_ack"], t["close"], t["ack_to_done"])]
ho = [tuple(map(int, l.split())) for l in open(L + "/" + tag + ".ho")]
arr = arrivals(L + "/" + tag + ".times")
st = stalls(arr, ho)
# baseline windows: same durations, same spacing, on the stream without handoffs
barr = arrivals(L + "/" + btag + ".times") if btag else []
bw = []
if barr:
    t0 = barr[0] + 500 * 10**6
    for s, e in ho:
        w = (t0, t0 + (e - s))
        if w[1] + win > barr[-1]:
            break
        bw.append(w)
        t0 += gap + (e - s)
bst = stalls(barr, bw)
print(json.dumps({"n": len(lat), "failed": len(d["failed"]),
    "lat_p50": pct(lat, 50), "lat_p99": pct(lat, 99), "lat_max": max(lat) if lat else None,
    "unmatched": d.get("resume_unmatched", 0),
    "done_p50": pct(done_lat, 50), "done_p99": pct(done_lat, 99),
    "u2s_p50": pct(t["update_to_switch_ack"], 50), "close_p50": pct(t["close"], 50),
    "total_p50": pct(t["total"], 50), "total_p99": pct(t["total"], 99),
    "open_p50": pct(t["open"], 50), "freeze_p50": pct(t["freeze"], 50),
    "u2c_p50": pct(t["update_to_complete"], 50), "u2c_p99": pct(t["update_to_complete"], 99),
    "a2d_p50": pct(t["ack_to_done"], 50), "ctl_p50": pct(t["client_rtt_us"], 50),
    "state_p50": pct(t["state_bytes"], 50),
    "stall_p50": pct(st, 50), "stall_p99": pct(st, 99), "stall_max": max(st) if st else None,
    "base_n": len(bst), "base_p50": pct(bst, 50), "base_p99": pct(bst, 99), "base_max": max(bst) if bst else None}))
EOF
}
an=$(analyse lat latbase)
log "latency/stall: $an"
echo "{\"g\":\"handoff_latency\",\"s\":\"summary\",\"v\":$an}" >>"$SMP"
g() { jq -r ".$1 // empty" <<<"$an" 2>/dev/null; }
lok=$(jq -r '.ok' "$L/lat.json" 2>/dev/null)
note="freeze->resume: from the moment the old node stops the session (session pause, before its flow drop and TCP_REPAIR freeze; CLOCK_MONOTONIC, the old node's reply frozen_at_ns) to the moment the new node has it running again (tch_resume: TCP_REPAIR=0 and the unsent bytes queued, and the application session restored; the new node's status last_in.resumed_at_ns), both read from the one clock of this host (the lab's namespaces share it; $(g unmatched) handoffs had no matching resume record). In between: the old node re-points the switch (REDIRECT to lbd, answered once the flow map holds the new node), snapshots and sends the UPDATE; the new node restores and answers COMPLETE; the old node waits for the switch's ACK, closes silently and sends ACK; the new node resumes. $(g n) handoffs ($(g failed) failed) of one stream (GET /rate/10m.bin?bps=$HO_RATE again and again, c1 -> VIP) between two nodes, ${HO_GAP_MS} ms apart (+-50 %), driven by tests/tools/ho_drive.py over the nasd control sockets; lab on this 2-CPU host shared with the clients, the switch and other work. max $(g lat_max) us. The old node's own timings: freeze->DONE (the new node's answer after its resume) p50 $(g done_p50) / p99 $(g done_p99) us; whole command (incl. OPEN) p50 $(g total_p50) / p99 $(g total_p99) us; parts p50: open $(g open_p50), freeze+snapshot $(g freeze_p50), update->complete $(g u2c_p50) (p99 $(g u2c_p99)), update->switch ack $(g u2s_p50), close $(g close_p50), ack->done $(g a2d_p50) us; state $(g state_p50) bytes; control round trip seen by the driver p50 $(g ctl_p50) us. Stream byte-exact: $lok"
v=$(g lat_p50)
metric handoff_latency_p50_us "$v" us "" "" "<= 300 us" "$([ -n "$v" ] && awk -v x="$v" 'BEGIN { print (x <= 300) ? "true" : "false" }')" "$note"
v=$(g lat_p99)
metric handoff_latency_p99_us "$v" us "" "" "<= 2000 us" "$([ -n "$v" ] && awk -v x="$v" 'BEGIN { print (x <= 2000) ? "true" : "false" }')" "same run as handoff_latency_p50_us"
note="client side, same run: c1's client (tests/tools/ho_client.py, reading as fast as it can) logs CLOCK_MONOTONIC at every recv(); per handoff, the longest gap between two recv()s that ends after the driver sent the handoff command and starts before ${HO_WIN_MS} ms after its reply. Baseline = the same stream without handoffs, the same windows (nasd's pacer writes every 10 ms, so gaps of ~10 ms are normal): p50 $(g base_p50) / p99 $(g base_p99) / max $(g base_max) ms over $(g base_n) windows; with handoffs max $(g stall_max) ms."
metric handoff_client_stall_p50_ms "$(g stall_p50)" ms "$(g base_p50)" "" "report" "" "$note"
metric handoff_client_stall_p99_ms "$(g stall_p99)" ms "$(g base_p99)" "" "report" "" "same run as handoff_client_stall_p50_ms"
v=$(g stall_max)
metric handoff_client_stall_max_ms "$v" ms "$(g base_max)" "" "< 1000 ms" "$([ -n "$v" ] && awk -v x="$v" 'BEGIN { print (x < 1000) ? "true" : "false" }')" \
	"same run as handoff_client_stall_p50_ms: the longest of the per-handoff stalls (baseline: the longest in the windows of the stream without handoffs)"
v=$(jq -r '.per_1000 // empty' <<<"$rx_idle")
metric handoff_client_retrans_per_1000 "$v" segments "" "" "0" "$([ -n "$v" ] && awk -v x="$v" 'BEGIN { print (x == 0) ? "true" : "false" }')" \
	"same run as handoff_latency_p50_us: segments c1's TCP retransmitted (nstat TcpRetransSegs in c1's namespace, which holds only the streaming client) per 1000 handoffs of its session; growth of the counters over the run: $rx_idle (TcpExtTCPTimeouts: RTOs; TcpExtTCPLossProbes: tail-loss probes)"

# ---------------------------------------------------- the same, loaded --
# The latency/stall run again with both CPUs busy (stress-ng --cpu 2, same
# priority as the lab): no baseline run (the stalls are compared with the
# idle baseline above).
log "latency/stall under load (stress-ng --cpu 2): $HO_N handoffs"
stress-ng --cpu 2 --timeout 900s >/dev/null 2>&1 &
spid=$!
c0=$(tcpc)
stream latload "/rate/10m.bin?bps=$HO_RATE" --count "$HO_N" --gap-ms "$HO_GAP_MS"
rx_load=$(rx "$c0" "$(tcpc)" "$(jq -r '.done // 0' "$L/latload.drive.json" 2>/dev/null || echo 0)")
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
anl=$(analyse latload "")
log "latency/stall under load: $anl $rx_load"
echo "{\"g\":\"handoff_latency_loaded\",\"s\":\"summary\",\"v\":${anl:-null}}" >>"$SMP"
gl() { jq -r ".$1 // empty" <<<"$anl" 2>/dev/null; }
note="as handoff_latency_p50_us ($(gl n) handoffs, $(gl failed) failed, max $(gl lat_max) us) with stress-ng --cpu 2 running on this 2-CPU host (both CPUs busy, same priority as the lab's processes); stream byte-exact: $(jq -r .ok "$L/latload.json" 2>/dev/null)"
v=$(gl lat_p50)
metric handoff_latency_loaded_p50_us "$v" us "$(g lat_p50)" "" "<= 300 us" "$([ -n "$v" ] && awk -v x="$v" 'BEGIN { print (x <= 300) ? "true" : "false" }')" \
	"$note (baseline: idle p50)"
v=$(gl lat_p99)
metric handoff_latency_loaded_p99_us "$v" us "$(g lat_p99)" "" "<= 2000 us" "$([ -n "$v" ] && awk -v x="$v" 'BEGIN { print (x <= 2000) ? "true" : "false" }')" \
	"same run as handoff_latency_loaded_p50_us (baseline: idle p99)"
note="as handoff_client_stall_p50_ms, same run as handoff_latency_loaded_p50_us (baseline: the idle run's stream without handoffs)"
metric handoff_client_stall_loaded_p50_ms "$(gl stall_p50)" ms "$(g base_p50)" "" "report" "" "$note"
metric handoff_client_stall_loaded_p99_ms "$(gl stall_p99)" ms "$(g base_p99)" "" "report" "" "$note"
v=$(gl stall_max)
metric handoff_client_stall_loaded_max_ms "$v" ms "$(g base_max)" "" "< 1000 ms" "$([ -n "$v" ] && awk -v x="$v" 'BEGIN { print (x < 1000) ? "true" : "false" }')" "$note"
v=$(jq -r '.per_1000 // empty' <<<"$rx_load")
metric handoff_client_retrans_loaded_per_1000 "$v" segments "" "" "0" "$([ -n "$v" ] && awk -v x="$v" 'BEGIN { print (x == 0) ? "true" : "false" }')" \
	"as handoff_client_retrans_per_1000, same run as handoff_latency_loaded_p50_us: $rx_load (tail-loss probes of freezes longer than ~2 RTT + 2 ms count here: doc/tch.md)"

# ------------------------------------------------------------ throughput --
tps_ho="" tps_base="" nho=""
for ((r = 1; r <= HO_TP_ROUNDS; r++)); do
	for side in base ho; do
		[ $((r % 2)) = 0 ] && side=$([ "$side" = base ] && echo ho || echo base)
		if [ "$side" = ho ]; then
			stream "tp$r$side" /10m.bin --count 100000 --gap-ms "$HO_TP_GAP_MS" --seconds "$HO_TP_S"
			nho="$nho $(jq -r '"\(.done)/\(.failed | length)"' "$L/tp$r$side.drive.json" 2>/dev/null)"
		else
			stream "tp$r$side" /10m.bin
		fi
		v=$(jq -r 'if .error == null and (.bad | length) == 0 then (.socket_bytes / .seconds / 1e6 * 10 | round / 10) else empty end' "$L/tp$r$side.json" 2>/dev/null)
		log "throughput round $r $side: ${v:-FAILED} MB/s"
		echo "{\"g\":\"handoff_throughput\",\"s\":\"$side\",\"v\":${v:-null}}" >>"$SMP"
		[ "$side" = ho ] && tps_ho="$tps_ho $v" || tps_base="$tps_base $v"
	done
done
mh=$(med "$tps_ho")
mb=$(med "$tps_base")
rt=$([ -n "$mh" ] && [ -n "$mb" ] && awk -v a="$mh" -v b="$mb" 'BEGIN { printf "%.3f", a / b }')
metric stream_throughput_continuous_handoffs_mbps "$mh" MB/s "$mb" "$rt" "report (ratio)" "" \
	"one connection from c1 downloading /10m.bin (not paced) again and again through the VIP for ${HO_TP_S} s, client reading as fast as it can; with handoffs: the session goes back and forth between two nodes every ${HO_TP_GAP_MS} ms (+-50 %) for the whole run (handoffs done/failed per run:${nho}); baseline: the same without handoffs; ${HO_TP_ROUNDS} rounds interleaved, medians; samples with [${tps_ho# }] without [${tps_base# }]; every body sha256-checked by the client"

# ------------------------------------------------------- one node's burst --
# BURST_N keep-alive sessions through the VIP (spread over the 3 nodes); the
# node holding most hands all of them off in one handoff_all (the old
# node's side runs on its event loop, two transactions at a time): handoffs
# per second one node sustains, and each handoff's freeze->DONE (the old
# node's own timings: freeze+snapshot, update->switch ack, close, ack->done).
BURST_N=${BURST_N:-600}
rm -f "$L/burst".*
in_ns c1 "${CLI[@]}" many --host "$VIP4" --count "$BURST_N" --want "$(awk '$2 == "small.bin" { print $1 }' "$LAB_WWW/SHA256SUMS")" \
	--port-file "$L/burst.eps" --stop-file "$L/burst.stop" --out "$L/burst.json" >"$L/burst.log" 2>&1 &
bpid=$!
wait_for 120 test -s "$L/burst.eps"
bn=n1 bmax=0
for n in n1 n2 n3; do
	c=$(nctl "$n" '{"cmd":"sessions"}' | jq '.sessions | length')
	[ "${c:-0}" -gt "$bmax" ] && bn=$n bmax=$c
done
b1=$(other "$bn")
b2=$(other "$bn" "$b1")
NCTL_TIMEOUT=300 nctl "$bn" "{\"cmd\":\"handoff_all\",\"to\":[\"$b1\",\"$b2\"]}" >"$L/burst.all.json" 2>&1
touch "$L/burst.stop"
wait "$bpid"
ba=$(jq -c '{moved, failed, total_us, frozen: ([.results[] | select(.ok) | .timings_us | .freeze + .update_to_switch_ack + .close + .ack_to_done] | sort)}
	| {moved, failed, total_us, per_s: (if .total_us > 0 then (.moved * 1000000 / .total_us | floor) else null end),
	   p50: .frozen[(.frozen | length) / 2 | floor], p99: .frozen[(.frozen | length) * 99 / 100 | floor], max: .frozen[-1]}' \
	"$L/burst.all.json" 2>/dev/null)
log "burst: $bn hands off its $bmax sessions: $ba; clients after: $(jq -c '{ok, nodes, error}' "$L/burst.json" 2>/dev/null)"
echo "{\"g\":\"handoff_burst\",\"s\":\"summary\",\"v\":${ba:-null}}" >>"$SMP"
bg() { jq -r ".$1 // empty" <<<"$ba" 2>/dev/null; }
metric handoffs_per_s_one_node "$(bg per_s)" "1/s" "" "" "report" "" \
	"one handoff_all on $bn of its $bmax idle keep-alive HTTP sessions (of $BURST_N through the VIP from c1) to the two other nodes: $(bg moved) moved, $(bg failed) failed in $(bg total_us) us; the old node runs two transactions at a time on its event loop; every client then answered by another node, bodies exact: $(jq -r .ok "$L/burst.json" 2>/dev/null)"
metric handoff_burst_frozen_p50_us "$(bg p50)" us "" "" "<= 300 us" \
	"$([ -n "$(bg p50)" ] && awk -v x="$(bg p50)" 'BEGIN { print (x <= 300) ? "true" : "false" }')" \
	"same burst: per handoff, the old node's freeze to the new node's DONE (freeze+snapshot, update->switch ack, close, ack->done); p99 $(bg p99), max $(bg max) us"

# ------------------------------------------------------------ drain time --
# DRAIN_N idle keep-alive sessions all on n1 (n2 and n3 drained while they
# open), n2/n3 undrained, then `tandemctl drain n1`: lbd moves every session
# (MOVEs to n1's nasd, drain_parallel at a time).  Time = lbd's drain job
# from start to its last answer (nodes[].moving.elapsed_ms); afterwards
# every connection answers /node from n2 or n3.
DRAIN_N=${DRAIN_N:-1000}
CTL=(timeout 600 "$TANDEM_BUILD/tandemctl" -s "$LBD_SOCK")
cat >"$W/many.py" <<'PYX'
import json, os, socket, sys, time
host, n, ready, stop = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def ask(s):
    s.sendall(b"GET /node HTTP/1.1\r\nHost: vip\r\n\r\n")
    b = b""
    while b"\r\n\r\n" not in b or len(b.split(b"\r\n\r\n", 1)[1]) < int([l for l in b.split(b"\r\n\r\n")[0].split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1]):
        c = s.recv(4096)
        if not c:
            raise OSError("closed")
        b += c
    return b.split(b"\r\n\r\n", 1)[1].decode().strip()
socks, first = [], {}
for i in range(n):
    s = socket.create_connection((host, 80), timeout=10)
    node = ask(s)
    first[node] = first.get(node, 0) + 1
    socks.append(s)
open(ready, "w").write(json.dumps(first))
while not os.path.exists(stop):
    time.sleep(0.05)
after, bad = {}, 0
for s in socks:
    try:
        node = ask(s)
        after[node] = after.get(node, 0) + 1
    except OSError:
        bad += 1
print(json.dumps({"before": first, "after": after, "dead": bad}))
PYX
"${CTL[@]}" drain n2 >/dev/null && "${CTL[@]}" drain n3 >/dev/null
rm -f "$W/many.ready" "$W/many.stop"
in_ns c1 /usr/bin/python3 "$W/many.py" "$VIP4" "$DRAIN_N" "$W/many.ready" "$W/many.stop" >"$L/drain_many.json" 2>"$L/drain_many.err" &
mpid=$!
wait_for 120 test -s "$W/many.ready"
"${CTL[@]}" undrain n2 >/dev/null && "${CTL[@]}" undrain n3 >/dev/null
log "drain: $(cat "$W/many.ready" 2>/dev/null) sessions open; draining n1"
"${CTL[@]}" drain n1 >"$L/drain.out" 2>&1
"${CTL[@]}" --json nodes >"$L/drain_nodes.json" 2>&1
touch "$W/many.stop"
wait "$mpid"
"${CTL[@]}" undrain n1 >/dev/null
mv_=$(jq -c '.nodes[] | select(.name == "n1") | .moving' "$L/drain_nodes.json" 2>/dev/null)
el=$(jq -r '.elapsed_ms // empty' <<<"$mv_" 2>/dev/null)
moved=$(jq -r '.moved // empty' <<<"$mv_" 2>/dev/null)
res=$(cat "$L/drain_many.json" 2>/dev/null)
if [ -n "$el" ] && [ "$(jq -r '.done' <<<"$mv_")" = true ]; then
	metric drain_sessions_s "$(awk -v e="$el" 'BEGIN { printf "%.3f", e / 1000 }')" s "" "" "report" "" \
		"tandemctl drain n1 with $DRAIN_N idle keep-alive HTTP sessions on n1 (tandem-nasd), moved live to n2/n3 by lbd (drain_parallel from the lab config, default 8): lbd's drain job $mv_; client view before/after: $res"
else
	metric drain_sessions_s "" s "" "" "report" "" "drain did not finish: $mv_ / $(tail -n 3 "$L/drain.out" | tr '\n' ' ')"
fi
echo "{\"g\":\"drain_sessions\",\"s\":\"summary\",\"v\":{\"moving\":${mv_:-null},\"clients\":${res:-null}}}" >>"$SMP"
exit 0
