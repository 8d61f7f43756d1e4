#!/bin/bash
# Helpers for tests that move live TCP sessions between the lab's storage
# nodes with tests/tools/tch_demo (libtch's echo server) and stream through
# them with tests/tools/tch_client.  Source after lib.sh; tch_lab_up brings
# up the lab, lbd and the three tch_demo nodes.  Clients: c4 runs in c1
# (IPv4), any other tag in c2 (IPv6) (flow_client).
#
# Per node X: TEST_TMP/X.log (tch_demo's log), TEST_TMP/X.sock (its control
# socket), TEST_TMP/X.pid.  Per client TAG: TEST_TMP/TAG.status (running
# state, rewritten every 100 ms), TEST_TMP/TAG.out (the final JSON summary),
# TEST_TMP/TAG.pid.

DEMO=$TANDEM_BUILD/tools/tch_demo
CLIENT=$TANDEM_BUILD/tools/tch_client
DROP_OBJ=$TANDEM_BUILD/flowdrop.bpf.o
PORT=5201

node_ip() { echo "10.77.2.1${1#n}"; }

# flow_client TAG: the client address of client TAG.
flow_client() { [ "$1" = c4 ] && echo "$C1_IP4" || echo "$C2_IP6"; }

# demo_start NODE: the echo/handoff server in NODE (pid in TEST_TMP/NODE.pid;
# ip netns exec execs it, so $! is its pid).
demo_start() {
	local n=$1 m peers=()
	for m in n1 n2 n3; do
		[ "$m" = "$n" ] || peers+=(--peer "$m=$(node_ip "$m"):7700")
	done
	mkdir -p "$LAB_DIR/bpffs/tch-$n"
	rm -f "$TEST_TMP/$n.sock"
	ip netns exec "tdm-$LAB_NAME-$n" "$DEMO" serve --name "$n" --listen "$VIP4:$PORT" \
		--listen "[$VIP6]:$PORT" --listen "$(node_ip "$n"):$PORT" \
		--peer-listen "$(node_ip "$n"):7700" "${peers[@]}" --ifname eth0 --obj "$DROP_OBJ" \
		--pin "$LAB_DIR/bpffs/tch-$n" --lbd "$LBD_SOCK" --ctl "$TEST_TMP/$n.sock" \
		--grace-ms 2000 >>"$TEST_TMP/$n.log" 2>&1 &
	echo $! >"$TEST_TMP/$n.pid"
	disown $!	# killed on purpose below: no job notice
	wait_for 5 test -S "$TEST_TMP/$n.sock"
}

demo_pid() { cat "$TEST_TMP/$1.pid" 2>/dev/null; }

# svc_up: lbd's tcp/PORT services (IPv4 and IPv6) have all 3 nodes.
svc_up() { [ "$(svc_nodes v4 tcp "$PORT")" = 3 ] && [ "$(svc_nodes v6 tcp "$PORT")" = 3 ]; }

# tch_lab_up: skip unless lbd, jq, nstat and the tools are
# there; the lab and lbd up, then demos_up.
tch_lab_up() {
	local f
	require_lbd
	require_cmd jq nstat
	for f in "$DEMO" "$CLIENT" "$DROP_OBJ"; do
		[ -e "$f" ] || skip_all "no $f (run make)"
	done
	lab_up
	lbd_up
	demos_up
}

# demos_up: iperf3 off and tch_demo on in n1..n3 (killed at exit), until
# lbd's health checks see all three.
demos_up() {
	local n
	for n in n1 n2 n3; do
		lab node-stop "$n" iperf3 >/dev/null
	done
	for n in n1 n2 n3; do
		demo_start "$n" || fail "tch_demo starts in $n" "$(tail -n 5 "$TEST_TMP/$n.log")"
	done
	at_exit 'for n in n1 n2 n3; do kill $(demo_pid $n) 2>/dev/null; done'
	check "the tcp/$PORT services have all 3 nodes (health checks reach tch_demo)" wait_for 15 svc_up
}

# dctl NODE COMMAND...: one control command, its JSON reply on stdout.
dctl() {
	local n=$1
	shift
	timeout 10 "$DEMO" ctl "$TEST_TMP/$n.sock" "$@"
}

# dstat NODE JQ: a field of NODE's status.
dstat() { dctl "$1" status | jq -r "$2"; }

# client_start TAG HOST TARGET SEED: a streaming client in HOST (2 MB/s).
client_start() {
	local tag=$1 h=$2 target=$3 seed=$4
	rm -f "$TEST_TMP/$tag.status"
	ip netns exec "tdm-$LAB_NAME-$h" "$CLIENT" --connect "$target" --rate 2000000 --chunk 4096 \
		--seed "$seed" --status "$TEST_TMP/$tag.status" >"$TEST_TMP/$tag.out" 2>&1 &
	echo $! >"$TEST_TMP/$tag.pid"
	wait_for 5 test -s "$TEST_TMP/$tag.status"
}

cstat() { jq -r "$2" "$TEST_TMP/$1.status" 2>/dev/null; }

# progressing TAG BYTES: the client's echo grows by BYTES within 5 s.
progressing() {
	local tag=$1 want
	want=$(($(cstat "$tag" .recv) + $2))
	# shellcheck disable=SC2317
	got_more() { [ "$(cstat "$tag" .recv)" -ge "$want" ] && [ "$(cstat "$tag" .error)" = "" ]; }
	wait_for 5 got_more
}

