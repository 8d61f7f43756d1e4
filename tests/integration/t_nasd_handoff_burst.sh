#!/bin/bash
# t_nasd_handoff_burst: a node hands off ~200 sessions in one burst
# (handoff_all) while another session on it streams.  The old node's side of
# a handoff runs on tandem-nasd's event loop (storage/handoff/outgoing.c), a
# step per event, so the stream keeps being served between them: its
# largest gap between two receives during the burst stays under
# BURST_GAP_MS (50 ms) beyond the largest one in the same time before the
# burst (the machine's own scheduling).  Why 50 ms: a step of the old node
# takes well under 1 ms (pause, freeze, snapshot, send; release, close,
# send), at most OTX_PARALLEL (2) transactions run, and the loop takes one
# event at a time, so the stream's next pacer tick (10 ms) waits for a few
# steps at most; a loop that ran the 200 handoffs one after another, each
# waiting for the other node and the switch, was blocked for all of them
# (about 0.5-1 ms each on an idle machine, 100-200 ms in all, seconds on a
# loaded one).
#
#   c1 .10 -- [sw: tandem-lbd, report port 7406] -- n1 n2 n3
#   (tandem-nasd with "handoff" on every node, lib_nasd.sh)
#
#  1. many: ho_client.py many opens 600 keep-alive connections through the
#     VIP (GET /small.bin each; the switch spreads them over the 3 nodes).
#  2. stream: ho_client.py stream, GET /rate/10m.bin?bps=4000000 on one
#     connection, a timestamp per receive (--times); X = its node.
#  3. handoff_all on X to the two others, "except" the stream: it answers
#     with every other session of c1 on X moved, none failed; X's out_ok
#     grew by as many, and no other session of c1 is left on X.
#  4. the stream ends byte-exact (sha256 of every body), on X.
#  5. the stream's largest gap during the burst is within the bound above.
#  6. many's connections each GET /node and /small.bin again: those that
#     were on X are answered by another node, every body exact, no reset.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq
handoff_lab_up
NCONN=${BURST_CONN:-600}
GAP_MS=${BURST_GAP_MS:-50}
TOOLS_PY=$REPO/tests/tools
T=$TEST_TMP

# shellcheck disable=SC2016
[ -n "${KEEP_LOGS:-}" ] && at_exit 'mkdir -p $KEEP_LOGS; for n in n1 n2 n3; do cp $LAB_DIR/$n/nasd.log $KEEP_LOGS/$n.log; done'

nasd_all_up handoff
check "v4 tcp/80 has 3 nodes in its table" wait_for 10 table_is 3

# ------------------------------------------------------------ 1. many --
in_ns c1 "$PY" "$TOOLS_PY/ho_client.py" many --host "$VIP4" --count "$NCONN" --want "$(want_sha small.bin)" \
	--port-file "$T/many.eps" --stop-file "$T/many.go" --out "$T/many.json" >"$T/many.log" 2>&1 &
many_pid=$!
at_exit "kill $many_pid 2>/dev/null"
check "$NCONN keep-alive connections open, each answered once" wait_for 60 test -s "$T/many.eps" ||
	{ diag "$(cat "$T/many.log")"; finish; }

# ---------------------------------------------------------- 2. stream --
in_ns c1 "$PY" "$TOOLS_PY/ho_client.py" stream --host "$VIP4" --path "/rate/10m.bin?bps=4000000" \
	--want "$(want_sha 10m.bin)" --stop-file "$T/stop" --port-file "$T/st.port" --out "$T/st.json" \
	--times "$T/st.times" >"$T/st.log" 2>&1 &
