#!/bin/sh
# make fuzz: run every libFuzzer target for SECONDS each, starting from its
# seed corpus (tests/fuzz/corpus/<target>/, read-only) and growing a working
# corpus under the build directory.  Crashes are saved there as crash-*.
set -eu
dir=$(cd "$1" && pwd)
secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
rc=0
for t in "$dir"/fuzz_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	work="$dir/corpus-$name"
	mkdir -p "$work"
	echo "fuzz: $name for ${secs}s"
	if ! (cd "$dir" && "$t" -max_total_time="$secs" -print_final_stats=0 \
		"$work" "$here/corpus/$name" >"$dir/$name.log" 2>&1); then
		echo "fuzz: $name FAILED, see $dir/$name.log"
		rc=1
	fi
done
exit $rc
