#!/bin/bash
# t_linkdown: a node's switch port losing carrier takes the node out at once
# (a netlink event, not a health check), its flows re-hash, and it returns.
#
#   c1, c2 --- brc --- eth0 [sw: lbd, libnl link monitor]
#                            br1 --- p1 --- eth0 n1
#                                |-- p2 --- eth0 n2
#                                +-- p3 --- eth0 n3   <- `lab.sh link NAME n3 down`
#                                     ^ NO-CARRIER        sets n3's eth0 down
#
#   1. c1 holds K=3 idle keep-alive HTTP connections served by n3 (python3
#      client: GET /node answered "n3");
#   2. link n3 down: within 0.5 s (health interval is 300 ms, fall 2: a check
#      could not be this fast) lbd logs "link_down node=n3" and
#      `tandemctl --json nodes` shows n3 link "down", state "down"; n3 leaves
#      the Maglev tables; 60 new sessions all succeed and avoid n3;
#   3. the K connections send again: each packet meets a flow whose node is
#      not up, so the data plane re-hashes it (verdict fwd_rehash_down grows
#      by >= K, the flows now name n1/n2) and the new node, which has no such
#      session, resets it (no handoff without tandem-nasd);
#   4. link n3 up: lbd logs "link_up node=n3", n3 is up and back in the
#      tables once its health checks pass again, and new sessions reach it.
. "$(dirname "$0")/lib.sh"

require_cmd python3
lab_lbd_up
check_eq "lbd knows n3's port" p3 "$(node_json n3 | jq -r .port)"

# 1. Idle keep-alive connections on n3.  The client writes "PORT NODE" per kept
# connection and "ready" to OUT, then waits for the file GO and sends one more
# GET on each, writing "after PORT RESULT" (RESULT: node name, "reset",
# "timeout", "closed" or an error).
# shellcheck disable=SC2016
KEEPER='
import os, socket, sys, time
vip, out, go, want, k = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
def get(s):
    s.sendall(b"GET /node HTTP/1.1\r\nHost: vip\r\n\r\n")
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            n = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
            if len(body) >= n:
                return body[:n].decode().strip()
        chunk = s.recv(4096)
        if not chunk:
            return "closed"
        data += chunk
kept = []
with open(out, "w") as f:
    for i in range(90):
        if len(kept) == k:
            break
        s = socket.create_connection((vip, 80), timeout=3)
        if get(s) == want:
            kept.append(s)
            f.write("%d %s\n" % (s.getsockname()[1], want))
        else:
            s.close()
    f.write("ready\n")
    f.flush()
    end = time.time() + 90
    while not os.path.exists(go) and time.time() < end:
        time.sleep(0.05)
    for s in kept:
        try:
            r = get(s)
        except ConnectionResetError:
            r = "reset"
        except socket.timeout:
            r = "timeout"
        except OSError as e:
            r = "error:%s" % e.errno
        f.write("after %d %s\n" % (s.getsockname()[1], r))
        f.flush()
'
K=3
KOUT=$TEST_TMP/keeper.out KGO=$TEST_TMP/keeper.go
in_ns c1 timeout 120 python3 -c "$KEEPER" "$VIP4" "$KOUT" "$KGO" n3 "$K" 2>"$TEST_TMP/keeper.err" &
keeper=$!
check "c1 holds $K keep-alive connections served by n3" wait_for 20 grep -qx ready "$KOUT" ||
	diag "$(cat "$TEST_TMP/keeper.err")"
ports=$(awk '$2 == "n3" { print $1 }' "$KOUT")
check_eq "$K connections on n3" "$K" "$(wc -w <<<"$ports")"
lbd_says=$(for p in $ports; do flow_node "$C1_IP4" "$p" 80; done | sort -u | paste -sd' ')
check_eq "lbd lists them on n3" n3 "$lbd_says"

