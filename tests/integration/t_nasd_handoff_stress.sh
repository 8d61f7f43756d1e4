#!/bin/bash
# t_nasd_handoff_stress: 1000 back-and-forth handoffs of ONE streaming
# connection through tandem-nasd, with a keep-alive connection doing
# requests and being moved too, unmodified client TCP stacks.
#
#   c1 .10 -- [sw: tandem-lbd, report port 7406] -- n1 n2 n3 (tandem-nasd
#              with "handoff", nginx stopped; as t_nasd_handoff)
#
#  stream: tests/tools/ho_client.py stream on one connection: GET
#          /rate/10m.bin?bps=16000000 again and again (each body sha256-checked)
#          until the driver is done, then it finishes the response in flight.
#  ka:     ho_client.py ka on a second connection: GET /node and /small.bin
#          alternately, 20 ms apart (/node's body = its X-Tandem-Node header,
#          small.bin sha256-correct).
#  driver: tests/tools/ho_drive.py, one process talking to the nasd control
#          sockets directly: the stream session goes X -> Y -> X ... 1000
#          times (~5 ms apart, jittered), the keep-alive session every 10th
#          round to another node; every 50 handoffs (and at the end) lbd's flow
#          for the client port names the holder and the holder lists the
#          session (at the end, the same for the keep-alive session).
#  then: 1000 handoffs done, none failed, no mismatch, both clients ended
#  without a reset or a short read, every body exact; out_ok/in_ok of the
#  nodes count them; lbd's flow names the final holder.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq
handoff_lab_up
HO_N=${HO_STRESS_N:-1000}
TOOLS_PY=$REPO/tests/tools

# shellcheck disable=SC2016
[ -n "${KEEP_LOGS:-}" ] && at_exit 'mkdir -p $KEEP_LOGS; for n in n1 n2 n3; do cp $LAB_DIR/$n/nasd.log $KEEP_LOGS/$n.log; done'

nasd_all_up handoff
check "v4 tcp/80 has 3 nodes in its table" wait_for 10 table_is 3

sum() { for n in n1 n2 n3; do hstat "$n" "$1"; done | awk '{ s += $1 } END { print s + 0 }'; }
ok0=$(sum .out_ok)
in0=$(sum .in_ok)
# the client's TCP counters (c1's namespace: only these clients), printed
tcpc() { in_ns c1 nstat -az 2>/dev/null | awk '$1 ~ /^(TcpExtTCPTimeouts|TcpRetransSegs|TcpExtTCPLossProbes)$/ { printf "%s=%s ", $1, $2 }'; }
tcp0=$(tcpc)

T=$TEST_TMP
in_ns c1 "$PY" "$TOOLS_PY/ho_client.py" stream --host "$VIP4" --path "/rate/10m.bin?bps=16000000" \
	--want "$(want_sha 10m.bin)" --stop-file "$T/stop" --port-file "$T/st.port" --out "$T/st.json" \
	>"$T/st.log" 2>&1 &
st_pid=$!
in_ns c1 "$PY" "$TOOLS_PY/ho_client.py" ka --host "$VIP4" --want "$(want_sha small.bin)" --gap-ms 20 \
	--stop-file "$T/stop" --port-file "$T/ka.port" --out "$T/ka.json" >"$T/ka.log" 2>&1 &
