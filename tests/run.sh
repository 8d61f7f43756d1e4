#!/bin/bash
# The test runner behind `make check`.  Runs, in order:
#   unit tests (build/tests/test_*), the same under ASan/UBSan (build-san/),
#   every fuzz target on its seed corpus plus a short bounded fuzzing run,
#   tests/check_deps.sh (every require_cmd of the tests is installed by
#   scripts/deps.sh: one test line, deps/require_cmd),
#   integration tests (tests/integration/t_*.sh, real binaries in network
#   namespaces), TANDEM_JOBS at a time (default 2),
#   the appliance image's boot test (image/check.sh: make image-check; alone,
#   since its virtual machines need both CPUs; TANDEM_IMAGE_CHECK=0 leaves it
#   out, for a quick run by hand only: CI and make check run it).
# Every test is one line in the summary; the run ends with "N passed, N failed"
# and exits non-zero if anything failed.  Logs: tests/out/<suite>/<test>.log.
# A kselftest "skip" (exit 4) counts as a failure: nothing here may skip.
set -u
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$ROOT/tests/out
JOBS=${TANDEM_JOBS:-2}
FUZZ_CHECK_SECONDS=${FUZZ_CHECK_SECONDS:-10}
INTEG_TIMEOUT=${INTEG_TIMEOUT:-900}
rm -rf "$OUT"
IMAGE_TIMEOUT=${IMAGE_TIMEOUT:-2400}
mkdir -p "$OUT/unit" "$OUT/san" "$OUT/fuzz" "$OUT/deps" "$OUT/integration" "$OUT/image"
pass=0
fail=0
failed=()

record() {	# record NAME RC LOG SECONDS
	if [ "$2" = 0 ]; then
		pass=$((pass + 1))
		printf 'PASS  %-44s %4ss\n' "$1" "$4"
	else
		fail=$((fail + 1))
		failed+=("$1")
		printf 'FAIL  %-44s %4ss  (exit %s, log %s)\n' "$1" "$4" "$2" "${3#$ROOT/}"
		tail -n 15 "$3" | sed 's/^/      | /'
	fi
}

run_one() {	# run_one SUITE NAME CMD...
	local suite=$1 name=$2
	shift 2
	local log="$OUT/$suite/$name.log" t0=$SECONDS
	"$@" >"$log" 2>&1
	record "$suite/$name" $? "$log" $((SECONDS - t0))
}

echo "== unit"
for t in build/tests/test_*; do
	run_one unit "$(basename "$t")" "$t"
done
echo "== unit under ASan/UBSan"
for t in build-san/tests/test_*; do
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		run_one san "$(basename "$t")" "$t"
done
echo "== fuzz targets (seed corpus + ${FUZZ_CHECK_SECONDS}s each)"
for t in build/fuzz/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	work=$(mktemp -d)
	run_one fuzz "$name" sh -c "cd '$work' && '$ROOT/$t' -max_total_time=$FUZZ_CHECK_SECONDS \
		'$work' '$ROOT/tests/fuzz/corpus/$name'"
	rm -rf "$work"
done

echo "== the tests' commands come from scripts/deps.sh"
run_one deps require_cmd bash tests/check_deps.sh

echo "== integration (network namespaces, $JOBS at a time)"
integ=(tests/integration/t_*.sh)
running=0
declare -A started
for t in "${integ[@]}"; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	(
		t0=$SECONDS
		timeout -k 10 "$INTEG_TIMEOUT" bash "$t" >"$OUT/integration/$name.log" 2>&1
		echo "$? $((SECONDS - t0))" >"$OUT/integration/$name.rc"
	) &
	started[$name]=1
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait
for name in $(printf '%s\n' "${!started[@]}" | sort); do
	read -r rc secs <"$OUT/integration/$name.rc" || { rc=99; secs=0; }
	record "integration/$name" "$rc" "$OUT/integration/$name.log" "$secs"
done

if [ "${TANDEM_IMAGE_CHECK:-1}" != 0 ]; then
	echo "== the appliance image under qemu (image/check.sh)"
	run_one image check timeout -k 10 "$IMAGE_TIMEOUT" bash image/check.sh
fi

echo
if [ "$fail" -gt 0 ]; then
	echo "failed: ${failed[*]}"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
