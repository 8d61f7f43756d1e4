# shellcheck shell=bash
# Integration-test harness, sourced by tests/integration/t_*.sh:
#
#     #!/bin/bash
#     # <topology diagram>
#     . "$(dirname "$0")/lib.sh"
#     require_cmd python3               # every command the test runs itself
#     lab_lbd_up                        # lbd built, a private lab (torn down on
#                                       # exit), lbd started, 3 nodes in the table
#     check "c1 reaches the VIP" in_ns c1 curl -fsS -m 5 "http://$VIP4/node"
#     finish                            # kselftest exit code: 0 pass, 1 fail, 4 skip
#
# Reporting: TAP-like lines on stdout: "ok - DESC", "not ok - DESC", "# diag";
# finish prints the plan "1..N" and a summary.  Every test bounds its own
# commands with `timeout`/`curl -m`; a watchdog also ends the whole test after
# TEST_TIMEOUT seconds (default 300) and the lab is still torn down.
#
# Running a command in a lab host: `in HOST CMD...` or `in_ns HOST CMD...`,
# HOST is c1 c2 sw n1 n2 n3 hub or a full namespace name ($NS_C1).  `in` is an
# alias (bash reserves the word `in`), so it works as a statement but NOT
# inside $(...): there, write $(in_ns c1 ...).
#
# Variables after lab_up: REPO, TANDEM_BUILD, LAB_SH, TANDEMCTL, LBD_BIN,
# TEST_NAME, TEST_TMP (private dir, removed at exit) and everything in the
# lab's env file (LAB_NAME, LAB_DIR, NS_*, VIP4, VIP6, N1_IP4.., C1_IP4..,
# SW_STORAGE_IF (br1), N1_PORT.. (p1..), LBD_SOCK, LBD_CONF, LBD_LOG,
# LBD_PIDFILE, LAB_WWW ...; see appliance/lab/lab.sh).
#
# The harness is this file and the parts it sources, by role:
#   lib.sh          reporting (check, check_eq, check_le, check_between, ok,
#                   fail, diag, relay_checks, finish), requirements (require_*), waiting
#                   (wait_for, wait_ms, wait_eq), in_ns, at_exit, the exit
#                   trap and the watchdog, pid_gone, file_size;
#   lib_lab.sh      the lab and its lbd: lab_up, lab_lbd_up (the usual
#                   opening), lab, lbd_start, ctl/jctl, node_json, node_is,
#                   svc_nodes, table_is, new_flows_all, verdict, flow_node,
#                   want_sha, log_lines/log_line_ms (when lbd logged
#                   something, for timing assertions);
#   lib_traffic.sh  client traffic through the VIP: sessions/tally (N
#                   concurrent sessions, each knowing its node), long_start/
#                   long_begin/long_finish (a slow download whose node and
#                   client port are known, sha256 at the end);
#   lib_pair.sh     pair mode (two switches; see there).
# lib_nasd.sh and lib_ldap.sh are sourced by the tests that need them.
#
# Waiting: a condition is a command run again at every poll.  `wait_for N
# test "$(CMD)" = X` runs CMD once and then sleeps N seconds: write
# `wait_eq N X CMD...` (or a function that runs CMD, given to wait_for).
# Functions run through check/wait_for/wait_eq must not rely on globals
# named out, rc, desc, end or ms: those helpers have locals of these names.

set -u
shopt -s expand_aliases

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TANDEM_BUILD=${TANDEM_BUILD:-$REPO/build}
export TANDEM_BUILD
LAB_SH=$REPO/appliance/lab/lab.sh
TANDEMCTL=$TANDEM_BUILD/tandemctl
LBD_BIN=$TANDEM_BUILD/tandem-lbd
TEST_NAME=$(basename "$0" .sh)
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
LAB_NAME=""

_T_PASS=0
_T_FAIL=0
_T_SKIP=0
_T_AT_EXIT=()
_T_WATCHDOG=""
TEST_TMP=$(mktemp -d "/tmp/tandem-$TEST_NAME.XXXXXX")

