#!/bin/bash
# t_health: a node failing its health check leaves the Maglev table fast;
# established sessions elsewhere are untouched; it comes back after `rise`.
#
#   c1, c2 --- brc --- eth0 [sw: lbd, health: interval 300 ms, timeout 200,
#                             |   rise 2, fall 2 (lab config)]
#                            br1 --- p1 --- n1  nginx :80  <- long download
#                                |-- p2 --- n2  nginx STOPPED, then restarted
#                                +-- p3 --- n3  nginx :80  (or this one)
#
#   1. a slow download (/slow/10m.bin, ~10 s) through the VIP that landed on
#      n1 or n3;
#   2. stop nginx on n2: within bound(fall) (see below) lbd reports n2
#      tcp/80 not ok and the v4 (v6) tcp/80 table has 2 nodes; n2 itself stays "up" (tcp/5201 still passes); 60 new sessions
#      all avoid n2 and all succeed; `tandemctl nodes` shows tcp/80:down
#      and the check's error;
#   3. the slow download completes, sha256-correct;
#   4. restart nginx on n2: back in the table within bound(rise), and 60 new
#      sessions include n2 again.
#
#   bound(N): lbd runs checks from a 50 ms tick, each due interval ms after
#   the previous verdict, so a check period is at most interval + 50 ms.
#   After nginx stops (starts) the first check that sees it comes within one
#   period and N-1 more are needed, then one tick rebuilds the table:
#   N * (interval + 50) + 50 ms.  Allowed: that plus one interval of slack
#   for scheduling on a loaded 2-core machine, plus 50 ms of polling:
#   N * (interval + 50) + interval + 100, 1.1 s for the lab's 300 ms, N = 2.
#
# FAMILY=6 (t_health_v6.sh): the same over IPv6, with the same assertions:
# lbd knows the nodes by their IPv6 addresses (LAB_NODES6=1: every health
# check goes over IPv6), and the sessions go from the clients' IPv6
# addresses to the v6 VIP.
. "$(dirname "$0")/lib.sh"

FAMILY=${FAMILY:-4}
[ "$FAMILY" = 6 ] && export LAB_NODES6=1
lab_lbd_up
if [ "$FAMILY" = 6 ]; then
	VN=v6 BASE="http://[$VIP6]" CIP=$C1_IP6
else
	VN=v4 BASE="http://$VIP4" CIP=$C1_IP4
fi
[ "$FAMILY" = 4 ] || check_eq "lbd knows the nodes by their IPv6 addresses (the health checks' targets)" \
	"$N1_IP6 $N2_IP6 $N3_IP6" "$(jctl nodes | jq -r '[.nodes[].address] | join(" ")')"
# vip_table_is N: the tcp/80 service of FAMILY's VIP has N nodes
vip_table_is() { [ "$(svc_nodes "$VN" tcp 80)" = "$1" ]; }
INTERVAL=$(jq -r .health.interval_ms "$LBD_CONF")
RISE=$(jq -r .health.rise "$LBD_CONF")
FALL=$(jq -r .health.fall "$LBD_CONF")
diag "health: interval ${INTERVAL} ms, rise $RISE, fall $FALL"
bound() { echo $(($1 * (INTERVAL + 50) + INTERVAL + 100)); }

# 1. The long download, on n1 or n3.
long_node=""
for try in $(seq 1 15); do
	if long_start long c1 "$BASE" /slow/10m.bin && [ "$LONG_NODE" != n2 ]; then
		long_node=$LONG_NODE
		break
	fi
	kill "$LONG_PID" 2>/dev/null
	wait "$LONG_PID" 2>/dev/null
done
if [ -z "$long_node" ]; then
	fail "a slow download lands on n1 or n3 (15 tries)"
	finish
fi
ok "slow download c1:$LONG_PORT -> VIP on $long_node (try $try)"
long_pid=$LONG_PID long_file=$LONG_FILE

