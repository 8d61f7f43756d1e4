# shellcheck shell=bash
# lib_nlm.sh - lock clients for the NLM tests (t_nlm.sh, t_nlm_pair.sh):
# tests/tools/nlm_client processes that read their commands from a fifo,
# one JSON answer line each, so a test holds a lock on one connection while
# others act.  Needs lib.sh (in_ns, wait_for, at_exit, TEST_TMP) and
# TANDEM_BUILD.

NLM=$TANDEM_BUILD/tools/nlm_client
declare -A FD
# cl_start NAME HOST SERVER [OPTS...]: a client reading commands from a fifo
# (killed at exit)
cl_start() {
	local name=$1 host=$2 srv=$3 fd
	shift 3
	mkfifo "$TEST_TMP/$name.in"
	: >"$TEST_TMP/$name.out"
	in_ns "$host" "$NLM" "$@" "$srv" /export <"$TEST_TMP/$name.in" >"$TEST_TMP/$name.out" 2>&1 &
	exec {fd}<>"$TEST_TMP/$name.in"	# read-write: never blocks
	FD[$name]=$fd
	at_exit "kill $! 2>/dev/null"
}
lines() { wc -l <"$TEST_TMP/$1.out"; }
more_than() { [ "$(lines "$1")" -gt "$2" ]; }
# cl NAME CMD...: send CMD, print its answer line (bounded wait: 30 s)
cl() {
	local name=$1 n
	shift
	n=$(lines "$name")
	echo "$*" >&"${FD[$name]}"
	wait_for 30 more_than "$name" "$n"
	sed -n "$((n + 1))p" "$TEST_TMP/$name.out"
}
# st NAME CMD...: the stat of CMD's answer
st() { cl "$@" | jq -r '.stat // "none"'; }

