# shellcheck shell=bash
# Integration-test harness, sourced by tests/integration/t_*.sh:
#
#     #!/bin/bash
#     # <topology diagram>
#     . "$(dirname "$0")/lib.sh"
#     require_lbd                       # skip (exit 4) unless build/ has the daemons
#     lab_up                            # private lab, torn down on exit
#     lbd_start
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
# Helpers for lbd and traffic (below): jctl, lbd_pid, node_json, node_is,
# svc_nodes, new_flows_all, verdict, flow_node, want_sha; wait_ms (20 ms
# polling); check_le, check_between; sessions/tally (N concurrent client
# sessions through the VIP, each knowing its node); long_start/long_finish
# (a slow download whose node and client port are known, sha256 at the end);
# log_lines/log_line_ms (when lbd logged something, for timing assertions).
# Functions run through check/wait_for must not rely on globals named out,
# rc, desc, end or ms: those helpers have locals of these names.

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

# ------------------------------------------------------------------ lab --

# lab_name: a lab NAME for this test: 3 chars of the test name + 5 hex of
# a hash of (test name, pid, time), [a-z0-9]{8}.
lab_name() {
	local base h
	base=${TEST_NAME#t_}
	base=$(tr -cd 'a-z0-9' <<<"${base,,}")
	h=$(printf '%s.%s.%s' "$TEST_NAME" "$$" "$(date +%s%N)" | sha256sum)
	echo "${base:0:3}${h:0:5}"
}

# lab_up: bring up a private lab and source its env.  LAB_WEIGHTS is passed on.
lab_up() {
	local out
	require_root
	require_cmd ip curl iperf3 nginx sha256sum
	LAB_NAME=$(lab_name)
	if ! out=$(timeout 60 "$LAB_SH" up "$LAB_NAME" 2>&1); then
		fail "lab $LAB_NAME up" "$out"
		LAB_NAME=""
		finish
	fi
	# shellcheck disable=SC1090
	. "/run/tandem-lab/$LAB_NAME/env"
	diag "lab $LAB_NAME up ($LAB_DIR)"
}

# lab_down: remove the lab (idempotent; also run at exit).
lab_down() {
	[ -n "$LAB_NAME" ] || return 0
	local name=$LAB_NAME
	LAB_NAME=""
	timeout 60 "$LAB_SH" down "$name" >/dev/null 2>&1 || {
		diag "lab $name down failed"
		return 1
	}
}

# lab CMD ARGS...: lab.sh CMD <this lab> ARGS (node-stop n2 nginx, link n1 down, ...)
lab() {
	local c=$1
	shift
	timeout 60 "$LAB_SH" "$c" "$LAB_NAME" "$@"
}

# lbd_start [ARGS...]: start tandem-lbd in the switch and wait for its socket.
lbd_start() {
	timeout 30 "$LAB_SH" lbd-start "$LAB_NAME" "$@"
}

lbd_stop() {
	timeout 30 "$LAB_SH" lbd-stop "$LAB_NAME"
}

# ctl ARGS...: tandemctl against this lab's lbd.
ctl() {
	timeout 10 "$TANDEMCTL" -s "$LBD_SOCK" "$@"
}

# fetch HOST URL [CURL ARGS...]: body of URL fetched from HOST (15 s max).
fetch() {
	local h=$1 u=$2
	shift 2
	in_ns "$h" curl -fsS --max-time 15 "$@" "$u"
}

# ------------------------------------------------------- lbd and traffic --

# jctl ARGS...: `tandemctl --json` against this lab's lbd.
jctl() {
	ctl --json "$@"
}

# lbd_pid: pid of this lab's lbd (from lab.sh's pid file), or nothing.
lbd_pid() {
	cat "$LBD_PIDFILE" 2>/dev/null || true
}

# want_sha FILE: the sha256 of LAB_WWW/FILE (lab.sh writes SHA256SUMS).
want_sha() {
	awk -v f="$1" '$2 == f { print $1 }' "$LAB_WWW/SHA256SUMS"
}

# node_json NODE: NODE's object of `tandemctl --json nodes`, one line.
node_json() {
	jctl nodes | jq -ce --arg n "$1" '.nodes[] | select(.name == $n)'
}

# node_is NODE JQ_EXPR: JQ_EXPR (e.g. '.state == "down"') holds for NODE.
node_is() {
	jctl nodes | jq -e --arg n "$1" ".nodes[] | select(.name == \$n) | $2" >/dev/null
}

# svc_nodes VIPNAME PROTO PORT: nodes_in_table of that service.
svc_nodes() {
	jctl vips | jq -r --arg v "$1" --arg p "$2" --argjson port "$3" \
		'.vips[] | select(.name == $v) | .services[] | select(.proto == $p and .port == $port) | .nodes_in_table'
}

# new_flows_all: "n1 n2 n3" new_flows counters, one line "N1 N2 N3".
new_flows_all() {
	jctl nodes | jq -r '[.nodes[] | .new_flows] | join(" ")'
}

# verdict NAME: the data plane's counter for verdict NAME.
verdict() {
	jctl stats | jq -r --arg v "$1" '.verdicts[$v]'
}

# flow_node CLIENT CLIENT_PORT PORT [PROTO]: the node lbd's flow table holds
# for that client 5-tuple (to any VIP), or nothing.
flow_node() {
	jctl flows --limit 100000 | jq -r --arg c "$1" --argjson cp "$2" --argjson p "$3" \
		--arg pr "${4:-tcp}" '[.flows[] | select(.client == $c and .client_port == $cp and
		.port == $p and .proto == $pr) | .node][0] // empty'
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

