#!/bin/bash
# tests/fuzz/long.sh - make fuzz-long: every libFuzzer target run until it
# has executed FUZZ_RUNS inputs (libFuzzer -runs) or for FUZZ_MAX_SECONDS,
# whichever comes first, FUZZ_JOBS targets at a time, each from its seed
# corpus (tests/fuzz/corpus/<target>/, read-only) plus its working corpus
# (<dir>/corpus-<target>/, shared with make fuzz, kept between runs).
#
# Usage: tests/fuzz/long.sh DIR MD JSON
#   DIR   the built targets (build/fuzz/); each target's libFuzzer output
#         goes to DIR/long/<target>.log, what it finds (crash-*, leak-*,
#         timeout-*, oom-*) to DIR/artifacts-<target>/, never removed here
#   MD    the results table (bench/fuzz.md), JSON the same as data
#         (build/fuzz/fuzz-long.json); both written when every target ended
# Environment: FUZZ_RUNS (10000000), FUZZ_MAX_SECONDS (3600, per target),
# FUZZ_JOBS (2), FUZZ_TIMEOUT (60: libFuzzer -timeout, seconds for one
# input), CPUREF (build/cpuref: the machine-speed reference,
# tests/bench/cpuref.c).
# Per target: executions (libFuzzer's final stats, -print_final_stats=1),
# wall time, exec/s (the two divided), corpus entries, coverage, what it
# found.
# Slowest first: the order of a previous JSON's exec/s when there is one.
# FUZZ_TARGETS (names, space- or comma-separated; default: every target)
# runs only those: the results then keep every other target's row from the
# previous JSON (when it ran to the same FUZZ_RUNS), each row saying which
# run (date, git) it comes from, so a target that needs a quiet machine
# for an hour can be run again alone.
# Exit: 0 when no target found anything; 1 when one did (a crash, leak,
# timeout or out-of-memory: its row names the artifacts) or could not run;
# a target stopped by the time limit before FUZZ_RUNS is reported as such,
# not as a failure.
set -u
[ $# = 3 ] || { echo "usage: $0 DIR MD JSON" >&2; exit 2; }
REPO=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$(cd "$1" && pwd) || exit 1
MD=$2
JSON=$3
RUNS=${FUZZ_RUNS:-10000000}
MAX=${FUZZ_MAX_SECONDS:-3600}
JOBS=${FUZZ_JOBS:-2}
TIMEOUT=${FUZZ_TIMEOUT:-60}
CPUREF=${CPUREF:-$REPO/build/cpuref}
ONLY=${FUZZ_TARGETS:-}
SEEDS=$REPO/tests/fuzz/corpus
LONG=$DIR/long
. "$REPO/tests/bench/host.sh"

log() { printf 'fuzz-long: %s\n' "$*" >&2; }

# final_stat LOG NAME: libFuzzer's final "stat::NAME: value", or null.
final_stat() {
	local v
	v=$(sed -n "s/^stat::$2: *//p" "$1" | tail -n 1)
	[[ $v =~ ^[0-9]+$ ]] && echo "$v" || echo null
}

# last_status LOG: the last status line's "cov: N ft: N corp: N/SIZE".
last_status() {
	grep -E '^#[0-9]+.*cov: ' "$1" | tail -n 1 |
		sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [0-9]+\/[0-9]+[a-zA-Z]*).*/\1/'
}

# outcome RC NEW...: what one run found, from libFuzzer's exit code and the
# artifacts it wrote (slow-unit-* are no failure).
outcome() {
	local rc=$1 a kinds=""
	shift
	for a in "$@"; do
		case $a in
		crash-*) kinds="$kinds crash" ;;
		leak-*) kinds="$kinds leak" ;;
		timeout-*) kinds="$kinds timeout" ;;
		oom-*) kinds="$kinds oom" ;;
		esac
	done
	if [ -n "$kinds" ]; then
		printf '%s\n' $kinds | sort -u | paste -sd, -
	elif [ "$rc" = 72 ]; then
		echo interrupted
	elif [ "$rc" != 0 ]; then
		echo "error (exit $rc)"
	else
		echo ok
	fi
}

