#!/bin/bash
# t_load_trigger: the load trigger.  Every tandem-nasd reports its load to
# lbd once a second (HO_OP_LOAD: live sessions, MiB/s); a node above
# handoff.load_max_sessions gets the excess moved to the least loaded nodes
# under the threshold, live (handoff), while curl downloads go on.
#
#   c1 .10 -- [sw: tandem-lbd, handoff reports 10.77.2.1:7406] -- n1 n2 n3 (tandem-nasd)
#
#  1. lbd shows a fresh load report from every node (nodes[].load).
#  2. n2 and n3 drained, 12 paced downloads start: all land on n1.  The
#     config gets "load_max_sessions": 6 (reload), n2 and n3 undrained.
#  3. within a few seconds n1 holds 6 sessions, n2 and n3 the other 6 (the
#     trigger sends each move to the least loaded node); lbd counts 6
#     handoffs out of n1; nothing else moves afterwards (n1 is at the
#     threshold, not above it).
#  4. all 12 downloads finish: curl exit 0, sha256-correct.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq curl
handoff_lab_up
nasd_all_up handoff

# --------------------------------------------------- 1. load reports --

fresh_loads() { [ "$(jctl nodes | jq '[.nodes[] | select(.load != null and .load.age_ms < 3000)] | length')" = 3 ]; }
check "lbd holds a fresh load report from each node" wait_for 5 fresh_loads

# ------------------------------------------- 2. everything on n1, then trigger --

N=12
mkdir -p "$LAB_DIR/shared/dl" "$TEST_TMP/got"
for i in $(seq 1 $N); do head -c $((3 << 19)) /dev/urandom >"$LAB_DIR/shared/dl/f$i"; done
check "drain n2" ctl drain n2
check "drain n3" ctl drain n3
pids=()
for i in $(seq 1 $N); do
	in_ns c1 curl -sS -m 60 -w '%{http_code}\n' -o "$TEST_TMP/got/f$i" \
		"http://$VIP4/rate/shared/dl/f$i?bps=196608" >"$TEST_TMP/d$i.w" 2>&1 &
	pids+=($!)
done
nsess() { nctl "$1" '{"cmd":"sessions"}' | jq '[.sessions[] | select(.state != "paused")] | length'; }
n1_has_all() { [ "$(nsess n1)" = "$N" ]; }
check "all $N downloads are sessions on n1" wait_for 10 n1_has_all
out0=$(jctl nodes | jq '.nodes[] | select(.name == "n1") | .handoffs_out')
jq '.handoff.load_max_sessions = 6 | .handoff.load_check_ms = 500' "$LBD_CONF" >"$TEST_TMP/lbd.json" &&
	cp "$TEST_TMP/lbd.json" "$LBD_CONF"
check "reload with load_max_sessions 6" ctl reload
check "undrain n2" ctl undrain n2
check "undrain n3" ctl undrain n3

# ------------------------------------------------------ 3. the trigger --

balanced() { [ "$(nsess n1)" = 6 ] && [ $(($(nsess n2) + $(nsess n3))) = 6 ]; }
check "the load trigger moves 6 sessions off n1 (n1 6, n2+n3 6)" wait_for 10 balanced
diag "sessions: n1 $(nsess n1), n2 $(nsess n2), n3 $(nsess n3)"
jctl nodes >"$TEST_TMP/nodes.json"
check_eq "lbd counts 6 handoffs out of n1" 6 \
	"$(($(jq '.nodes[] | select(.name == "n1") | .handoffs_out' "$TEST_TMP/nodes.json") - out0))"
check_eq "n1's load job: 6 moved, 0 failed" "load 6 0" \
	"$(jq -r '.nodes[] | select(.name == "n1") | .moving | "\(.kind) \(.moved) \(.failed)"' "$TEST_TMP/nodes.json")"
check "n2 and n3 both took some (least loaded first)" \
	test "$(nsess n2)" -ge 2 -a "$(nsess n3)" -ge 2
sleep 2
check_eq "nothing more moves: n1 still holds 6" 6 "$(nsess n1)"
check "lbd logs the trigger" grep -q "load_trigger node=n1 sessions=12 " "$LBD_LOG"

# --------------------------------------------------- 4. downloads intact --

bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
check_eq "all $N curl clients exit 0" 0 "$bad"
ok_n=0
for i in $(seq 1 $N); do
	[ "$(cat "$TEST_TMP/d$i.w")" = 200 ] && [ "$(sha "$TEST_TMP/got/f$i")" = "$(sha "$LAB_DIR/shared/dl/f$i")" ] &&
		ok_n=$((ok_n + 1))
done
check_eq "downloads: 200 and sha256-correct" "$N" "$ok_n"
check "lbd still running" kill -0 "$(lbd_pid)"
finish