# The parts (functions only; see above).
for _t_part in lab traffic pair; do
	# shellcheck disable=SC1090
	. "$REPO/tests/integration/lib_$_t_part.sh"
done
unset _t_part

# ------------------------------------------------------------ reporting --

diag() {
	local l
	while IFS= read -r l; do echo "# $l"; done <<<"$*"
}

ok() {
	_T_PASS=$((_T_PASS + 1))
	echo "ok - $*"
}

# fail DESC [DETAIL...]: report a failed check; each DETAIL becomes "#" lines.
fail() {
	local d
	_T_FAIL=$((_T_FAIL + 1))
	echo "not ok - $1"
	shift
	for d in "$@"; do
		[ -z "$d" ] || diag "$d"
	done
}

skip() {
	_T_SKIP=$((_T_SKIP + 1))
	echo "ok - $* # SKIP"
}

# _t_run CMD...: run CMD; a leading word "in" means in_ns (aliases do not
# apply to arguments, so `check "..." in c1 curl ...` would not work otherwise).
_t_run() {
	if [ "$1" = in ]; then
		shift
		in_ns "$@"
	else
		"$@"
	fi
}

# check DESC CMD...: ok if CMD succeeds; on failure its output is shown.
check() {
	local desc=$1 out rc
	shift
	out=$(_t_run "$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$desc"
	else
		fail "$desc" "exit $rc: $*" "${out:+$(tail -n 20 <<<"$out")}"
	fi
	return "$rc"
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "expected: '$2'" "got:      '$3'"
		return 1
	fi
}

# relay_checks PREFIX FILE: a tool's TAP-like lines in FILE ("ok - ...",
# "not ok - ...", "# ...") become this test's checks and diagnostics, each
# check's description prefixed with PREFIX; other lines become diagnostics.
relay_checks() {
	local line
	while IFS= read -r line; do
		case "$line" in
		"ok - "*) ok "$1${line#ok - }" ;;
		"not ok - "*) fail "$1${line#not ok - }" ;;
		"# "*) echo "$line" ;;
		*) diag "$1$line" ;;
		esac
	done <"$2"
}

# finish: print the plan and summary, exit with the kselftest code.
finish() {
	local n=$((_T_PASS + _T_FAIL + _T_SKIP))
	echo "1..$n"
	diag "$TEST_NAME: $_T_PASS passed, $_T_FAIL failed, $_T_SKIP skipped"
	if [ "$_T_FAIL" -gt 0 ]; then
		exit 1
	elif [ "$_T_PASS" -eq 0 ]; then
		exit 4
	fi
	exit 0
}

# skip_all REASON: the whole test cannot run here (kselftest "skip").
skip_all() {
	echo "1..0 # SKIP $*"
	exit 4
}

# ---------------------------------------------------------- requirements --

require_root() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (network namespaces)"
}

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "needs $c"
	done
}

# require_lbd: the daemon and tandemctl are built.
require_lbd() {
	[ -x "$LBD_BIN" ] || skip_all "no $LBD_BIN (run make)"
	[ -x "$TANDEMCTL" ] || skip_all "no $TANDEMCTL (run make)"
}

# ------------------------------------------------------------- plumbing --

# now_ms: wall clock in milliseconds.
now_ms() {
	local t
	t=$(date +%s%N)
	echo $((t / 1000000))
}