# sessions DIR N BASE [PATH]: N new client sessions through the VIP at once,
# the even ones from c1, the odd ones from c2.  BASE is "http://ADDR" (IPv6:
# "http://[ADDR]").  Session i fetches BASE/node, then BASE/PATH if given, on
# ONE keep-alive connection (curl reuses it for the second URL), so i.node
# names the node that served i.bin.  Files per session: DIR/i.host, i.node,
# i.bin, i.err, i.w (curl -w per URL: "http_code num_connects local_port").
# Then DIR/summary gets one line per session: "i host node lport status",
# status "ok" or what went wrong (http codes, connection count, ports).
# Each curl has 60 s at most.
sessions() {
	local dir=$1 n=$2 base=$3 path=${4:-} h pids=()
	mkdir -p "$dir"
	for h in c1 c2; do
		# shellcheck disable=SC2016
		in_ns "$h" bash -c '
			dir=$1 n=$2 base=$3 path=$4 first=$5
			for ((i = first; i < n; i += 2)); do
				echo "$6" >"$dir/$i.host"
				if [ -n "$path" ]; then
					curl -sS -m 60 -w "%{http_code} %{num_connects} %{local_port}\n" \
						-o "$dir/$i.node" "$base/node" -o "$dir/$i.bin" "$base$path" \
						>"$dir/$i.w" 2>"$dir/$i.err" &
				else
					curl -sS -m 60 -w "%{http_code} %{num_connects} %{local_port}\n" \
						-o "$dir/$i.node" "$base/node" >"$dir/$i.w" 2>"$dir/$i.err" &
				fi
			done
			wait' _ "$dir" "$n" "$base" "$path" "$([ "$h" = c1 ] && echo 0 || echo 1)" "$h" &
		pids+=($!)
	done
	wait "${pids[@]}"	# only these: the test may have other jobs running
	local i urls=1 host node st codes conns ports
	[ -z "$path" ] || urls=2
	: >"$dir/summary"
	for ((i = 0; i < n; i++)); do
		host=$(cat "$dir/$i.host" 2>/dev/null)
		node=$(cat "$dir/$i.node" 2>/dev/null)
		node=${node:-none}
		codes=$(awk '{ printf "%s%s", (NR > 1 ? "," : ""), $1 }' "$dir/$i.w" 2>/dev/null)
		conns=$(awk '{ s += $2 } END { print s + 0 }' "$dir/$i.w" 2>/dev/null)
		ports=$(awk '{ print $3 }' "$dir/$i.w" 2>/dev/null | sort -u | paste -sd,)
		st=ok
		if [ "$codes" != "$([ "$urls" = 2 ] && echo 200,200 || echo 200)" ]; then
			st="http:${codes:-none}:$(head -c 100 "$dir/$i.err" 2>/dev/null | tr ' \n' '_.')"
		elif [ "$conns" != 1 ] || [[ $ports == *,* ]]; then
			st="connections:$conns:ports:$ports"
		fi
		case "$node" in n1 | n2 | n3) ;; *) [ "$st" != ok ] || st="node:$node" ;; esac
		echo "$i ${host:-?} $node ${ports:-0} $st" >>"$dir/summary"
	done
}

