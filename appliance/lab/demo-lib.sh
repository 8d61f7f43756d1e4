# shellcheck shell=bash
# Shared by demo.sh and demo-pair.sh: narration (section, say, good, bad)
# and polling.  bad() counts into PROBLEMS; the demos exit 1 if it is not 0.
PROBLEMS=${PROBLEMS:-0}

# The demo's lab names: DEMO_PREFIX (default "demo") for the single switch,
# DEMO_PREFIX"p" for the pair, DEMO_PREFIX"h" for the handoff lab.  `make
# demo` uses the documented names; a test (tests/integration/t_demo.sh) sets
# its own prefix so that it never touches a developer's demo.  DEMO_LAB,
# DEMO_PAIR_LAB and DEMO_HANDOFF_LAB still name one lab each.
DEMO_PREFIX=${DEMO_PREFIX:-demo}
case "$DEMO_PREFIX" in
'' | *[!a-z0-9]* | ????????*)
	echo "demo: DEMO_PREFIX '$DEMO_PREFIX': want [a-z0-9], at most 7 characters" >&2
	exit 2
	;;
esac
DEMO_MAIN_LAB=${DEMO_LAB:-$DEMO_PREFIX}
DEMO_PAIR_LAB=${DEMO_PAIR_LAB:-${DEMO_PREFIX}p}
DEMO_HANDOFF_LAB=${DEMO_HANDOFF_LAB:-${DEMO_PREFIX}h}
# The web console's port on the host's 127.0.0.1 (demo-console.sh).
DEMO_CONSOLE_PORT=${DEMO_CONSOLE_PORT:-8443}

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