# 2. Stop nginx on n2.
n2_http_down() {
	node_is n2 '(.health[] | select(.service == "tcp/80") | .ok) == false' && vip_table_is 2
}
lines0=$(log_lines)
t0=$(now_ms)
lab node-stop n2 nginx
t1=$(now_ms)
if wait_ms 5000 n2_http_down; then
	# When lbd rebuilt the table (its log), from the start of node-stop
	# (nginx stopped listening somewhere in [t0, t1]).
	td=$(log_line_ms "$lines0" "service_table vip_name=$VN .* service=tcp/80 nodes=2 ")
	diag "node-stop took $((t1 - t0)) ms; lbd rebuilt $VN tcp/80 without n2 $((td - t0)) ms after it began"
	check_le "n2 out of the $VN tcp/80 table within bound(fall) (ms)" \
		$((td - t0)) "$(bound "$FALL")"
else
	fail "lbd takes n2 out of tcp/80 after nginx stops" "$(ctl nodes)"
fi
check "n2 stays up (its tcp/5201 check passes)" node_is n2 '.state == "up"'
check "lbd log: n2 tcp/80 check failed" grep -q "health_down node=n2 service=tcp/80 reason=" "$LBD_LOG"

sessions "$TEST_TMP/down" 60 "$BASE"
read -r a b c failed < <(tally "$TEST_TMP/down")
diag "60 sessions while n2's nginx is down: n1 $a, n2 $b, n3 $c, failed $failed"
check_eq "60 new sessions all succeed" 0 "$failed" || diag "$(sessions_fail_lines "$TEST_TMP/down")"
check_eq "60 new sessions: none on n2" 0 "$b"
check_eq "60 new sessions: all on n1 or n3" 60 $((a + c))
out=$(ctl nodes)
check "tandemctl nodes: n2 tcp/80:down" grep -Eq '^n2 .* tcp/80:down( |$)' <<<"$out" || diag "$out"
check "tandemctl nodes: n2's tcp/80 error listed" grep -q '^n2 tcp/80: .' <<<"$out"

# 3. The download on n1/n3 went on undisturbed.
check "download on $long_node flowing while n2 is out ($(file_size "$long_file") bytes)" \
	test "$(file_size "$long_file")" -gt 0
check_eq "long download's flow still on $long_node" "$long_node" \
	"$(flow_node "$CIP" "$LONG_PORT" 80)"

# 4. Restart nginx on n2.
n2_http_up() {
	node_is n2 '(.health[] | select(.service == "tcp/80") | .ok) == true' && vip_table_is 3
}
lines0=$(log_lines)
t0=$(now_ms)
lab node-start n2 nginx
t1=$(now_ms)
if wait_ms 5000 n2_http_up; then
	td=$(log_line_ms "$lines0" "service_table vip_name=$VN .* service=tcp/80 nodes=3 ")
	diag "node-start took $((t1 - t0)) ms; lbd rebuilt $VN tcp/80 with n2 $((td - t0)) ms after it began"
	check_le "n2 back in the $VN tcp/80 table within bound(rise) (ms)" \
		$((td - t0)) "$(bound "$RISE")"
else
	fail "n2 returns to tcp/80 after nginx restarts" "$(ctl nodes)"
fi
sessions "$TEST_TMP/up" 60 "$BASE"
read -r a b c failed < <(tally "$TEST_TMP/up")
diag "60 sessions after n2's nginx is back: n1 $a, n2 $b, n3 $c, failed $failed"
check_eq "60 new sessions all succeed" 0 "$failed" || diag "$(sessions_fail_lines "$TEST_TMP/up")"
# P(n2 gets none of 60 | share 1/3) = (2/3)^60 ~ 3e-11.
check "n2 gets new sessions again ($b of 60)" test "$b" -gt 0

long_check "slow download on $long_node completed, sha256-correct" \
	"$long_pid" "$long_file" 10m.bin 30

finish
