#!/bin/bash
# tests/bench/nfs.sh WORKDIR - the "nfs" section of tests/bench/run.sh
# (run.sh --only nfs): NFSv3 through the VIP.
#
# One private lab (lab.sh with LAB_NFS=1: VIP tcp/111 and tcp/2049),
# tandem-lbd, tandem-nasd with "handoff" and NFS (one export shared by the
# nodes, tests/integration/lib_nasd.sh NASD_NFS=1) on n1..n3, clients in c1.
#
#  throughput: Debian's nfs-cp (libnfs) copies a NFS_MB MiB file out of the
#    export (read) and into it (write), through the VIP and directly to n1's
#    own address (the switch then only routes), NFS_ROUNDS rounds
#    interleaved, each round a VIP copy and a direct copy back to back;
#    ratio = median of the rounds' VIP / direct ratios (target >= 0.95).
#  metadata: one connection (tests/tools/nfs_rpc.py meta) doing LOOKUP +
#    GETATTR pairs for NFS_META_S seconds, through the VIP; ops/s.
#  handoff cost seen by a client: one connection READing 64 KiB at a time
#    (nfs_rpc.py latread), its connection handed between two nodes every
#    200 ms (nasd control "handoff"); per-call latency p50/p99/max with
#    handoffs vs the same without, and the handoffs' count.  The slowest
#    call again with both CPUs busy (stress-ng --cpu 2): with and without
#    handoffs, both loaded.
#
# Writes WORKDIR/metrics.jsonl and WORKDIR/samples.jsonl (run.sh's format),
# raw files in WORKDIR/logs.  Exit 1 if the lab or daemons cannot start.
set -u
W=${1:?usage: nfs.sh WORKDIR}
SECTION=nfs
# shellcheck source=lib_nasd_lab.sh
. "$(dirname "$0")/lib_nasd_lab.sh"
RPC=$REPO/tests/tools/nfs_rpc.py
NFS_MB=${NFS_MB:-256}
NFS_ROUNDS=${NFS_ROUNDS:-15}
NFS_META_S=${NFS_META_S:-5}
NFS_LAT_S=${NFS_LAT_S:-6}

fail_all() {
	metric nfs_read_mbps "" MB/s "" "" ">= 0.95 x direct" "" "$1"
	metric nfs_write_mbps "" MB/s "" "" ">= 0.95 x direct" "" "$1"
	metric nfs_metadata_ops_per_s "" ops/s "" "" "report" "" "$1"
	metric nfs_handoff_call_p99_ms "" ms "" "" "report" "" "$1"
	metric nfs_handoff_call_max_ms "" ms "" "" "<= baseline + 5 ms" "" "$1"
	metric nfs_handoff_call_loaded_max_ms "" ms "" "" "<= baseline + 5 ms" "" "$1"
}

export LAB_NFS=1 NASD_NFS=1
nasd_lab_up bn
CTL=(timeout 30 "$TANDEM_BUILD/tandemctl" -s "$LBD_SOCK")
head -c $((NFS_MB << 20)) /dev/urandom >"$LAB_DIR/nfs/big.bin"
head -c $((NFS_MB << 20)) /dev/urandom >"$W/up.bin"
head -c $((8 << 20)) /dev/urandom >"$LAB_DIR/nfs/lat.bin"
N1=$(node_ip4 n1)

# one copy: MB/s, or nothing if it failed or came out wrong
copy() {	# copy read|write HOST TAG (lib_nasd_lab.sh's nfs_copy)
	nfs_copy "$1" "nfs://$2/export" "$3" "$LAB_DIR/nfs" "$NFS_MB"
}

vip_direct_rounds nfs "$NFS_ROUNDS" "$VIP4" "$N1"
for dir in read write; do
	mv_=$(med "${R[$dir-vip]}")
	md=$(med "${R[$dir-direct]}")
	rm_=$([ -n "$mv_" ] && [ -n "$md" ] && awk -v a="$mv_" -v b="$md" 'BEGIN { printf "%.3f", a / b }')
	rt=$(med "${R[$dir-ratio]:-}" 3)
	met=$([ -n "$rt" ] && awk -v r="$rt" 'BEGIN { print (r >= 0.95) ? "true" : "false" }')
	metric "nfs_${dir}_mbps" "$mv_" MB/s "$md" "$rt" ">= 0.95 x direct" "$met" \
		"nfs-cp (libnfs, Debian) of a ${NFS_MB} MiB file $([ "$dir" = read ] && echo "out of" || echo "into") the export from c1: through the VIP (tandem-lbd's BPF) vs directly to n1's own address (the switch routes); each copy byte-checked (the check is not timed); $NFS_ROUNDS rounds, each a VIP copy and a direct copy back to back (order alternating); value and baseline = medians of the MB/s, ratio = median of the rounds' VIP/direct ratios [${R[$dir-ratio]# }] (the ratio of the medians is $rm_); VIP [${R[$dir-vip]# }] direct [${R[$dir-direct]# }]; one TCP connection per copy, tandem-nasd on a shared export on this 2-CPU host"
done

# ------------------------------------------------------------ metadata --
in_ns c1 /usr/bin/python3 "$RPC" meta "$VIP4" "$NFS_META_S" >"$L/meta.json" 2>>"$L/meta.err"
ops=$(jq -r '.ops_per_s // empty' "$L/meta.json" 2>/dev/null)
metric nfs_metadata_ops_per_s "$ops" ops/s "" "" "report" "" \
	"one connection through the VIP, LOOKUP + GETATTR of a file in the export back to back for ${NFS_META_S} s from a Python RPC client (tests/tools/nfs_rpc.py meta: the client's own cost is part of it): $(cat "$L/meta.json" 2>/dev/null)"