# wait_for TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds; 1 on
# timeout.  TIMEOUT_S may be fractional ("0.5").
wait_for() {
	local end ms
	ms=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')
	end=$(($(now_ms) + ms))
	shift
	while :; do
		_t_run "$@" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# wait_eq TIMEOUT_S WANT CMD...: run CMD every 0.1 s until what it prints
# on stdout (trailing newlines dropped) is exactly WANT: 0.  After TIMEOUT_S:
# 1, and a diag line saying what CMD printed last (and its exit code and
# stderr), so a failed wait shows what it saw.  CMD runs again at every
# poll (`in HOST CMD...` works as in check).
wait_eq() {
	local _t_end _t_ms _t_want=$2 _t_got _t_rc
	_t_ms=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')
	_t_end=$(($(now_ms) + _t_ms))
	shift 2
	while :; do
		_t_got=$(_t_run "$@" 2>"$TEST_TMP/wait_eq.err")
		_t_rc=$?
		[ "$_t_got" = "$_t_want" ] && return 0
		[ "$(now_ms)" -lt "$_t_end" ] || break
		sleep 0.1
	done
	diag "waited $_t_ms ms for '$_t_want' from: $*
last output: '$_t_got' (exit $_t_rc)$(head -c 300 "$TEST_TMP/wait_eq.err" | sed 's/^/ stderr: /')"
	return 1
}

# wait_ms MS CMD...: like wait_for, finer: run CMD every 20 ms until it
# succeeds (0) or MS elapse (1).  For timing assertions.
wait_ms() {
	local end
	end=$(($(now_ms) + $1))
	shift
	while :; do
		_t_run "$@" >/dev/null 2>&1 && return 0
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.02
	done
}

# check_le DESC VALUE MAX: ok if integer VALUE <= MAX.
check_le() {
	if [ "$2" -le "$3" ] 2>/dev/null; then
		ok "$1 ($2 <= $3)"
	else
		fail "$1" "got $2, want <= $3"
		return 1
	fi
}

# check_between DESC VALUE LO HI: ok if LO <= VALUE <= HI (numbers, awk).
check_between() {
	if awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(v >= lo && v <= hi) }'; then
		ok "$1 ($2 in [$3, $4])"
	else
		fail "$1" "got $2, want within [$3, $4]"
		return 1
	fi
}

# pid_gone PID: PID no longer runs (a zombie counts as gone).
pid_gone() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	[ "${st%% *}" = Z ]
}

# file_size FILE: its size in bytes, 0 if missing.
file_size() {
	stat -c %s "$1" 2>/dev/null || echo 0
}

# in_ns HOST|NAMESPACE CMD...: run CMD inside a lab namespace.
in_ns() {
	local ns=$1
	shift
	case "$ns" in
	tdm-*) ;;
	*) ns=tdm-$LAB_NAME-$ns ;;
	esac
	ip netns exec "$ns" "$@"
}
alias in=in_ns

# at_exit CMD...: run CMD (eval'd) when the test exits, before the lab goes.
at_exit() {
	_T_AT_EXIT+=("$*")
}

_t_exit() {
	local rc=$? i
	trap - EXIT INT TERM
	# Stop the watchdog and wait for it: if it fired, its pkill of our
	# children must be over before the cleanup below starts new ones.
	if [ -n "$_T_WATCHDOG" ]; then
		kill "$_T_WATCHDOG" 2>/dev/null
		wait "$_T_WATCHDOG" 2>/dev/null
	fi
	for ((i = ${#_T_AT_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${_T_AT_EXIT[i]}" >/dev/null 2>&1 || true
	done
	lab_down
	rm -rf "$TEST_TMP"
	exit "$rc"
}
trap _t_exit EXIT
trap 'diag "interrupted"; exit 130' INT
trap 'diag "terminated (timeout?)"; exit 143' TERM

# Watchdog: end the test (and its children, by parent pid) after TEST_TIMEOUT.
# (Its sleep must not outlive the test: it would hold a pipe's write end.)
(
	sleep "$TEST_TIMEOUT" >/dev/null 2>&1 &
	_sp=$!
	trap 'kill $_sp 2>/dev/null; exit 0' TERM
	wait $_sp
	echo "# $TEST_NAME: watchdog: no end after ${TEST_TIMEOUT}s"
	kill -TERM $$ 2>/dev/null
	pkill -TERM -P $$ 2>/dev/null
) &
_T_WATCHDOG=$!