# run_is FIELD RUN: some node's status FIELD (.last_done, .last_failed) is RUN.
run_is() {
	local n
	for n in n1 n2 n3; do
		[ "$(dstat "$n" "$1" 2>/dev/null)" = "$2" ] && return 0
	done
	return 1
}
# run_done RUN: some node finished ping-pong RUN; run_failed RUN: one gave up.
run_done() { run_is .last_done "$1"; }
run_failed() { run_is .last_failed "$1"; }
run_over() { run_done "$1" || run_failed "$1"; }

# hops_ok RUN: successful handoffs of RUN in all logs.
hops_ok() { cat "$TEST_TMP"/n[123].log | grep -c "handoff ok run=$1 " || true; }

# pingpong TAG X Y HOPS GAP RUN TIMEOUT: RUN's handoffs of TAG's session,
# X -> Y -> X ...; checks they all succeed and where the flow ends up.
pingpong() {
	local tag=$1 x=$2 y=$3 hops=$4 gap=$5 run=$6 t=$7 port last t0 t1
	port=$(cstat "$tag" .port)
	t0=$(now_ms)
	if ! dctl "$x" handoff "$y" "$hops" "$gap" "$run" "$port" >/dev/null; then
		fail "$tag: $hops handoffs $x <-> $y start" "$(dctl "$x" sessions)"
		return 1
	fi
	wait_for "$t" run_over "$run"
	t1=$(now_ms)
	last=$([ $((hops % 2)) = 0 ] && echo "$x" || echo "$y")
	if run_done "$run" && [ "$(hops_ok "$run")" = "$hops" ]; then
		ok "$tag: $hops handoffs $x <-> $y on one connection ($((t1 - t0)) ms)"
	else
		fail "$tag: $hops handoffs $x <-> $y on one connection" \
			"$(hops_ok "$run") succeeded" \
			"$(grep -h "run=$run \|run $run" "$TEST_TMP"/n[123].log | grep -v 'handoff ok' | tail -n 5)"
		return 1
	fi
	check_eq "$tag: lbd sends the flow to $last" "$last" "$(flow_node "$(flow_client "$tag")" "$port" "$PORT")"
}

# session_of NODE PORT JQ: JQ of NODE's session with client port PORT.
session_of() {
	dctl "$1" sessions | jq -r --argjson p "$2" ".sessions[] | select(.client_port == \$p) | $3"
}

# finish_client TAG PORT MAX_GAP_MS: SIGTERM, wait, compare with the server's
# account; the client's longest wait for echo was at most MAX_GAP_MS.
finish_client() {
	local tag=$1 port=$2 max=$3 pid sent hash line
	pid=$(cat "$TEST_TMP/$tag.pid")
	kill -TERM "$pid"
	wait_for 30 pid_gone "$pid"
	wait "$pid"
	check "$tag: byte-exact echo, clean end, no reset: $(cat "$TEST_TMP/$tag.out")" \
		jq -e '.ok and .error == "" and .mismatch == -1' "$TEST_TMP/$tag.out"
	sent=$(jq -r .sent "$TEST_TMP/$tag.out")
	hash=$(jq -r .hash "$TEST_TMP/$tag.out")
	# shellcheck disable=SC2317
	ended() { grep -h "session end client=.*:$port " "$TEST_TMP"/n[123].log | grep -q .; }
	wait_for 5 ended
	line=$(grep -h "session end client=.*:$port " "$TEST_TMP"/n[123].log | tail -n 1)
	check_eq "$tag: the server (application state carried through every handoff) counted and hashed the same bytes" \
		"in=$sent out=$sent hash=$hash" "$(grep -o 'in=[0-9]* out=[0-9]* hash=[0-9a-f]*' <<<"$line")"
	diag "$tag: $(jq -c '{sent, max_gap_ms, max_gap_at, gaps_over_100ms, gaps_over_1s, seconds}' "$TEST_TMP/$tag.out")"
	if ! check_le "$tag: longest wait for echo while reading (ms)" "$(jq -r .max_gap_ms "$TEST_TMP/$tag.out")" "$max"; then
		gap_context "$TEST_TMP/$tag.out"
	fi
}

# gap_context OUT: what the servers logged around the client's longest wait
# (its start from the client's max_gap_at, same clock and format as the
# logs' HH:MM:SS.mmm prefix), and the client's TCP state 1 s into it.
gap_context() {
	local at
	at=$(jq -r .max_gap_at "$1")
	diag "client's TCP 1 s into its first wait over 1 s: $(jq -c .long_gap "$1")"
	[ -n "$at" ] || return 0
	diag "servers' log around $at (the last 6 lines before, the first 6 after):"
	cat "$TEST_TMP"/n[123].log | grep -E '^[0-9]{2}:[0-9]{2}:[0-9]{2}' | sort -s -k1,1 >"$TEST_TMP/gap.log"
	awk -v t="$at" '$1 < t' "$TEST_TMP/gap.log" | tail -n 6 | while read -r l; do diag "  $l"; done
	awk -v t="$at" '$1 >= t' "$TEST_TMP/gap.log" | head -n 6 | while read -r l; do diag "  $l"; done
}

# pct FILE P: the P-th percentile of FILE's sorted numbers.
pct() { awk -v p="$2" '{ a[NR] = $1 } END { i = int(NR * p / 100); if (i < 1) i = 1; print a[i] }' "$1"; }
