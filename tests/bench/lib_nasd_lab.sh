#!/bin/bash
# tests/bench/lib_nasd_lab.sh - shared by the bench sections that run their
# own lab with tandem-nasd on the nodes (handoff.sh, nfs.sh).  Source with
# W (the section's work directory) and SECTION (its name) set; the caller
# defines fail_all WHY (null metrics for everything it would measure).
#
# Gives: REPO, TANDEM_BUILD, LAB_SH, TANDEMCTL, L (raw logs), M / SMP (run.sh's
# metrics.jsonl / samples.jsonl, emptied), log, metric, med,
# vip_direct_rounds (throughput through the VIP vs direct), nfs_copy (one
# timed, byte-checked nfs-cp), the minimum of
# tests/integration/lib.sh that lib_nasd.sh needs, an EXIT trap that stops
# the nasds and removes the lab, and nasd_lab_up PREFIX.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TANDEM_BUILD=${TANDEM_BUILD:-$REPO/build}
export TANDEM_BUILD
LAB_SH=$REPO/appliance/lab/lab.sh
TANDEMCTL=$TANDEM_BUILD/tandemctl
L=$W/logs
mkdir -p "$L"
M=$W/metrics.jsonl
SMP=$W/samples.jsonl
: >"$M"
: >"$SMP"

log() { printf 'bench %s: %s\n' "$SECTION" "$*" >&2; }
metric() {	# NAME VALUE UNIT BASELINE RATIO TARGET MET NOTE
	jq -cn --arg name "$1" --arg value "$2" --arg unit "$3" --arg baseline "$4" --arg ratio "$5" \
		--arg target "$6" --arg met "$7" --arg note "$8" \
		'def n: if . == "" then null else tonumber end;
		 {name: $name, value: ($value | n), unit: $unit, baseline: ($baseline | n), ratio: ($ratio | n),
		  target: $target, met: (if $met == "" then null else ($met == "true") end), note: $note}' >>"$M"
}