st_pid=$!
at_exit "kill $st_pid 2>/dev/null"
wait_for 5 test -s "$T/st.port"
SEP=$(tr -d '\n' <"$T/st.port")
sending() { [ -n "$(find_session ".client == \"$SEP\" and .state != \"idle\"")" ]; }
wait_for 5 sending
X=$(holder "$SEP")
if [ -z "$X" ]; then
	fail "the streaming session shows up on a node" "$(cat "$T/st.log")"
	finish
fi
# c1's sessions on X but the stream (lbd's health checks come and go, from
# the switch's address to the node's own: handoff_all skips those)
onx=$(nctl "$X" '{"cmd":"sessions"}' | jq --arg s "$SEP" --arg c "$C1_IP4:" \
	'[.sessions[] | select(.client != $s and (.client | startswith($c)))] | length')
diag "stream $SEP on $X; $X holds $onx other sessions"
check_le "$X holds at least $((NCONN / 5)) of the keep-alive connections" $((NCONN / 5)) "$onx"
ok0=$(hstat "$X" .out_ok)
sleep 2	# the stream's gaps before the burst, for comparison (not an assertion)

# ------------------------------------------------------ 3. the burst --
# CLOCK_MONOTONIC (the stream's clock) around the request bounds the burst
# for the gap figure (a little wide: a python start on each side).
mono() { "$PY" -c 'import time; print(time.monotonic_ns())'; }
Y=$(other "$X")
Z=$(other "$X" "$Y")
t0=$(mono)
NCTL_TIMEOUT=120 nctl "$X" "{\"cmd\":\"handoff_all\",\"to\":[\"$Y\",\"$Z\"],\"except\":[\"$SEP\"]}" >"$T/burst.json"
t1=$(mono)
diag "handoff_all: $(jq -c '{moved, failed, skipped, remaining, total_us}' "$T/burst.json" 2>/dev/null)"
check_eq "handoff_all moved every other session of c1 on $X ($onx), none failed" \
	"$onx 0" "$(jq -r '"\(.moved) \(.failed)"' "$T/burst.json" 2>/dev/null)" ||
	diag "$(jq -c '[.results[] | select(.ok | not)][:3]' "$T/burst.json" 2>/dev/null)"
check_eq "$X's out_ok grew by as many" "$onx" "$(($(hstat "$X" .out_ok) - ok0))"
check_eq "no session of c1 but the stream is left on $X" 0 "$(nctl "$X" '{"cmd":"sessions"}' |
	jq --arg s "$SEP" --arg c "$C1_IP4:" '[.sessions[] | select(.client != $s and (.client | startswith($c)))] | length')"
jq -r '[.results[] | .timings_us.total] | sort | "per handoff, request to reply (us, p50/p99/max, 2 at once): \(.[length / 2 | floor])/\(.[length * 99 / 100 | floor])/\(.[-1])"' \
	"$T/burst.json" 2>/dev/null | while read -r l; do diag "$l"; done
diag "$X frozen (us): $(hstat "$X" .frozen | jq -c .)"

# ---------------------------------------------------------- 4. stream --
touch "$T/stop"
wait_for 15 pid_gone "$st_pid"
wait "$st_pid"
src=$?
diag "stream: $(jq -c '{responses, bytes, seconds, nodes, error}' "$T/st.json" 2>/dev/null || cat "$T/st.log")"
check_eq "stream: no reset or short read, every body sha256-correct, all from $X" "0 true 0 null $X" \
	"$src $(jq -r '"\(.ok) \(.bad | length) \(.error) \(.nodes | keys | join(","))"' "$T/st.json" 2>/dev/null)"
# -------------------------------------------------------- 5. the gap --
# largest gap between receives that end inside [from, to) (ns), in ms
gap() { awk -v a="$1" -v b="$2" 'p && $1 >= a && $1 < b && $1 - p > m { m = $1 - p } { p = $1 } END { printf "%d\n", m / 1e6 }' "$T/st.times"; }
# (after the stream ended: its times file is written at the end)
dur=$((t1 - t0))
[ "$dur" -lt 500000000 ] && dur=500000000	# compare windows of at least 0.5 s
before=$(gap $((t0 - dur)) "$t0")
during=$(gap "$t0" $((t1 + 100000000)))
diag "stream's largest gap between receives: $before ms in the $((dur / 1000000)) ms before the burst, $during ms during it (the burst took $(((t1 - t0) / 1000000)) ms)"
check_le "the stream was served during the burst: largest gap $during ms <= $GAP_MS ms + $before ms" \
	"$during" $((GAP_MS + before))

# ------------------------------------------- 6. the moved connections --
touch "$T/many.go"
wait_for 60 pid_gone "$many_pid"
wait "$many_pid"
mrc=$?
diag "many: $(jq -c '{n, nodes, error, bad: (.bad | length)}' "$T/many.json" 2>/dev/null || cat "$T/many.log")"
check_eq "many: every connection answered again, every body exact, no reset" "0 true" \
	"$mrc $(jq -r .ok "$T/many.json" 2>/dev/null)" || diag "$(jq -c '.bad[:5]' "$T/many.json" 2>/dev/null)"
check_eq "no connection is answered by $X any more" 0 "$(jq -r --arg x "$X" '.nodes[$x] // 0' "$T/many.json" 2>/dev/null)"

check_eq "no rollbacks, no unconfirmed commits, nothing running or queued on $X" "0 0 0 0" \
	"$(hstat "$X" '| "\(.rollbacks) \(.out_unconfirmed) \(.out_running) \(.out_queued)"')"
for n in n1 n2 n3; do
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
finish
