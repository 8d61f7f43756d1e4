# shellcheck shell=bash
# Shared by demo.sh and demo-pair.sh: narration (section, say, good, bad)
# and polling.  bad() counts into PROBLEMS; the demos exit 1 if it is not 0.
PROBLEMS=${PROBLEMS:-0}

if [ -t 1 ]; then
	B=$'\033[1m' G=$'\033[32m' R=$'\033[31m' D=$'\033[2m' N=$'\033[0m'
else
	B="" G="" R="" D="" N=""
fi

section() { printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
say() { printf '   %s\n' "$*"; }
good() { printf '   %s✓ %s%s\n' "$G" "$*" "$N"; }
bad() {
	printf '   %s✗ %s%s\n' "$R" "$*" "$N"
	PROBLEMS=$((PROBLEMS + 1))
}
die() {
	printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2
	exit 1
}

now_ms() {
	local t
	t=$(date +%s%N)
	echo $((t / 1000000))
}

# wait_ms MS CMD...: poll CMD every 0.1 s until it succeeds; 1 after MS.
wait_ms() {
	local end
	end=$(($(now_ms) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