# tally DIR: "N1 N2 N3 FAILED" session counts per node from DIR/summary.
tally() {
	awk '$5 != "ok" { f++; next } { c[$3]++ }
		END { printf "%d %d %d %d\n", c["n1"], c["n2"], c["n3"], f }' "$1/summary"
}

# sessions_fail_lines DIR: the failed sessions of DIR/summary (max 10 lines).
sessions_fail_lines() {
	awk '$5 != "ok"' "$1/summary" | head -n 10
}

# long_start TAG HOST BASE PATH: in the background, HOST fetches BASE/node and
# then BASE/PATH on ONE connection (say /slow/10m.bin: 10 s at nginx's 1 MiB/s).
# Waits up to 10 s for /node's answer, then sets LONG_PID (curl), LONG_NODE
# (who serves it), LONG_PORT (the client's port), LONG_FILE (the download).
# Files: TEST_TMP/TAG.{node,bin,w} (.w: curl -w lines and curl's errors).
# Returns 1 if /node did not answer.
long_start() {
	local tag=$1 h=$2 base=$3 path=$4 f
	f=$TEST_TMP/$tag
	rm -f "$f".node "$f".bin "$f".w
	# -w to stderr: curl flushes stdout only at exit, stderr at once.
	in_ns "$h" curl -sS -m 90 -w "%{stderr}%{http_code} %{num_connects} %{local_port}\n" \
		-o "$f.node" "$base/node" -o "$f.bin" "$base$path" 2>"$f.w" &
	LONG_PID=$!
	LONG_FILE=$f.bin
	LONG_NODE="" LONG_PORT=""
	wait_for 10 grep -qx 'n[123]' "$f.node" || return 1
	wait_for 5 grep -q '^200 1 [0-9]' "$f.w" || return 1
	LONG_NODE=$(cat "$f.node")
	LONG_PORT=$(awk '/^200 1 [0-9]+$/ { print $3; exit }' "$f.w")
	[ -n "$LONG_PORT" ]
}

# file_size FILE: its size in bytes, 0 if missing.
file_size() {
	stat -c %s "$1" 2>/dev/null || echo 0
}

# long_finish PID FILE WANT_FILE TIMEOUT_S: wait for the download PID (TIMEOUT_S
# at most; it is killed after that), then compare FILE's sha256 with
# WANT_FILE's from SHA256SUMS.  0 if it finished and matches; else 1 and
# LONG_WHY says why.  Call it directly, not in $(...): a subshell cannot
# wait for the test's children.
long_finish() {
	local pid=$1 file=$2 want=$3 t=$4 rc=0 got
	LONG_WHY=""
	if ! wait_for "$t" pid_gone "$pid"; then
		kill "$pid" 2>/dev/null
		LONG_WHY="download still running after ${t}s ($(file_size "$file") bytes)"
		return 1
	fi
	wait "$pid" || rc=$?
	got=$(sha256sum <"$file" | cut -d' ' -f1)
	if [ "$rc" -ne 0 ] || [ "$got" != "$(want_sha "$want")" ]; then
		LONG_WHY="curl exit $rc, $(file_size "$file") bytes, sha256 $got, want $(want_sha "$want")
$(grep -v '^[0-9]* [0-9]* [0-9]*$' "${file%.bin}.w" 2>/dev/null)"
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

# log_lines: the number of lines in lbd's log now (for log_line_ms).
log_lines() {
	wc -l <"$LBD_LOG"
}

# log_line_ms SKIP REGEX: when lbd logged the first line after the first SKIP
# lines that matches REGEX (grep -E): wall-clock ms (comparable with now_ms),
# from the line's HH:MM:SS.mmm stamp.  1 if there is no such line.  Timing
# assertions use this rather than the moment a polling loop noticed: on a
# loaded machine the poll (tandemctl + jq) lags by hundreds of ms.
log_line_ms() {
	local stamp ms
	stamp=$(tail -n +"$(($1 + 1))" "$LBD_LOG" | grep -E -m1 -- "$2" | awk '{ print $1 }')
	[ -n "$stamp" ] || return 1
	ms=$(date -d "$stamp" +%s%3N 2>/dev/null) || return 1
	# stamped before midnight, read after it: date took today's date
	[ "$ms" -le $(($(now_ms) + 3600000)) ] || ms=$((ms - 86400000))
	echo "$ms"
}