# 2. Link down.
n3_down() {
	node_is n3 '.link == "down" and .state == "down"' &&
		grep -q "link_down node=n3 " "$LBD_LOG"
}
rehash0=$(verdict fwd_rehash_down)
lines0=$(log_lines)
t0=$(now_ms)
lab link n3 down
t1=$(now_ms)
if wait_ms 3000 n3_down; then
	# When lbd logged it (a polling loop's own lag is no measure), from
	# the moment lab.sh returned: its last step is `ip link set eth0 down`
	# (its start-up before that can take a few hundred ms on a loaded
	# machine).  A health check could not notice before ~600 ms.
	tl=$(log_line_ms "$lines0" 'link_down node=n3 ')
	ts=$(log_line_ms "$lines0" 'node_down node=n3 ')
	diag "lab.sh link took $((t1 - t0)) ms; lbd logged the link down $((tl - t1)) ms after it" \
		"returned; polling saw it after $(($(now_ms) - t1)) ms"
	check_le "lbd logged 'link_down node=n3' within 500 ms (ms)" $((tl - t1)) 500
	check_le "lbd logged 'node_down node=n3' (state down) within 500 ms (ms)" $((ts - t1)) 500
	ok "tandemctl --json nodes: n3 link down, state down"
else
	fail "lbd sees n3's link go down" "$(ctl nodes)" "$(tail -n 5 "$LBD_LOG")"
fi
check "switch port p3: NO-CARRIER" sh -c "ip -n $NS_SW link show p3 | grep -q NO-CARRIER"
check_eq "n3 left the v4 tcp/80 table" 2 "$(svc_nodes v4 tcp 80)"
rc=0
out=$(ctl migrate --node n1 --to n3 2>&1) || rc=$?
check_eq "migrate --to n3 while n3 is down: refused (exit 1)" 1 "$rc"
check "  ... says: node \"n3\" is down" grep -q 'node "n3" is down' <<<"$out"
sessions "$TEST_TMP/down" 60 "http://$VIP4"
read -r a b c failed < <(tally "$TEST_TMP/down")
diag "60 sessions with n3's link down: n1 $a, n2 $b, n3 $c, failed $failed"
check_eq "60 new sessions all succeed" 0 "$failed" || diag "$(sessions_fail_lines "$TEST_TMP/down")"
check_eq "60 new sessions: none on n3" 0 "$c"

# 3. The n3 flows re-hash.
touch "$KGO"
after_done() { [ "$(grep -c '^after ' "$KOUT")" -eq "$K" ]; }
check "the $K n3 connections sent again" wait_for 20 after_done
rehash1=$(verdict fwd_rehash_down)
diag "fwd_rehash_down $rehash0 -> $rehash1; client saw: $(grep '^after' "$KOUT" | paste -sd' ')"
check "verdict fwd_rehash_down grew by >= $K ($rehash0 -> $rehash1)" test $((rehash1 - rehash0)) -ge "$K"
moved=$(for p in $ports; do flow_node "$C1_IP4" "$p" 80; done | sort | paste -sd' ')
check "the re-hashed flows are on n1/n2 now ($moved)" \
	test "$(grep -Eo 'n[12]' <<<"$moved" | wc -l)" = "$K"
check_eq "the new node resets each of them (no session there)" "$K" \
	"$(grep -c '^after [0-9]* reset$' "$KOUT")"
wait "$keeper" 2>/dev/null

# 4. Link up.
n3_back() {
	node_is n3 '.link == "up" and .state == "up"' && table_is 3
}
log_since() { tail -n +"$(($1 + 1))" "$LBD_LOG" | grep -q "$2"; }
lines0=$(wc -l <"$LBD_LOG")	# "link_up node=n3" is in the startup lines too
t0=$(now_ms)
lab link n3 up
check "lbd logs link_up node=n3" wait_ms 3000 log_since "$lines0" "link_up node=n3 "
diag "n3 link up seen after $(($(now_ms) - t0)) ms"
if wait_for 10 n3_back; then
	ok "n3 up and back in the v4 tcp/80 table after $(($(now_ms) - t0)) ms (health rise included)"
else
	fail "n3 returns after link up" "$(ctl nodes)"
fi
sessions "$TEST_TMP/up" 60 "http://$VIP4"
read -r a b c failed < <(tally "$TEST_TMP/up")
diag "60 sessions after link up: n1 $a, n2 $b, n3 $c, failed $failed"
check_eq "60 new sessions all succeed" 0 "$failed" || diag "$(sessions_fail_lines "$TEST_TMP/up")"
# P(n3 gets none of 60 | share 1/3) = (2/3)^60 ~ 3e-11.
check "n3 gets new sessions again ($c of 60)" test "$c" -gt 0

finish
