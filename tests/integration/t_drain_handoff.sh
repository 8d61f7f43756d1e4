#!/bin/bash
# t_drain_handoff: `tandemctl drain n1` moves n1's live sessions to n2/n3
# while 50 unmodified curl clients download and upload random files through
# the VIP; nothing is reset, every byte arrives.
#
#   c1 .10  c2 .11 -- [sw: tandem-lbd, handoff reports on 10.77.2.1:7406] -- n1 n2 n3
#   tandem-nasd with "handoff" on every node (lib_nasd.sh); downloads come
#   from /shared/dl/ (random files), uploads go to /shared/ul/: /shared/ is
#   one directory every node sees, as a cluster file system would be, so an
#   upload handed to another node goes on writing the same file.
#
#  1. 25 downloads (2 MiB each, paced by the server at 256 KiB/s) and 25
#     uploads (1 MiB each, paced by curl at 128 KiB/s), half from c1, half
#     from c2; wait until every transfer is under way and n1 holds some.
#  2. tandemctl drain n1: it prints progress and ends "done: K moved" with
#     K = the sessions n1 held, 0 failed; afterwards n1 holds no session,
#     lbd's flow table has no TCP flow on n1 that is still live, and the
#     per-node handoff counters (lbd nodes) say n1 out = K = n2 in + n3 in.
#  3. every curl exits 0 (no reset, no timeout) with the right status, every
#     download's sha256 matches its file, every uploaded file on disk
#     matches what was sent.
#  4. undrain: n1 is no longer draining and is back in the v4 tcp/80 table
#     (a new session may go to it again); lbd still runs.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq curl
handoff_lab_up
# shellcheck disable=SC2016
[ -n "${KEEP_LOGS:-}" ] && at_exit 'mkdir -p $KEEP_LOGS; for n in n1 n2 n3; do cp $LAB_DIR/$n/nasd.log $KEEP_LOGS/$n.log; done'

nasd_all_up handoff

ND=25	# downloads
NU=25	# uploads
SH=$LAB_DIR/shared
mkdir -p "$SH/dl" "$SH/ul" "$TEST_TMP/src" "$TEST_TMP/got"
for i in $(seq 1 $ND); do head -c $((2 << 20)) /dev/urandom >"$SH/dl/f$i"; done
for i in $(seq 1 $NU); do head -c $((1 << 20)) /dev/urandom >"$TEST_TMP/src/u$i"; done

# ------------------------------------------------ 1. 50 transfers under way --

pids=()
for i in $(seq 1 $ND); do
	c=c$((i % 2 + 1))
	in_ns "$c" curl -sS -m 60 -w '%{http_code}\n' -o "$TEST_TMP/got/f$i" \
		"http://$VIP4/rate/shared/dl/f$i?bps=262144" >"$TEST_TMP/d$i.w" 2>&1 &
	pids+=($!)
done
for i in $(seq 1 $NU); do
	c=c$((i % 2 + 1))
	in_ns "$c" curl -sS -m 60 -w '%{http_code}\n' -H "$NASD_AUTH" --limit-rate 128k -T "$TEST_TMP/src/u$i" \
		"http://$VIP4/shared/ul/u$i" >"$TEST_TMP/u$i.w" 2>&1 &
	pids+=($!)
done
nsess() { nctl "$1" '{"cmd":"sessions"}' | jq '[.sessions[] | select(.state != "paused")] | length'; }
all_started() { [ $(($(nsess n1) + $(nsess n2) + $(nsess n3))) -ge $((ND + NU)) ]; }
check "all $((ND + NU)) transfers are sessions on the nodes" wait_for 15 all_started
sleep 0.5
K=$(nsess n1)
diag "sessions before the drain: n1 $K, n2 $(nsess n2), n3 $(nsess n3)"
check "n1 holds some of them (Maglev spreads sessions)" test "$K" -gt 0
jctl nodes >"$TEST_TMP/nodes0.json"

# --------------------------------------------------------- 2. drain n1 --

T0=$(now_ms)
ctl drain n1 >"$TEST_TMP/drain.out" 2>&1
rc=$?
diag "tandemctl drain n1 ($(($(now_ms) - T0)) ms):"
diag "$(cat "$TEST_TMP/drain.out")"
check_eq "tandemctl drain exits 0" 0 "$rc"
check "it says it is moving n1's sessions" grep -q "draining (no new sessions); moving its" "$TEST_TMP/drain.out"
check "it ends: done, $K moved, 0 failed" grep -Eq "^n1: done: $K moved, [0-9]+ not live .*, 0 failed" "$TEST_TMP/drain.out"
check_eq "n1 holds no session after the drain" 0 "$(nsess n1)"
jctl nodes >"$TEST_TMP/nodes1.json"
d_out() { jq -r --arg n "$1" ".nodes[] | select(.name == \$n) | .handoffs_$2" "$TEST_TMP/$3"; }
check_eq "lbd counts $K handoffs out of n1" "$K" "$(($(d_out n1 out nodes1.json) - $(d_out n1 out nodes0.json)))"
check_eq "... and $K into n2 and n3" "$K" \
	"$(($(d_out n2 in nodes1.json) - $(d_out n2 in nodes0.json) + $(d_out n3 in nodes1.json) - $(d_out n3 in nodes0.json)))"
check_eq "lbd's drain progress: done, $K moved, 0 failed" "true $K 0" \
	"$(jq -r '.nodes[] | select(.name == "n1") | .moving | "\(.done) \(.moved) \(.failed)"' "$TEST_TMP/nodes1.json")"
live_on_n1() {	# flows lbd still sends to n1 whose client has a session somewhere
	jctl flows --node n1 | jq -r '.flows[] | select(.proto == "tcp" and .port == 80) | "\(.client):\(.client_port)"' |
		while read -r ep; do holder "$ep" >/dev/null && echo "$ep"; done
}
check_eq "no live session's flow still points at n1" "" "$(live_on_n1)"

# ------------------------------------------------ 3. every transfer intact --

bad=0
for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
check_eq "all 50 curl clients exit 0 (no reset, no timeout)" 0 "$bad"
dl_ok=0 ul_ok=0
for i in $(seq 1 $ND); do
	[ "$(cat "$TEST_TMP/d$i.w")" = 200 ] && [ "$(sha "$TEST_TMP/got/f$i")" = "$(sha "$SH/dl/f$i")" ] &&
		dl_ok=$((dl_ok + 1))
done
for i in $(seq 1 $NU); do
	grep -Eq '^20[14]$' "$TEST_TMP/u$i.w" && [ -f "$SH/ul/u$i" ] &&
		[ "$(sha "$SH/ul/u$i")" = "$(sha "$TEST_TMP/src/u$i")" ] && ul_ok=$((ul_ok + 1))
done
check_eq "downloads: 200 and sha256-correct" "$ND" "$dl_ok"
check_eq "uploads: 201/204 and the file on disk is what was sent" "$NU" "$ul_ok"
for n in n1 n2 n3; do
	diag "$n handoff: $(hstat "$n" '| {out_ok, out_failed, rollbacks, in_ok, in_failed, switch_moves, switch_moves_ok}' | jq -c .)"
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done

# ------------------------------------------------------------ 4. undrain --

check "tandemctl undrain n1" ctl undrain n1
check_eq "n1 not draining" false "$(jctl nodes | jq -r '.nodes[] | select(.name == "n1") | .drain')"
check "n1 back in the v4 tcp/80 table" wait_for 5 table_is 3
check "lbd still running" kill -0 "$(lbd_pid)"
finish
