# shellcheck shell=bash
# lib_lab.sh - the harness's lab and lbd helpers (sourced by lib.sh; see
# there): a private lab per test (appliance/lab/lab.sh), lbd in its switch,
# and reading lbd's state through tandemctl --json.

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
	# lab.sh up (ip, ss, iperf3, nginx, mount), fetch/sessions (curl)
	require_cmd ip ss curl iperf3 nginx sha256sum mount mountpoint
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

# lbd_up [ARGS...]: lbd_start, or the test fails ("lbd starts", with what
# lab.sh said and lbd's log) and ends.
lbd_up() {
	local out
	out=$(lbd_start "$@" 2>&1) && return 0
	fail "lbd starts" "$out" "$(tail -n 20 "$LBD_LOG" 2>/dev/null)"
	finish
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

# table_is N: the v4 tcp/80 Maglev table holds N nodes.
table_is() { [ "$(svc_nodes v4 tcp 80)" = "$1" ]; }

# lab_lbd_up [LBD ARGS...]: the opening of the single-switch tests: lbd is
# built (else skip) and jq installed, a private lab, lbd started in its
# switch (if it does not start, the test fails with lbd's log and ends), and
# the check "all 3 nodes in the v4 tcp/80 table" (15 s at most).
lab_lbd_up() {
	require_lbd
	require_cmd jq
	lab_up
	lbd_up "$@"
	check "all 3 nodes in the v4 tcp/80 table" wait_for 15 table_is 3
}