ka_pid=$!
at_exit "kill $st_pid $ka_pid 2>/dev/null"
wait_for 5 test -s "$T/st.port"
wait_for 5 test -s "$T/ka.port"
SEP=$(tr -d '\n' <"$T/st.port")
KEP=$(tr -d '\n' <"$T/ka.port")
sending() { [ -n "$(find_session ".client == \"$SEP\" and .state != \"idle\"")" ]; }
wait_for 5 sending
X=$(holder "$SEP")
if [ -z "$X" ]; then
	fail "the streaming session shows up on a node" "$(cat "$T/st.log")"
	finish
fi
Y=$(other "$X")
check_eq "lbd's flow for the stream ($SEP) names $X, which holds it" "$X" "$(flow_node "$C1_IP4" "${SEP##*:}" 80)"
diag "stream $SEP on $X, moving $X <-> $Y; keep-alive $KEP on $(holder "$KEP")"

t0=$(now_ms)
timeout 150 "$PY" "$TOOLS_PY/ho_drive.py" --sock "n1=$LAB_DIR/n1/nasd.sock" --sock "n2=$LAB_DIR/n2/nasd.sock" \
	--sock "n3=$LAB_DIR/n3/nasd.sock" --lbd "$LBD_SOCK" --ep "$SEP" --from "$X" --nodes "$X,$Y" \
	--count "$HO_N" --gap-ms 5 --ka-ep "$KEP" --ka-every 10 --check-every 50 \
	--out "$T/drive.json" >"$T/drive.log" 2>&1
drc=$?
# before the clients are told to stop (the test does that, not the driver: a
# client that stops finishes its response and closes): the session still exists
FINAL=$(jq -r .holder "$T/drive.json" 2>/dev/null)
check_eq "the stream's final holder ($FINAL) lists it" "$FINAL" "$(holder "$SEP")"
check_eq "lbd's flow for the stream names the final holder" "$FINAL" "$(flow_node "$C1_IP4" "${SEP##*:}" 80)"
touch "$T/stop"
diag "driver: exit $drc in $(($(now_ms) - t0)) ms: $(jq -c '{done, tries, checks, ka_moves, seconds, holder}' "$T/drive.json" 2>/dev/null || cat "$T/drive.log")"
check_eq "$HO_N handoffs of the stream, all 'done'" "$HO_N 0" \
	"$(jq -r '"\(.done) \(.failed | length)"' "$T/drive.json" 2>/dev/null)" ||
	diag "failed: $(jq -c '.failed[:5]' "$T/drive.json" 2>/dev/null)"
check_eq "lbd's flow and the holder's session list agreed at every check (stream: every 50 handoffs and at the end; keep-alive: at the end)" \
	"0" "$(jq -r '.mismatches | length' "$T/drive.json" 2>/dev/null || echo x)" ||
	diag "$(jq -c '.mismatches[:5]' "$T/drive.json")"
check_le "the keep-alive session was moved between its requests (>= $((HO_N / 20)) times)" $((HO_N / 20)) \
	"$(jq -r '.ka_moves' "$T/drive.json" 2>/dev/null || echo 0)" ||
	diag "ka failures: $(jq -c '.ka_failed[:5]' "$T/drive.json")"
check_eq "no keep-alive handoff failed" 0 "$(jq -r '.ka_failed | length' "$T/drive.json" 2>/dev/null || echo x)"
jq -r '.timings | "handoff timings (us, p50/p99/max): " + ([to_entries[] | select(.key != "state_bytes") | .key + " " +
	((.value | sort) as $v | "\($v[($v | length) / 2 | floor])/\($v[($v | length) * 99 / 100 | floor])/\($v[-1])")] | join(", "))' \
	"$T/drive.json" 2>/dev/null | while read -r l; do diag "$l"; done


# The clients finish the response in flight (<= 10 MiB at 16 MB/s).
wait_for 10 pid_gone "$ka_pid"
wait "$ka_pid"
krc=$?
wait_for 15 pid_gone "$st_pid"
wait "$st_pid"
src=$?
diag "stream: $(jq -c '{responses, bytes, socket_bytes, seconds, nodes, error}' "$T/st.json" 2>/dev/null || cat "$T/st.log")"
diag "keep-alive: $(jq -c '{requests, nodes, error}' "$T/ka.json" 2>/dev/null || cat "$T/ka.log")"
check_eq "stream client: one connection, no reset or short read, every 10m.bin body sha256-correct" \
	"0 true 0 null" "$src $(jq -r '"\(.ok) \(.bad | length) \(.error)"' "$T/st.json" 2>/dev/null)"
check_le "stream client received at least 2 whole responses" 2 "$(jq -r .responses "$T/st.json" 2>/dev/null || echo 0)"
check_eq "keep-alive client: no reset, every /node and small.bin answer right" "0 true 0 null" \
	"$krc $(jq -r '"\(.ok) \(.bad | length) \(.error)"' "$T/ka.json" 2>/dev/null)" ||
	diag "$(jq -c '.bad[:5]' "$T/ka.json" 2>/dev/null)"
check_le "keep-alive answers came from at least 2 nodes" 2 "$(jq -r '.nodes | length' "$T/ka.json" 2>/dev/null || echo 0)"
nmoved=$(($(jq -r '.done + .ka_moves' "$T/drive.json" 2>/dev/null || echo 0)))
check_eq "out_ok and in_ok of the nodes grew by every handoff made ($nmoved)" "$nmoved $nmoved" \
	"$(($(sum .out_ok) - ok0)) $(($(sum .in_ok) - in0))"
check_eq "held packets sent with the ACKs decoded and were replayed (hold.bad, hold.replay_failed)" "0 0" \
	"$(sum .hold.bad) $(sum .hold.replay_failed)"
diag "client c1 TCP before: $tcp0"
diag "client c1 TCP after:  $(tcpc)"
check_eq "no unconfirmed commits" 0 "$(sum .out_unconfirmed)"
for n in n1 n2 n3; do
	diag "$n handoff: $(hstat "$n" '| {out_ok, out_failed, rollbacks, in_ok, in_failed, reports, report_retries, frozen_avg_us, frozen_max_us, flowdrop, hold}' | jq -c .)"
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
check "lbd still running" kill -0 "$(lbd_pid)"
finish
