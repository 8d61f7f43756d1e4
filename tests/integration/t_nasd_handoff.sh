#!/bin/bash
# t_nasd_handoff: tandem-nasd moves live HTTP sessions between storage nodes
# (handoff agent: node<->node channels, libtch, flow drop, switch report),
# under unmodified clients.
#
#   c1 .10                          client LAN 10.77.1.0/24, VIP 10.77.1.100
#    |
#   [sw: tandem-lbd]  report port 7406 on 10.77.2.1 (handoff key)
#    |  br1 .1                      storage LAN 10.77.2.0/24
#   n1 .11   n2 .12   n3 .13        nginx stopped; tandem-nasd with "handoff":
#                                   channels on .1x:7407, flow drop on eth0,
#                                   exports / = LAB_WWW (shared by the nodes)
#
#  1. curl downloads /rate/10m.bin at 512 KiB/s (~20 s: margin for the
#     moves on a loaded machine) through the VIP; its
#     session moves X -> Y -> X ... 6 times (control socket of the node
#     holding it, run in that node's namespace); after each move lbd's flow
#     for the client port names the new node; curl exits 0, sha256 correct.
#  2. a keep-alive connection (python, one socket) makes 16 requests, 0.6 s
#     apart; between requests its session moves round the nodes; every
#     /node answer names the node the session was moved to, /small.bin
#     bodies are sha256-correct, one connection throughout.
#  3. rollback: (a) the file's mtime changes under a download: the new node
#     refuses the session after the old one froze it, the old node thaws it
#     (rolled_back); (b) the target's nasd is killed right before the
#     handoff: FAIL.  Both times the session stays with the old node, lbd's
#     flow still names it, and the download finishes there, sha256-correct.
#  4. handoff_all (drain): two downloads gathered on one node move off it
#     (round-robin over the other two), both finish correct.
#  counters (after 2., before any restart): out_ok = in_ok = the handoffs
#  made, a switch report for each, no unconfirmed commit.
# FAMILY=6 (t_nasd_handoff_v6.sh): the same over IPv6, c1 fd77:1::10 to the
# v6 VIP [fd77:1::100]:80, with the same assertions.
. "$(dirname "$0")/lib.sh"

require_lbd
. "$(dirname "$0")/lib_nasd.sh"
require_nasd
require_cmd python3 jq
handoff_lab_up


# move FROM TO CLIENT_EP: one handoff; its reply in $TEST_TMP/move.json.
HO_OK=0
HO_LAT=()
move() {
	nctl "$1" "{\"cmd\":\"handoff\",\"session\":\"$3\",\"to\":\"$2\"}" >"$TEST_TMP/move.json"
	if jq -e '.ok and .outcome == "done"' "$TEST_TMP/move.json" >/dev/null; then
		HO_OK=$((HO_OK + 1))
		HO_LAT+=("$(jq -c '.timings_us' "$TEST_TMP/move.json")")
		return 0
	fi
	return 1
}


# ------------------------------------------------------------- start --

# shellcheck disable=SC2016
[ -n "${KEEP_LOGS:-}" ] && at_exit 'mkdir -p $KEEP_LOGS; for n in n1 n2 n3; do cp $LAB_DIR/$n/nasd.log $KEEP_LOGS/$n.log; done'

nasd_all handoff
check "lbd health checks see tandem-nasd on every node" wait_for 15 all_up
FAMILY=${FAMILY:-4}
if [ "$FAMILY" = 6 ]; then
	VIP=$VIP6 CIP=$C1_IP6 VN=v6 BASE="http://[$VIP6]"
else
	VIP=$VIP4 CIP=$C1_IP4 VN=v4 BASE="http://$VIP4"
fi
vip_table_is() { [ "$(svc_nodes "$VN" tcp 80)" = "$1" ]; }
check "$VN tcp/80 has 3 nodes in its table" wait_for 10 vip_table_is 3
check "handoff channels up between all nodes (both directions, HELLO done)" wait_for 10 chans_up

# ------------------------------------------ 1. a download moving around --

T1=$(now_ms)
in_ns c1 curl -gsS -m 60 -w '%{http_code} %{local_port}\n' -o "$TEST_TMP/slow.bin" "$BASE/rate/10m.bin?bps=524288" \
	>"$TEST_TMP/slow.w" 2>&1 &
slow_pid=$!
wait_for 5 has_session '.path == "/rate/10m.bin"'
read -r X CEP < <(find_session '.path == "/rate/10m.bin"')
if [ -z "${CEP:-}" ]; then
	fail "the slow download shows up in a node's sessions"
	finish
