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

# ------------------------------------------------------------ pair mode --
#
# A pair lab (LAB_PAIR=1 lab.sh up, see "pair mode" in appliance/lab/lab.sh):
# switches a (VRRP priority 150) and b (100), each with lbd, tandem-syncd and
# keepalived; the VIP moves by VRRP.  A test calls require_pair, then pair_up
# (lab up, pairload servers on the nodes, A master, B backup, both synced).
# After pair_up: SWA_DIR/SWB_DIR, LBD_SOCK_A/B, SYNCD_SOCK_A/B, NS_SWA/NS_SWB,
# SYNC_A/SYNC_B (sync link addresses), PAIRLOAD (tests/tools/pairload.py).
#
# Helpers: sw_start/sw_stop/sw_links X, sw_role X, roles_are RA RB, sw_jctl X,
# sy_json X, sy_get X JQ, sw_flows X (sorted "client cport vip port proto
# node" lines), sw_mac X DEV, drop_on/drop_off HOST DEV SECTION (BPF packet
# droppers of tests/tools/bpf/pair_drop.bpf.c); load_start/load_flows_on/
# load_alive/load_finish (long sessions of three kinds through the VIP);
# burst; watch_start/watch_stop/watch_unready (50 ms role sampling).

PAIRLOAD=$REPO/tests/tools/pairload.py
PAIR_PORT=9000		# pairload server port (a tcp service of the pair VIP)

# require_pair: the pair's daemons and tools are there.
require_pair() {
	require_lbd
	[ -x "$TANDEM_BUILD/tandem-syncd" ] || skip_all "no $TANDEM_BUILD/tandem-syncd (run make)"
	[ -x "$TANDEM_BUILD/tandem-failover" ] || skip_all "no $TANDEM_BUILD/tandem-failover (run make)"
	require_cmd keepalived jq python3 tc
}

# sw_start X / sw_stop X [hard] / sw_links X up|down: lab.sh switch-start ...
sw_start() { lab switch-start "$1" >/dev/null; }
sw_stop() { lab switch-stop "$@" >/dev/null; }
sw_links() { lab switch-links "$1" "$2"; }

# sw_jctl X ARGS...: `tandemctl --json ARGS` against switch X's lbd.
sw_jctl() {
	local x=$1
	shift
	timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-$x/lbd.sock" --json "$@"
}

# sw_role X: the VRRP role switch X's lbd was told (empty if lbd is down).
sw_role() {
	sw_jctl "$1" status 2>/dev/null | jq -r '.role // empty'
}

# roles_are RA RB: switch a has role RA and b has RB ("-": any).
roles_are() {
	local ra rb
	ra=$(sw_role a) rb=$(sw_role b)
	{ [ "$1" = - ] || [ "$ra" = "$1" ]; } && { [ "$2" = - ] || [ "$rb" = "$2" ]; }
}

# sy_json X: tandem-syncd's status object of switch X, one line.
sy_json() {
	timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-$1/syncd.sock" --json status 2>/dev/null | jq -c .
}

# sy_get X JQ: a field of syncd's status ("-" if syncd does not answer).
sy_get() {
	local j
	j=$(sy_json "$1") && [ -n "$j" ] || {
		echo -
		return 1
	}
	jq -r "$2" <<<"$j"
}

# sy_synced X: syncd of X holds its peer's table and is ready.
sy_synced() {
	[ "$(sy_get "$1" '.synced and .ready and .peer.alive')" = true ]
}

# sw_flows X: switch X's flow table, one sorted line per flow:
# "client client_port vip port proto node".
sw_flows() {
	sw_jctl "$1" flows --limit 1000000 |
		jq -r '.flows[] | "\(.client) \(.client_port) \(.vip) \(.port) \(.proto) \(.node)"' | sort
}

# sw_mac X DEV: the MAC address of DEV in switch X.
sw_mac() {
	ip -n "tdm-$LAB_NAME-sw$1" -j link show dev "$2" | jq -r '.[0].address'
}