# run_target NAME: one target's run; its result as JSON in $LONG/NAME.json.
run_target() {
	local name=$1 work=$DIR/corpus-$1 art=$DIR/artifacts-$1 log=$LONG/$1.log
	local t0 t1 rc found=()
	mkdir -p "$work" "$art"
	t0=$(date +%s.%N)
	(cd "$LONG" && exec "$DIR/$name" -runs="$RUNS" -max_total_time="$MAX" \
		-timeout="$TIMEOUT" -print_final_stats=1 -artifact_prefix="$art/" \
		"$work" "$SEEDS/$name") >"$log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	# what this run wrote (a crash found again has the same name as before)
	mapfile -t found < <(sed -n 's/.*Test unit written to //p' "$log" | xargs -r -n 1 basename)
	jq -n --arg name "$name" --argjson rc "$rc" --arg outcome "$(outcome "$rc" "${found[@]}")" \
		--argjson execs "$(final_stat "$log" number_of_executed_units)" \
		--argjson eps "$(final_stat "$log" average_exec_per_sec)" \
		--argjson wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
		--argjson corpus "$(find "$work" -maxdepth 1 -type f | wc -l)" \
		--argjson rss "$(final_stat "$log" peak_rss_mb)" \
		--arg status "$(last_status "$log")" --arg art "${art#"$REPO"/}" \
		--argjson runs "$RUNS" '$ARGS.positional as $found |
		{target: $name, executions: $execs,
		 exec_per_s: (if $execs != null and $wall > 0 then $execs / $wall | floor else null end),
		 libfuzzer_exec_per_s: $eps, wall_s: $wall,
		 reached: (($execs // 0) >= $runs), corpus_files: $corpus, last_status: $status,
		 peak_rss_mb: $rss, exit: $rc, outcome: $outcome, artifacts: ($found | map($art + "/" + .))}' \
		--args "${found[@]}" >"$LONG/$name.json"
	log "$name: $(jq -r '"\(.executions) executions in \(.wall_s * 10 | round / 10) s, \(.outcome)"' "$LONG/$name.json")"
}

# The targets, slowest first when a previous run says which are slow.
order() {
	local t names=()
	for t in "$DIR"/fuzz_*; do
		[ -x "$t" ] || continue
		t=$(basename "$t")
		if [ -z "$ONLY" ] || [[ " ${ONLY//,/ } " == *" $t "* ]]; then
			names+=("$t")
		fi
	done
	if [ -s "$JSON" ] && jq -e '.targets' "$JSON" >/dev/null 2>&1; then
		printf '%s\n' "${names[@]}" | jq -R . | jq -rs --slurpfile prev "$JSON" '
			($prev[0].targets | map({(.target): (.exec_per_s // 0)}) | add) as $eps |
			sort_by($eps[.] // -1) | .[]'
	else
		printf '%s\n' "${names[@]}"
	fi
}

# write_results START_ISO WALL LOAD_START REF: JSON, then the table.
write_results() {
	local meta
	meta=$(jq -n --arg date "$1" --argjson wall "$2" --arg load0 "$3" \
		--arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" --arg kernel "$(uname -r)" \
		--arg cpu "$(cpu_model)" --arg ref "$4" --arg clang "$("${CLANG:-clang}" --version | head -n 1)" \
		--arg git "$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)" \
		--argjson runs "$RUNS" --argjson max "$MAX" --argjson jobs "$JOBS" --argjson timeout "$TIMEOUT" \
		'{date: $date, kernel: $kernel, cpu: $cpu, git: $git, compiler: $clang,
		  cpuref_cpu_ms: ($ref | split(" ")[0] | tonumber? // null),
		  cpuref_wall_ms: ($ref | split(" ")[1] | tonumber? // null),
		  loadavg_at_start: $load0, loadavg_at_end: $load1, wall_s: $wall,
		  runs: $runs, max_seconds: $max, jobs: $jobs, timeout_s: $timeout}')
	# this run's rows, then (FUZZ_TARGETS) the previous JSON's other rows
	# with the run they came from
	local prev='{"targets": []}'
	if [ -n "$ONLY" ] && [ -s "$JSON" ] && jq -e '.targets' "$JSON" >/dev/null 2>&1; then
		prev=$(cat "$JSON")
	fi
	jq -s --argjson meta "$meta" --argjson prev "$prev" '
		map(. + {run: {date: $meta.date, git: $meta.git}}) as $new |
		($new | map(.target)) as $ran |
		(if $prev.meta.runs == $meta.runs then $prev.targets else [] end |
		 map(select(.target as $t | $ran | index($t) | not)) |
		 map(. + {run: (.run // {date: $prev.meta.date, git: $prev.meta.git})})) as $kept |
		{meta: ($meta + {targets_run: $ran}), targets: ($new + $kept | sort_by(.target))}' \
		"$LONG"/fuzz_*.json >"$JSON.tmp" && mv "$JSON.tmp" "$JSON" || return 1
	mkdir -p "$(dirname "$MD")"
	jq -r '.meta as $m | "# Tandem fuzzing: long runs",
		"",
		"- date: \($m.date)",
		"- kernel: \($m.kernel)",
		"- CPU: \($m.cpu)",
		"- machine-speed reference (tests/bench/cpuref.c, median of 3 runs): \($m.cpuref_cpu_ms // "-") ms CPU, \($m.cpuref_wall_ms // "-") ms wall",
		"- load average at start: \($m.loadavg_at_start), at end: \($m.loadavg_at_end)",
		"- git: \($m.git); \($m.compiler)",
		"- make fuzz-long: FUZZ_RUNS=\($m.runs), FUZZ_MAX_SECONDS=\($m.max_seconds), FUZZ_JOBS=\($m.jobs), -timeout=\($m.timeout_s); \($m.wall_s) s in all",
		(if ($m.targets_run | length) < (.targets | length) then
		 "- this run: \($m.targets_run | join(", ")) (FUZZ_TARGETS); the other rows come from the earlier runs named in their run column (date, git)"
		 else empty end),
		"",
		"How measured: each libFuzzer target (ASan + UBSan, tests/fuzz/) runs with -runs=\($m.runs) and -max_total_time=\($m.max_seconds), \($m.jobs) at a time, from its seed corpus (tests/fuzz/corpus/TARGET/) and its working corpus (build/fuzz/corpus-TARGET/, kept from earlier runs). Executions are libFuzzer'"'"'s final statistics (-print_final_stats=1: number_of_executed_units, the seed corpus included); wall time is the whole run (process start to exit); exec/s = executions / wall time; corpus = files in the working corpus after it; cov/ft/corp = the last status line. Found: crash, leak, timeout (one input over -timeout s) or oom, with the artifacts (build/fuzz/artifacts-TARGET/), or ok.",
		"",
		"| target | executions | >= \($m.runs) | exec/s | wall s | corpus | coverage | found | run |",
		"|---|---|---|---|---|---|---|---|---|",
		(.targets[] | "| \(.target) | \(.executions // "-") | \(if .reached then "yes" else "**no**" end) | \(.exec_per_s // "-") | \(.wall_s * 10 | round / 10) | \(.corpus_files) | \(.last_status) | \(if .outcome == "ok" then "0" else "**\(.outcome)**: \(.artifacts | join(", "))" end) | \(.run.date | split(" ")[0:2] | join(" ")) \(.run.git) |"),
		"",
		"\([.targets[] | select(.reached)] | length) of \(.targets | length) targets reached \($m.runs) executions; \([.targets[] | select(.outcome != "ok")] | length) found something or failed to run."' \
		"$JSON" >"$MD.tmp" && mv "$MD.tmp" "$MD"
}

main() {
	local start t0 load0 ref names running=0 name c
	for c in jq xargs; do
		command -v "$c" >/dev/null || { log "$c is needed"; exit 1; }
	done
	start=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
	t0=$SECONDS
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	ref=$(cpu_reference "$CPUREF") || { log "no machine-speed reference: $CPUREF"; ref=""; }
	mapfile -t names < <(order)
	[ ${#names[@]} -gt 0 ] || { log "no targets in $DIR (make fuzz-build)"; exit 1; }
	rm -rf "$LONG"
	mkdir -p "$LONG"
	log "${#names[@]} targets, $RUNS executions or $MAX s each, $JOBS at a time"
	for name in "${names[@]}"; do
		if [ "$running" -ge "$JOBS" ]; then
			wait -n
			running=$((running - 1))
		fi
		log "$name started"
		run_target "$name" &
		running=$((running + 1))
	done
	wait
	write_results "$start" "$((SECONDS - t0))" "$load0" "$ref" || { log "cannot write results"; exit 1; }
	log "results: $MD, $JSON"
	tail -n 1 "$MD" >&2
	jq -e '[.targets[] | select(.outcome != "ok")] | length == 0' "$JSON" >/dev/null
}

main