fi
CPORT=${CEP##*:}
Y=$(other "$X")
check_eq "lbd's flow for client port $CPORT names $X, which holds the session" "$X" \
	"$(flow_node "$CIP" "$CPORT" 80)"
moves=0
cur=$X
for i in 1 2 3 4 5 6; do
	sleep 0.6
	nxt=$([ "$cur" = "$X" ] && echo "$Y" || echo "$X")
	if move "$cur" "$nxt" "$CEP"; then
		moves=$((moves + 1))
		fl=$(flow_node "$CIP" "$CPORT" 80)
		[ "$fl" = "$nxt" ] || diag "after move $i: lbd's flow names '$fl', not $nxt"
		[ "$(holder "$CEP")" = "$nxt" ] || diag "after move $i: $nxt does not list the session"
		cur=$nxt
	else
		diag "move $i $cur -> $nxt: $(cat "$TEST_TMP/move.json")"
		break
	fi
done
check_eq "download moved 6 times $X <-> $Y mid-response" 6 "$moves"
check_eq "lbd's flow for client port $CPORT now names $cur" "$cur" "$(flow_node "$CIP" "$CPORT" 80)"
check_eq "$cur holds the session" "$cur" "$(holder "$CEP")"
wait_for 30 pid_gone "$slow_pid"
wait "$slow_pid"
rc=$?
check_eq "curl exit 0, 200, sha256-correct after 6 handoffs" "0 200 $(want_sha 10m.bin)" \
	"$rc $(awk '{ print $1 }' "$TEST_TMP/slow.w") $(sha "$TEST_TMP/slow.bin")" ||
	diag "$(cat "$TEST_TMP/slow.w")"
diag "download: $(($(now_ms) - T1)) ms for 10 MiB at 512 KiB/s; handoff timings (us): ${HO_LAT[*]:0:3}"

# --------------------------------------- 2. keep-alive between requests --

cat >"$TEST_TMP/ka.py" <<'EOF'
import hashlib, socket, sys, time, json
host, n, gap, want_small, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
s = socket.create_connection((host, 80), timeout=10)
a, p = s.getsockname()[:2]
open(out + ".port", "w").write(("[%s]:%d\n" if ":" in a else "%s:%d\n") % (a, p))
buf = b""
def get(path):
    global buf
    s.sendall(("GET %s HTTP/1.1\r\nHost: v\r\n\r\n" % path).encode())
    while b"\r\n\r\n" not in buf:
        c = s.recv(65536)
        if not c:
            raise EOFError("connection closed")
        buf += c
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    ln = int(hdrs["content-length"])
    while len(buf) < ln:
        c = s.recv(65536)
        if not c:
            raise EOFError("connection closed in a body")
        buf += c
    body, buf = buf[:ln], buf[ln:]
    return int(lines[0].split()[1]), hdrs.get("x-tandem-node", ""), body
res = []
for i in range(n):
    if i % 2 == 0:
        st, node, body = get("/node")
        res.append({"i": i, "status": st, "node": node, "body": body.decode().strip()})
    else:
        st, node, body = get("/small.bin")
        res.append({"i": i, "status": st, "node": node, "ok": hashlib.sha256(body).hexdigest() == want_small})
    with open(out + ".progress", "w") as f:
        f.write("%d %s\n" % (i + 1, node))
    time.sleep(gap)
s.close()
json.dump(res, open(out, "w"))
EOF
rm -f "$TEST_TMP/ka.json"*
in_ns c1 "$PY" "$TEST_TMP/ka.py" "$VIP" 16 0.6 "$(want_sha small.bin)" "$TEST_TMP/ka.json" \
	>"$TEST_TMP/ka.out" 2>&1 &
ka_pid=$!
wait_for 5 test -s "$TEST_TMP/ka.json.port"
KEP=$(tr -d '\n' <"$TEST_TMP/ka.json.port")
ka_moves=0
ka_tries=0
while ! pid_gone "$ka_pid" && [ "$ka_tries" -lt 12 ]; do
	sleep 0.35
	h=$(holder "$KEP") || continue
	ka_tries=$((ka_tries + 1))
	to=$(other "$h" "$(other "$h")")	# round the nodes: n1 -> n3, n2 -> n3, n3 -> n2 ...
	[ $((ka_tries % 2)) = 0 ] && to=$(other "$h")
	if move "$h" "$to" "$KEP"; then
		ka_moves=$((ka_moves + 1))
	else
		diag "keep-alive move $h -> $to: $(jq -c '{outcome, stage, error}' "$TEST_TMP/move.json")"
	fi
done
wait_for 15 pid_gone "$ka_pid"
wait "$ka_pid"
check_eq "keep-alive client: 16 responses on one connection" "0 16" \
	"$? $(jq length "$TEST_TMP/ka.json" 2>/dev/null)" || diag "$(cat "$TEST_TMP/ka.out")"
check_le "keep-alive session moved between requests at least 5 times" 5 "$ka_moves"
check_eq "keep-alive: every response 200, /node answers match X-Tandem-Node, bodies sha256-correct" 0 \
	"$(jq '[.[] | select(.status != 200 or (has("body") and .body != .node) or (has("ok") and .ok != true))] | length' "$TEST_TMP/ka.json" 2>/dev/null || echo x)"
nnodes=$(jq -r '[.[] | .node] | unique | length' "$TEST_TMP/ka.json" 2>/dev/null)
check_le "keep-alive: the requests were served by at least 2 nodes" 2 "${nnodes:-0}"
diag "keep-alive: served by $(jq -r '[.[] | .node] | join(" ")' "$TEST_TMP/ka.json" 2>/dev/null)"

# ------------------------------------------------------- counters (before any restart) --

sum() { for n in n1 n2 n3; do hstat "$n" "$1"; done | awk '{ s += $1 } END { print s + 0 }'; }
out_ok=$(sum .out_ok)
in_ok=$(sum .in_ok)
check_eq "out_ok counts every successful handoff made here" "$HO_OK" "$out_ok"
check_eq "in_ok equals out_ok" "$in_ok" "$out_ok"
check_le "switch reports sent and acked (at least one per handoff)" "$HO_OK" "$(sum .reports)"
check_eq "no unconfirmed commits" 0 "$(sum .out_unconfirmed)"
check_eq "every resumed session was kicked (in_kick_failed)" 0 "$(sum .in_kick_failed)"
# holding (doc/tch.md): what clients sent while frozen was held and replayed
check_eq "held packets sent with the ACKs decoded (hold.bad)" 0 "$(sum .hold.bad)"
check_eq "every held packet replayed (hold.replay_failed)" 0 "$(sum .hold.replay_failed)"
diag "holding: held $(sum .hold.held), sent with ACKs $(sum .hold.sent), replayed $(sum .hold.replayed), overflowed $(sum .hold.overflow)"
# ----------------------------------- 3a. rollback after the freeze --

# The file changes version (mtime) under a running download: the new node
# refuses the session after the old one froze it (precheck of the blob);
# the old node thaws it and finishes the download from its open file.
in_ns c1 curl -gsS -m 40 -w '%{http_code}\n' -o "$TEST_TMP/rv.bin" "$BASE/rate/1m.bin?bps=250000" \
	>"$TEST_TMP/rv.w" 2>&1 &
rv_pid=$!
wait_for 5 has_session '.path == "/rate/1m.bin"'
read -r VX VEP < <(find_session '.path == "/rate/1m.bin"')
VY=$(other "$VX")
rb0=$(hstat "$VX" .rollbacks)
sleep 0.5
touch -m -d '2001-01-01 00:00:00' "$LAB_WWW/1m.bin"
nctl "$VX" "{\"cmd\":\"handoff\",\"session\":\"$VEP\",\"to\":\"$VY\"}" >"$TEST_TMP/rv.json"
check "handoff refused by $VY after the freeze (file version changed): FAIL, rolled back" \
	jq -e '.ok == false and .outcome == "failed" and .stage == "update" and .rolled_back' "$TEST_TMP/rv.json"
diag "rollback reply: $(jq -c '{outcome, stage, error, rolled_back, repointed_back, timings_us}' "$TEST_TMP/rv.json")"
check_eq "rollback counted on $VX" $((rb0 + 1)) "$(hstat "$VX" .rollbacks)"
check_eq "the session stays on $VX" "$VX" "$(holder "$VEP")"
check_eq "lbd's flow still names $VX" "$VX" "$(flow_node "$CIP" "${VEP##*:}" 80)"
wait_for 15 pid_gone "$rv_pid"
wait "$rv_pid"
rc=$?
check_eq "download finishes on $VX: curl exit 0, 200, sha256-correct" "0 200 $(want_sha 1m.bin)" \
	"$rc $(cat "$TEST_TMP/rv.w") $(sha "$TEST_TMP/rv.bin")"

# ------------------------------------------------------------ 3b. rollback: target killed --

in_ns c1 curl -gsS -m 40 -w '%{http_code}\n' -o "$TEST_TMP/rb.bin" "$BASE/rate/10m.bin?bps=3000000" \
	>"$TEST_TMP/rb.w" 2>&1 &
rb_pid=$!
wait_for 5 has_session '.path == "/rate/10m.bin"'
read -r RX REP < <(find_session '.path == "/rate/10m.bin"')
RY=$(other "$RX")
rb0=$(hstat "$RX" .rollbacks)
sleep 0.5
kill -KILL "$(nasd_pid "$RY")"
nctl "$RX" "{\"cmd\":\"handoff\",\"session\":\"$REP\",\"to\":\"$RY\"}" >"$TEST_TMP/rb.json"
check "handoff to the killed $RY fails" jq -e '.ok == false and .outcome == "failed"' "$TEST_TMP/rb.json"
diag "rollback reply: $(jq -c '{outcome, stage, error, rolled_back, timings_us}' "$TEST_TMP/rb.json")"
check_eq "the session stays on $RX" "$RX" "$(holder "$REP")"
check_eq "lbd's flow still names $RX" "$RX" "$(flow_node "$CIP" "${REP##*:}" 80)"
wait_for 15 pid_gone "$rb_pid"
wait "$rb_pid"
rc=$?
check_eq "download finishes on $RX: curl exit 0, 200, sha256-correct" "0 200 $(want_sha 10m.bin)" \
	"$rc $(cat "$TEST_TMP/rb.w") $(sha "$TEST_TMP/rb.bin")"
diag "rollbacks on $RX: $rb0 -> $(hstat "$RX" .rollbacks) (the FAIL came before the freeze: nothing to thaw)"
check "$RY restarts" nasd_start "$RY" handoff
check "$VN tcp/80 has 3 nodes again" wait_for 15 vip_table_is 3
check "handoff channels up again" wait_for 10 chans_up

# ---------------------------------------------------- 4. handoff_all --

in_ns c1 curl -gsS -m 40 -w '%{http_code}\n' -o "$TEST_TMP/d1.bin" "$BASE/rate/10m.bin?bps=1500000" >"$TEST_TMP/d1.w" 2>&1 &
d1=$!
in_ns c1 curl -gsS -m 40 -w '%{http_code}\n' -o "$TEST_TMP/d2.bin" "$BASE/rate/1m.bin?bps=150000" >"$TEST_TMP/d2.w" 2>&1 &
d2=$!
two() { [ "$(for n in n1 n2 n3; do nctl "$n" '{"cmd":"sessions"}' | jq '[.sessions[] | select(.path | startswith("/rate/"))] | length'; done | awk '{ s += $1 } END { print s }')" = 2 ]; }
wait_for 5 two
sleep 0.3
# both onto one node D first (handoffs), then drain D
read -r D _ < <(find_session '.path | startswith("/rate/")')
EPS=()
for n in n1 n2 n3; do
	for ep in $(nctl "$n" '{"cmd":"sessions"}' | jq -r '.sessions[] | select(.path | startswith("/rate/")) | .client'); do
		EPS+=("$ep")
		[ "$n" = "$D" ] && continue
		move "$n" "$D" "$ep" || diag "gathering on $D: $(jq -c . "$TEST_TMP/move.json")"
	done
done
check_eq "both downloads gathered on $D" "$D $D" "$(holder "${EPS[0]}") $(holder "${EPS[1]:-none}")"
nctl "$D" "{\"cmd\":\"handoff_all\",\"to\":[\"$(other "$D")\",\"$(other "$D" "$(other "$D")")\"]}" >"$TEST_TMP/drain.json"
check "handoff_all drains $D: both sessions moved, none left" jq -e '.ok and .failed == 0 and .moved == 2 and .remaining == 0' "$TEST_TMP/drain.json" ||
	diag "$(jq -c . "$TEST_TMP/drain.json")"
diag "drain: $(jq -c '{moved, failed, skipped, total_us, to: [.results[] | .to]}' "$TEST_TMP/drain.json")"
check_eq "drained round-robin: one session to each other node" "$(printf '%s\n' "$(other "$D")" "$(other "$D" "$(other "$D")")" | sort | xargs)" \
	"$(for ep in "${EPS[@]}"; do holder "$ep"; done | sort | xargs)"
wait_for 20 pid_gone "$d1"
wait_for 20 pid_gone "$d2"
wait "$d1"; r1=$?
wait "$d2"; r2=$?
check_eq "drained downloads finish: exit 0, sha256-correct" "0 0 $(want_sha 10m.bin) $(want_sha 1m.bin)" \
	"$r1 $r2 $(sha "$TEST_TMP/d1.bin") $(sha "$TEST_TMP/d2.bin")"

for n in n1 n2 n3; do
	diag "$n handoff: $(hstat "$n" '| {out_ok, out_failed, rollbacks, in_ok, in_failed, reports, report_retries, frozen_avg_us, frozen_max_us}' | jq -c .)"
	check "$n: tandem-nasd still running" kill -0 "$(nasd_pid "$n")"
done
check "lbd still running" kill -0 "$(lbd_pid)"
finish