# pair_servers_start: a pairload server on PAIR_PORT in every node.
pair_servers_start() {
	local n
	for n in n1 n2 n3; do
		in_ns "$n" python3 "$PAIRLOAD" server "$PAIR_PORT" "$n" \
			>"$TEST_TMP/pairload-$n.log" 2>&1 </dev/null &
	done
	for n in n1 n2 n3; do
		wait_for 10 in_ns "$n" sh -c "ss -Hltn 'sport = :$PAIR_PORT' | grep -q ." || return 1
	done
}

# pair_keep_logs: if a check failed, keep the switches' logs and state
# (daemon logs, keepalived.conf, flow tables, syncd status) in
# tests/out/pair-logs/TEST_NAME.PID/: the lab is gone after the test.
pair_keep_logs() {
	[ "$_T_FAIL" -gt 0 ] && [ -n "$LAB_NAME" ] || return 0
	local d=$REPO/tests/out/pair-logs/$TEST_NAME.$$ x
	mkdir -p "$d"
	for x in a b; do
		mkdir -p "$d/sw-$x"
		cp "$LAB_DIR/sw-$x"/*.log "$LAB_DIR/sw-$x"/*.conf "$LAB_DIR/sw-$x/tandem.json" "$d/sw-$x/" 2>/dev/null
		sw_jctl "$x" flows --limit 1000000 >"$d/sw-$x/flows.json" 2>&1
		sw_jctl "$x" stats >"$d/sw-$x/stats.json" 2>&1
		sw_jctl "$x" nodes >"$d/sw-$x/nodes.json" 2>&1
		sy_json "$x" >"$d/sw-$x/syncd-status.json" 2>&1
	done
	mkdir -p "$d/tmp"
	tar -C "$TEST_TMP" --exclude='*.bin' -cf - . 2>/dev/null | tar -C "$d/tmp" -xf - 2>/dev/null
}

# pair_up: a private pair lab with servers on the nodes, switch a master and
# b backup, both synced.  Ends the test (finish) if any of it fails.
pair_up() {
	pair_lab_up
	pair_switches_up
}

# pair_lab_up: the pair lab and the pairload servers, no switch daemons yet
# (a test that runs its own services on the nodes starts them next, then
# pair_switches_up: the switches wait for every VIP service's nodes).
pair_lab_up() {
	LAB_PAIR=1 lab_up
	at_exit pair_keep_logs
	diag "if a check fails, logs go to tests/out/pair-logs/$TEST_NAME.$$"
	if ! pair_servers_start; then
		fail "pairload servers on the nodes listen on :$PAIR_PORT" "$(cat "$TEST_TMP"/pairload-n*.log)"
		finish
	fi
}

pair_switches_up() {
	local out
	if ! out=$(lab switch-start a 2>&1) || ! wait_for 20 roles_are master -; then
		fail "switch a starts and becomes master" "$out" "role: '$(sw_role a)'" \
			"$(tail -n 5 "$SWA_DIR"/*.log)"
		finish
	fi
	if ! out=$(lab switch-start b 2>&1) || ! wait_for 20 roles_are master backup ||
		! wait_for 20 sy_synced a || ! wait_for 20 sy_synced b; then
		fail "switch b starts: a master, b backup, both synced" "$out" \
			"roles: '$(sw_role a)' '$(sw_role b)'" "a: $(sy_json a)" "b: $(sy_json b)"
		finish
	fi
	vip_ready() {
		[ "$(sw_jctl a vips | jq '[.vips[] | select(.name == "v4") | .services[] |
			.nodes_in_table] | min')" = 3 ]
	}
	if ! wait_for 15 vip_ready; then
		fail "every v4 service of switch a has its 3 nodes" "$(sw_jctl a vips)"
		finish
	fi
	diag "pair up: a master, b backup, both synced"
}

# drop_on HOST DEV SECTION: attach SECTION of tests/tools/bpf/pair_drop.bpf.c
# (drop20: ~20 % of UDP; novrrp: IP protocol 112) to DEV's ingress in HOST
# (swa, swb, hub, ...), as tc filter pref 10.  drop_off HOST DEV removes that
# filter only.  Never on a switch's eth0: lbd's data plane is the pref 1
# direct-action filter there and its verdict ends classification (a later
# filter would not see the packets); to drop what a switch sends to a LAN,
# use the hub's port of that switch (swa0 swa1 swb0 swb1: the ingress of the
# hub's end is what the switch transmits).
drop_on() {
	local o=$TEST_TMP/pair_drop.o
	if [ ! -s "$o" ]; then
		clang -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu \
			-c "$REPO/tests/tools/bpf/pair_drop.bpf.c" -o "$o" || return 1
	fi
	in_ns "$1" tc qdisc show dev "$2" | grep -q clsact ||
		in_ns "$1" tc qdisc add dev "$2" clsact || return 1
	in_ns "$1" tc filter add dev "$2" ingress pref 10 bpf da obj "$o" sec "$3"
}

drop_off() {
	in_ns "$1" tc filter del dev "$2" ingress pref 10
}

# ---------------------------------------------------- long pair sessions --
#
# load_start DIR NDL NUP NRR SECS: long sessions through VIP4, spread over
# c1 and c2, each on ONE TCP connection and lasting about SECS seconds:
#   NDL downloads: curl GET /node then /rate/1m.bin on one keep-alive
#       connection, nginx sending 1 MiB/SECS per second (limit_rate: a
#       client-side limit would let the socket buffers absorb the file);
#   NUP uploads and NRR request/response sessions: pairload.py client against
#       the nodes' pairload servers (VIP4:PAIR_PORT).
# Waits (30 s at most) until every session is established, then fills
# DIR/ready: "ID KIND HOST LPORT NODE" per session, and returns 0 (1 if some
# session did not start: the test should fail and finish).
load_start() {
	local dir=$1 ndl=$2 nup=$3 nrr=$4 secs=$5 h i rate n
	mkdir -p "$dir"
	: >"$dir/pids"
	rate=$((1048576 / secs))
	for ((i = 0; i < ndl; i++)); do
		h=c$((i % 2 + 1))
		echo "$h" >"$dir/dl$i.host"
		in_ns "$h" curl -sS -m $((secs + 120)) \
			-w "%{stderr}%{http_code} %{num_connects} %{local_port}\n" \
			-o "$dir/dl$i.node" "http://$VIP4/node" \
			-o "$dir/dl$i.bin" "http://$VIP4/rate/1m.bin?bps=$rate" 2>"$dir/dl$i.w" &
		echo "dl$i $!" >>"$dir/pids"
	done
	for h in c1 c2; do
		n=$([ "$h" = c1 ] && echo 0 || echo 1)
		# c1 takes the larger half; ids are unique: c1 from 10000, c2 from 20000
		in_ns "$h" python3 "$PAIRLOAD" client --host "$VIP4" --port "$PAIR_PORT" \
			--up $(((nup + 1 - n) / 2)) --rr $(((nrr + 1 - n) / 2)) --secs "$secs" \
			--rate 16384 --first $((10000 * (n + 1))) \
			--ready "$dir/py.$h.ready" --out "$dir/py.$h.out" >"$dir/py.$h.log" 2>&1 &
		echo "py.$h $!" >>"$dir/pids"
	done
	LOAD_N=$((ndl + nup + nrr))
	echo "$LOAD_N" >"$dir/n"
	_load_ready() {
		local n=0 i
		for ((i = 0; i < ndl; i++)); do
			grep -qx 'n[123]' "$dir/dl$i.node" 2>/dev/null &&
				grep -q '^200 1 [0-9]' "$dir/dl$i.w" 2>/dev/null && n=$((n + 1))
		done
		n=$((n + $(cat "$dir"/py.c*.ready 2>/dev/null | wc -l)))
		[ "$n" -ge "$LOAD_N" ]
	}
	wait_for 30 _load_ready
	: >"$dir/ready"
	for ((i = 0; i < ndl; i++)); do
		[ -s "$dir/dl$i.node" ] || continue
		echo "dl$i dl $(cat "$dir/dl$i.host") $(awk '/^200 1 [0-9]+$/ { print $3; exit }' \
			"$dir/dl$i.w") $(cat "$dir/dl$i.node")" >>"$dir/ready"
	done
	for h in c1 c2; do
		awk -v h="$h" '{ print $1, $2, h, $3, $4 }' "$dir/py.$h.ready" 2>/dev/null >>"$dir/ready"
	done
	[ "$(wc -l <"$dir/ready")" -eq "$LOAD_N" ]
}

# load_alive DIR: how many of DIR's sessions are still going (curl downloads
# still running, pairload sessions established and not ended).  A session
# that ended early (a reset) no longer counts.
load_alive() {
	local tag pid n=0 h
	while read -r tag pid; do
		case "$tag" in
		dl*) pid_gone "$pid" || n=$((n + 1)) ;;
		py.*)
			h=${tag#py.}
			n=$((n + $(cat "$1/py.$h.ready" 2>/dev/null | wc -l) - $(cat "$1/py.$h.out" 2>/dev/null | wc -l)))
			;;
		esac
	done <"$1/pids"
	echo "$n"
}

# load_flows_on X DIR: how many of DIR's sessions switch X's flow table holds
# on the node that serves them (the first few others on stderr).
load_flows_on() {
	local x=$1 dir=$2 ip
	sw_flows "$x" | awk '$4 == 80 || $4 == '"$PAIR_PORT"' { print $1, $2, $4, $6 }' >"$dir/flows.$x"
	awk -v c1="$C1_IP4" -v c2="$C2_IP4" -v pp="$PAIR_PORT" 'NR == FNR { f[$1 " " $2 " " $3] = $4; next }
		{ ip = ($3 == "c1" ? c1 : c2); k = ip " " $4 " " ($2 == "dl" ? 80 : pp)
		  if (f[k] == $5) n++; else if (m++ < 5) print "missing: " $0 " (table: " f[k] ")" > "/dev/stderr" }
		END { print n + 0 }' "$dir/flows.$x" "$dir/ready"
}

# load_finish DIR TIMEOUT_S: wait for every session of DIR (killing what still
# runs after TIMEOUT_S) and check each: downloads by curl's exit code, both
# HTTP 200s, one connection, sha256 of 1m.bin; uploads and request/response by
# pairload's verdict.  Writes DIR/summary ("ID KIND HOST NODE STATUS") and sets
# LOAD_OK (sessions ok), LOAD_BAD (the others), LOAD_GAP (longest network wait
# of a pairload session, ms), LOAD_FAILS (first failed summary lines).
# Call it directly, not in $(...).
load_finish() {
	local dir=$1 t=$2 tag pid rc st end want got codes conns h
	end=$(($(now_ms) + t * 1000))
	want=$(want_sha 1m.bin)
	: >"$dir/summary"
	while read -r tag pid; do
		while ! pid_gone "$pid" && [ "$(now_ms)" -lt "$end" ]; do sleep 0.2; done
		pid_gone "$pid" || kill "$pid" 2>/dev/null
		rc=0
		wait "$pid" || rc=$?
		echo "$rc" >"$dir/$tag.rc"
	done <"$dir/pids"
	while read -r tag pid; do
		case "$tag" in
		dl*)
			rc=$(cat "$dir/$tag.rc")
			got=$(sha256sum <"$dir/$tag.bin" 2>/dev/null | cut -d' ' -f1)
			codes=$(awk '/^[0-9]+ [0-9]+ [0-9]+$/ { printf "%s%s", (n++ ? "," : ""), $1 }' "$dir/$tag.w")
			conns=$(awk '/^[0-9]+ [0-9]+ [0-9]+$/ { s += $2 } END { print s + 0 }' "$dir/$tag.w")
			st=ok
			if [ "$rc" != 0 ]; then
				st="curl-exit-$rc:$(grep -v '^[0-9]* [0-9]* [0-9]*$' "$dir/$tag.w" | head -c 120 | tr ' \n' '_.')"
			elif [ "$codes" != 200,200 ]; then
				st="http:$codes"
			elif [ "$conns" != 1 ]; then
				st="connections:$conns"
			elif [ "$got" != "$want" ]; then
				st="sha256:$(file_size "$dir/$tag.bin")-bytes"
			fi
			echo "$tag dl $(cat "$dir/$tag.host") $(cat "$dir/$tag.node" 2>/dev/null || echo none) $st" \
				>>"$dir/summary"
			;;
		py.*)
			h=${tag#py.}
			[ -s "$dir/py.$h.out" ] || continue
			jq -r --arg h "$h" '"\(.id) \(.kind) \($h) \(.node) " +
				(if .ok then "ok" else "fail:" + (.err | gsub(" "; "_")) end)' \
				"$dir/py.$h.out" >>"$dir/summary"
			;;
		esac
	done <"$dir/pids"
	LOAD_OK=$(awk '$5 == "ok"' "$dir/summary" | wc -l)
	LOAD_BAD=$(($(cat "$dir/n") - LOAD_OK))
	LOAD_GAP=$(cat "$dir"/py.c*.out 2>/dev/null | jq -s 'map(.max_gap_ms) | max // 0')
	LOAD_FAILS=$(awk '$5 != "ok"' "$dir/summary" | head -n 10)
}

# burst HOST COUNT: COUNT short HTTP connections (GET /node) from HOST to
# VIP4:80, 20 at a time; prints pairload's JSON result, 0 if all succeeded.
burst() {
	in_ns "$1" timeout 120 python3 "$PAIRLOAD" burst --host "$VIP4" --count "$2" --conc 20
}

# watch_start X: sample switch X every 50 ms in the background (pairload
# poll: lbd role and nodes up, syncd synced/ready/rx.flows/peer) into
# TEST_TMP/watch.X, until watch_stop X.  Lines: "T_MS ROLE SYNCED READY
# RX_FLOWS PEER_ALIVE NODES_UP/NODES_TOTAL" ("-" while a daemon is down).
watch_start() {
	python3 "$PAIRLOAD" poll --lbd "$LAB_DIR/sw-$1/lbd.sock" --syncd "$LAB_DIR/sw-$1/syncd.sock" \
		--ms 50 --secs 600 --out "$TEST_TMP/watch.$1" &
	eval "_WATCH_$1=$!"
	at_exit "kill $! 2>/dev/null"
}

watch_stop() {
	local v=_WATCH_$1
	[ -n "${!v:-}" ] || return 0
	kill "${!v}" 2>/dev/null
	wait "${!v}" 2>/dev/null
	eval "_WATCH_$1="
}

# watch_unready X [STOPS]: the samples (at most 5) in which switch X's lbd
# was master while its syncd was not synced or not every node was up in its
# lbd: a takeover before the switch could serve every flow.  STOPS: a file
# of "FROM_MS TO_MS" lines, the times X was being stopped (watch_stopping):
# a master whose links were just cut and whose daemons are being killed
# sees its nodes go down, and that is its end, not a takeover.
watch_unready() {
	local stops=${2:-/dev/null}
	awk 'FNR == NR { from[NR] = $1; to[NR] = $2; n = NR; next }
	     $2 == "master" && ($3 != 1 || split($7, u, "/") != 2 || u[1] != u[2]) {
		for (i = 1; i <= n; i++) if ($1 >= from[i] && $1 <= to[i]) next
		print
	     }' "$stops" "$TEST_TMP/watch.$1" 2>/dev/null | head -n 5
}

# watch_stopping FILE CMD...: run CMD (a switch stop) and add its time
# window to FILE for watch_unready.
watch_stopping() {
	local f=$1 t0 rc
	shift
	t0=$(now_ms)
	"$@"
	rc=$?
	echo "$t0 $(now_ms)" >>"$f"
	return $rc
}
