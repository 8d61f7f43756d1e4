#!/bin/bash
# t_flood: a spoofed flood cannot turn the flow table over, and flows lbd
# re-pointed survive the table's evictions.
#
#   c1 c2 --- brc --- eth0 [sw: lbd, flow table 65536] br1 --- p1..p3 --- n1 n2 n3
#                      |
#                      flowgen (in sw): lbd's tc program run on spoofed
#                      frames (bpf_prog_test_run: real maps, nothing sent)
#
#   1. 40 HTTP sessions from c1/c2: 40 flows; one flowgen client F (a SYN),
#      re-pointed by `tandemctl migrate --repoint` to a node other than its
#      Maglev node: pinned (flags migrated; status flow_pressure.pins 1);
#   2. a flood of 100000 ACKs from 100000 spoofed clients (mid-stream
#      misses): every one forwarded, but the table grows by at most the
#      insert budget (flow_table_size / 60 per second, status
#      insert_budget_per_s) for the flood's duration; the rest count as
#      fwd_untracked (tandemctl stats) and status flow_pressure.untracked,
#      state "throttling"; the 40 sessions' entries are all still there, on
#      their nodes;
#   3. flows written straight into the table (twice its size from every
#      CPU: flowgen fill, no budget) and, if the kernel's LRU kept it, a
#      removal by hand evict F's entry; F's next ACK is restored
#      from its pin to the node it was moved to (fwd_pinned +1, listed there
#      again as migrated), not re-hashed to its Maglev node;
#      After another eviction, `tandemctl migrate --node Y --to Z` moves F's
#      pin too: its next ACK is restored on Z;
#   4. a SYN on F's 5-tuple (a new session) drops the pin: Maglev's node.
. "$(dirname "$0")/lib.sh"