# -------------------------------------------------- handoff cost (client) --
latrun() {	# latrun TAG HANDOFFS(0|1): per-call READ latencies of one connection
	local tag=$1 ho=$2 pid ep holder moves=0 fails=0 other t_end
	rm -f "$W/lat.ep"
	NFS_RPC_LOCAL=$LAB_DIR/nfs/lat.bin in_ns c1 /usr/bin/python3 "$RPC" latread "$VIP4" lat.bin "$NFS_LAT_S" "$W/lat.ep" \
		>"$L/lat-$tag.json" 2>"$L/lat-$tag.err" &
	pid=$!
	wait_for 5 test -s "$W/lat.ep"
	ep=$(cat "$W/lat.ep" 2>/dev/null)
	if [ "$ho" = 1 ] && [ -n "$ep" ]; then
		t_end=$(($(now_ms) + NFS_LAT_S * 1000 - 500))
		holder=$(jq -r .node <<<"$("${CTL[@]}" --json flows | jq -c --arg p "${ep##*:}" '.flows[] | select((.client_port | tostring) == $p)')" 2>/dev/null)
		while [ "$(now_ms)" -lt "$t_end" ] && kill -0 "$pid" 2>/dev/null; do
			other=n2
			[ "$holder" = n2 ] && other=n3
			if nctl "$holder" "{\"cmd\":\"handoff\",\"session\":\"$ep\",\"to\":\"$other\"}" | jq -e .ok >/dev/null 2>&1; then
				moves=$((moves + 1))
				holder=$other
			else
				fails=$((fails + 1))
			fi
			sleep 0.2
		done
	fi
	wait "$pid"
	echo "$moves $fails"
}
read -r m0 f0 < <(latrun base 0)
read -r m1 f1 < <(latrun ho 1)
b50=$(jq -r '.p50_ms // empty' "$L/lat-base.json" 2>/dev/null)
b99=$(jq -r '.p99_ms // empty' "$L/lat-base.json" 2>/dev/null)
h50=$(jq -r '.p50_ms // empty' "$L/lat-ho.json" 2>/dev/null)
h99=$(jq -r '.p99_ms // empty' "$L/lat-ho.json" 2>/dev/null)
hmax=$(jq -r '.max_ms // empty' "$L/lat-ho.json" 2>/dev/null)
bmax=$(jq -r '.max_ms // empty' "$L/lat-base.json" 2>/dev/null)
okb=$(jq -r '.ok // empty' "$L/lat-ho.json" 2>/dev/null)
metric nfs_handoff_call_p99_ms "$h99" ms "$b99" "" "report" "" \
	"one NFS connection through the VIP READing 64 KiB at a time (tests/tools/nfs_rpc.py latread, every byte checked: $okb) for ${NFS_LAT_S} s while its connection is handed between two nodes every 200 ms ($m1 handoffs, $f1 failed) vs the same run without handoffs: per-call latency p50 $h50 / p99 $h99 / max $hmax ms with, p50 $b50 / p99 $b99 / max $bmax ms without (value = p99 with handoffs, baseline = p99 without)"
metric nfs_handoff_call_max_ms "$hmax" ms "$bmax" "" "<= baseline + 5 ms" \
	"$([ -n "$hmax" ] && [ -n "$bmax" ] && awk -v h="$hmax" -v b="$bmax" 'BEGIN { print (h <= b + 5) ? "true" : "false" }')" \
	"same runs as nfs_handoff_call_p99_ms: the slowest READ with handoffs vs without.  A call whose request reaches the old node while it is frozen is held there and replayed to the new node's socket (handoff.hold_kb, doc/tch.md \"Holding instead of dropping\"), so it waits for the freeze, not for the client's retransmission timer (200 ms minimum on Linux), unless holding overflowed"
# the same two runs with both CPUs busy
stress-ng --cpu 2 --timeout 300s >/dev/null 2>&1 &
spid=$!
read -r ml0 fl0 < <(latrun base-load 0)
read -r ml1 fl1 < <(latrun ho-load 1)
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
lhmax=$(jq -r '.max_ms // empty' "$L/lat-ho-load.json" 2>/dev/null)
lbmax=$(jq -r '.max_ms // empty' "$L/lat-base-load.json" 2>/dev/null)
metric nfs_handoff_call_loaded_max_ms "$lhmax" ms "$lbmax" "" "<= baseline + 5 ms" \
	"$([ -n "$lhmax" ] && [ -n "$lbmax" ] && awk -v h="$lhmax" -v b="$lbmax" 'BEGIN { print (h <= b + 5) ? "true" : "false" }')" \
	"as nfs_handoff_call_max_ms with stress-ng --cpu 2 running on this 2-CPU host during both runs ($ml1 handoffs, $fl1 failed; every byte checked: $(jq -r '.ok // empty' "$L/lat-ho-load.json" 2>/dev/null)): the slowest READ with handoffs vs without, both loaded; p99 $(jq -r '.p99_ms // empty' "$L/lat-ho-load.json" 2>/dev/null) ms with, $(jq -r '.p99_ms // empty' "$L/lat-base-load.json" 2>/dev/null) ms without"
echo "{\"g\":\"nfs_handoff\",\"s\":\"summary\",\"v\":{\"base\":$(cat "$L/lat-base.json" 2>/dev/null || echo null),\"ho\":$(cat "$L/lat-ho.json" 2>/dev/null || echo null),\"moves\":$m1,\"fails\":$f1}}" >>"$SMP"
exit 0