# med "N N N ...": the median, one decimal
med() {	# med "LIST" [DECIMALS (1)]
	printf '%s\n' $1 | sort -g | awk -v d="${2:-1}" '{ v[++n] = $1 }
		END { if (n) printf "%.*f\n", d, (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'
}

# vip_direct_rounds GROUP ROUNDS VIP DIRECT: ROUNDS rounds of the caller's
# `copy read|write HOST TAG` (prints MB/s, or nothing if the copy failed or
# came out wrong), each round for read and write a copy through VIP and one
# to DIRECT back to back, the order alternating between rounds; logs each,
# appends the samples (group GROUP_read / GROUP_write) and fills R[DIR-vip],
# R[DIR-direct] (the MB/s) and R[DIR-ratio] (each round's VIP/direct
# ratio: both copies ran back to back, so what the shared host does
# meanwhile weighs on both alike).
declare -A R
vip_direct_rounds() {
	local g=$1 n=$2 r dir how host order v
	local -A V
	for dir in read write; do R[$dir-vip]=""; R[$dir-direct]=""; R[$dir-ratio]=""; done
	for ((r = 1; r <= n; r++)); do
		for dir in read write; do
			order="vip direct"
			[ $((r % 2)) = 0 ] && order="direct vip"
			for how in $order; do
				host=$3
				[ "$how" = direct ] && host=$4
				v=$(copy "$dir" "$host" "$how$r")
				log "round $r $dir $how: ${v:-FAILED} MB/s"
				R[$dir-$how]+=" ${v:-}"
				V[$how]=${v:-}
				echo "{\"g\":\"${g}_$dir\",\"s\":\"$how\",\"v\":${v:-null}}" >>"$SMP"
			done
			[ -n "${V[vip]}" ] && [ -n "${V[direct]}" ] &&
				R[$dir-ratio]+=" $(awk -v a="${V[vip]}" -v b="${V[direct]}" 'BEGIN { printf "%.3f", a / b }')"
		done
	done
}

# nfs_copy read|write URL TAG DIR MB: one nfs-cp (libnfs) of MB MiB from c1:
# URL/big.bin out of the export (read) or W/up.bin into URL/w-TAG.bin
# (write), byte-checked against DIR (the export on disk; the check is not
# timed).  MB/s, or nothing if the copy failed or came out wrong.
nfs_copy() {
	local t0 t1 ok=0 rc
	sync
	t0=$(date +%s%N)
	if [ "$1" = read ]; then
		in_ns c1 timeout 120 nfs-cp "$2/big.bin" "$W/got.bin" >>"$L/copy.log" 2>&1
		rc=$?
		t1=$(date +%s%N)
		[ "$rc" = 0 ] && cmp -s "$W/got.bin" "$4/big.bin" && ok=1
	else
		in_ns c1 timeout 120 nfs-cp "$W/up.bin" "$2/w-$3.bin" >>"$L/copy.log" 2>&1
		rc=$?
		t1=$(date +%s%N)
		[ "$rc" = 0 ] && cmp -s "$W/up.bin" "$4/w-$3.bin" && ok=1
	fi
	rm -f "$W/got.bin" "$4/w-$3.bin"
	[ "$ok" = 1 ] && awk -v b=$(($5 << 20)) -v t=$((t1 - t0)) 'BEGIN { printf "%.1f\n", b / (t / 1e9) / 1e6 }'
}

# --- the minimum of lib.sh that lib_nasd.sh needs ---
now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
wait_for() {
	local end
	end=$(($(now_ms) + ${1%.*} * 1000))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
in_ns() { local ns=$1; shift; case "$ns" in tdm-*) ;; *) ns=tdm-$LAB_NAME-$ns ;; esac; ip netns exec "$ns" "$@"; }
lab() { local c=$1; shift; timeout 60 "$LAB_SH" "$c" "$LAB_NAME" "$@"; }
skip_all() { log "$*"; exit 1; }

LAB_NAME=""
nasd_lab_cleanup() {
	local n
	for n in n1 n2 n3; do
		[ -n "$LAB_NAME" ] && kill "$(cat "$LAB_DIR/$n/nasd.pid" 2>/dev/null)" 2>/dev/null
	done
	[ -n "$LAB_NAME" ] && { cp "$LAB_DIR"/n?/nasd.log "$L/" 2>/dev/null; timeout 60 "$LAB_SH" down "$LAB_NAME" >>"$L/lab.log" 2>&1; }
	LAB_NAME=""
}
trap nasd_lab_cleanup EXIT

# nasd_lab_up PREFIX: a lab named PREFIX + 6 hex digits (lab.sh up sees the
# caller's environment, e.g. LAB_NFS), its lbd, tandem-nasd with "handoff"
# on n1..n3 (lib_nasd.sh: NASD_NFS etc. from the environment), every node up
# in lbd and the handoff channels up.  On failure: fail_all WHY and exit 1.
nasd_lab_up() {
	local n
	LAB_NAME=$1$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	log "lab $LAB_NAME up"
	if ! timeout 120 "$LAB_SH" up "$LAB_NAME" >>"$L/lab.log" 2>&1; then
		LAB_NAME=""
		fail_all "lab did not come up (harness error)"
		exit 1
	fi
	# shellcheck disable=SC1090
	. "/run/tandem-lab/$LAB_NAME/env"
	# shellcheck source=../integration/lib_nasd.sh
	. "$REPO/tests/integration/lib_nasd.sh"
	if ! timeout 40 "$LAB_SH" lbd-start "$LAB_NAME" >>"$L/lab.log" 2>&1; then
		fail_all "tandem-lbd did not start"
		exit 1
	fi
	for n in n1 n2 n3; do
		nasd_start "$n" handoff >>"$L/lab.log" 2>&1 || { fail_all "tandem-nasd did not start in $n"; exit 1; }
	done
	nodes_up3() {
		[ "$(timeout 5 "$TANDEM_BUILD/tandemctl" -s "$LBD_SOCK" --json nodes | jq '[.nodes[] | select(.state == "up")] | length')" = 3 ]
	}
	wait_for 20 nodes_up3 || log "not all nodes up in lbd after 20 s"
	wait_for 15 chans_up || { fail_all "handoff channels did not come up"; exit 1; }
}