require_lbd
require_cmd jq
lab_up
lbd_start >/dev/null || {
	fail "lbd starts" "$(tail -n 20 "$LBD_LOG")"
	finish
}
table_is() { [ "$(svc_nodes v4 tcp 80)" = "$1" ]; }
check "all 3 nodes in the v4 tcp/80 table" wait_for 15 table_is 3
FLOWGEN=$TANDEM_BUILD/tools/flowgen
gen() { in_ns sw timeout 120 "$FLOWGEN" "$@" -i eth0 -d "$VIP4" -P 80; }
keys() { jctl flows --vip v4 --limit 100000 | jq -r '.flows[] | select(.port == 80) |
	"\(.client) \(.client_port) \(.node)"' | sort; }

# ---- 1. sessions and a pinned flow
sessions "$TEST_TMP/s" 40 "http://$VIP4"
check_eq "40 sessions through the VIP" "40 0" "$(tally "$TEST_TMP/s" | awk '{ print $1 + $2 + $3, $4 }')"
keys | grep -v '^100\.64\.' >"$TEST_TMP/before"
check_eq "their 40 flows are listed" 40 "$(wc -l <"$TEST_TMP/before")"
F_IP=100.64.0.0 F_PORT=10777	# flowgen client 777
gen syn -n 1 -b 777 >/dev/null
X=$(flow_node "$F_IP" "$F_PORT" 80)
Y=$(for n in n1 n2 n3; do [ "$n" = "$X" ] || { echo "$n"; break; }; done)
check "flow F ($F_IP:$F_PORT) on its Maglev node ${X:-?}" test -n "$X"
ctl migrate "$F_IP:$F_PORT" "$VIP4:80" "$Y" --repoint >/dev/null
check_eq "F re-pointed to $Y" "$Y" "$(flow_node "$F_IP" "$F_PORT" 80)"
check_eq "status: one pinned flow" 1 "$(jctl status | jq -r '.flow_pressure.pins // 0')"

# ---- 2. the flood
v0=$(jctl stats | jq -r '.verdicts.fwd_untracked // 0')
n0=$(jctl status | jq -r .flows)
flood=$(gen syn -A -n 100000 -b 1000000)
diag "flood: $flood"
n1=$(jctl status | jq -r .flows)
secs=$(jq -r .seconds <<<"$flood")
budget=$(jctl status | jq -r '.flow_pressure.insert_budget_per_s // 0')
check_eq "all 100000 spoofed ACKs forwarded (Maglev)" 100000 "$(jq -r .redirected <<<"$flood")"
# at most one budget per (partial) second the flood lasted, and one more
# for the second boundary on each CPU
max=$(awk -v s="$secs" -v b="$budget" 'BEGIN { printf "%d", (int(s) + 3) * b }')
check_le "the table grew by at most the insert budget ($budget/s over ${secs}s)" $((n1 - n0)) "$max"
untracked=$(($(jctl stats | jq -r '.verdicts.fwd_untracked // 0') - v0))
check_eq "every flood packet not inserted counted fwd_untracked" $((100000 - (n1 - n0))) "$untracked"
st=$(jctl status)
check "status: flow_pressure shows the throttling" \
	jq -e '.flow_pressure.state == "throttling" and .flow_pressure.untracked > 90000' <<<"$st" ||
	diag "$(jq -c .flow_pressure <<<"$st")"
keys | grep -v '^100\.64\.' >"$TEST_TMP/after"
check "the 40 sessions' entries are all there, on their nodes" diff "$TEST_TMP/before" "$TEST_TMP/after"

# ---- 3. eviction of the pinned flow
map=$LAB_BPFFS/tandem/$LAB_NAME/lb_flows
# Which entries an LRU eviction takes is the kernel's choice (one referenced
# lately sits on its active list a while; each CPU keeps its own list of
# new entries): fill the table twice over from every CPU, then remove F's
# entry as an eviction would if it is still there.
for i in $(seq 1 "$(nproc)"); do
	diag "fill $i: $(in_ns sw timeout 60 taskset -c $((i - 1)) "$FLOWGEN" fill -m "$map" \
		-n 131072 -b $((i * 2000000)) -N 3)"
done
if [ -n "$(flow_node "$F_IP" "$F_PORT" 80)" ]; then
	diag "F survived the fills (LRU active list): evicting it by hand"
	in_ns sw timeout 20 "$FLOWGEN" fill -m "$map" -D -n 1 -b 777 -d "$VIP4" -P 80 >/dev/null
fi
check_eq "F's entry is evicted from the table" "" "$(flow_node "$F_IP" "$F_PORT" 80)"
p0=$(jctl stats | jq -r '.verdicts.fwd_pinned // 0')
gen syn -A -n 1 -b 777 >/dev/null
check_eq "F's next ACK: restored from its pin (fwd_pinned +1)" $((p0 + 1)) \
	"$(jctl stats | jq -r '.verdicts.fwd_pinned // 0')"
check_eq "F is back on $Y (where it was moved), not on $X" "$Y" "$(flow_node "$F_IP" "$F_PORT" 80)"
fl=$(jctl flows --limit 100000 | jq -c --arg c "$F_IP" --argjson cp "$F_PORT" \
	'[.flows[] | select(.client == $c and .client_port == $cp)][0].flags')
check "... flagged migrated ($fl)" jq -e 'index("migrated") != null' <<<"${fl:-null}"

# ---- 3b. a node-wide migrate moves the pin of an evicted flow too
Z=$(for n in n1 n2 n3; do [ "$n" = "$X" ] || [ "$n" = "$Y" ] || { echo "$n"; break; }; done)
in_ns sw timeout 20 "$FLOWGEN" fill -m "$map" -D -n 1 -b 777 -d "$VIP4" -P 80 >/dev/null
check_eq "F evicted again" "" "$(flow_node "$F_IP" "$F_PORT" 80)"
ctl migrate --node "$Y" --to "$Z" >/dev/null
gen syn -A -n 1 -b 777 >/dev/null
check_eq "after migrate --node $Y --to $Z, F's next ACK is restored on $Z" "$Z" \
	"$(flow_node "$F_IP" "$F_PORT" 80)"

# ---- 4. a new session on F's 5-tuple
pins=$(jctl status | jq -r '.flow_pressure.pins // 0')	# every flow migrate moved is pinned
gen syn -n 1 -b 777 >/dev/null
check_eq "a SYN on F's 5-tuple: Maglev's node $X" "$X" "$(flow_node "$F_IP" "$F_PORT" 80)"
check_eq "... and F's pin is gone (pins $pins -> $((pins - 1)))" $((pins - 1)) \
	"$(jctl status | jq -r '.flow_pressure.pins // "none"')"
check "lbd log: no crash, no fatal" sh -c "! grep -Eqi 'fatal|abort|segfault|sanitizer' '$LBD_LOG'"
finish
