#!/bin/bash
# t_udp_health: a UDP service is health-checked by its probe (a DNS query and
# the exact answer expected): a node whose DNS server dies, answers wrong, or
# is "answered for" by somebody else leaves the service's table within its
# fall time and comes back within its rise time.
#
#   c1 --- brc --- eth0 [sw: lbd, health: interval 300 ms, timeout 200,
#                         |   rise 2, fall 2 (lab config); v4 udp/53 added with
#                         |   "probe": an A query for probe.tandem.test, the
#                         |   exact 51-byte answer expected (lib_dns.sh)]
#                        br1 --- p1 --- n1  dnsmasq :53
#                            |-- p2 --- n2  dnsmasq: killed / restarted /
#                            |              answering 192.0.2.99 / a spoofer
#                            +-- p3 --- n3  dnsmasq :53
#   Each dnsmasq also answers node.tandem.test TXT with its node's name, so a
#   client (dig from c1: every query from a new source port, a new flow)
#   sees which node served each new flow.
#
#   1. all 3 nodes pass udp/53 (`tandemctl nodes`: udp/53:ok, check "probe");
#      `tandem-lbd -t` names the probe; 60 queries are all answered and n2
#      serves some;
#   2. kill n2's dnsmasq: lbd takes n2 out of the v4 udp/53 table within
#      bound(fall) (its log), `tandemctl nodes` shows n2 udp/53:down and the
#      error; n2 stays up and in tcp/80 (its TCP checks pass); 60 new queries
#      all answered, none by n2;
#      lbd is restarted meanwhile: the new lbd's udp/53 table holds n1 and
#      n3 and never n2 (each new check starts in the state the pinned table
#      shows, not "down" until rise nor "up");
#   3. restart it: n2 back in the table within bound(rise), serves new flows;
#   4. a wrong answer: n2's dnsmasq (still running) now answers 192.0.2.99:
#      out within bound(fall), the error says "unexpected reply"; 60 queries:
#      none on n2;
#   5. a forged answer: n2's dnsmasq stopped, a spoofer on n2's :53 answers
#      every probe with the exact expected bytes, but from n2's address port
#      5353 and from another address (10.77.2.99) port 53.  While it has
#      answered more than 2 x rise probes both ways, n2 stays down: the
#      check's socket is connected to n2:53 and takes no other sender (error:
#      timeout);
#   6. the right server again: n2 back within bound(rise).
#
#   bound(N): a check is due interval ms after the previous verdict, and is
#   run from lbd's 50 ms tick; a failing UDP probe ends at once on ICMP port
#   unreachable or on a wrong answer, but the node's ICMP is rate-limited
#   (1/s per peer after a burst), so some fail only at the timeout.  A period
#   is thus at most interval + timeout + 50 ms; N of them from the change,
#   one tick to rebuild the table, plus one interval of slack for a loaded
#   2-core machine and 50 ms of polling: N * (interval + timeout + 50) +
#   interval + 100 (1.5 s for the lab's 300/200 ms, N = 2).
. "$(dirname "$0")/lib.sh"
. "$REPO/tests/integration/lib_dns.sh"

require_lbd
require_cmd jq dnsmasq dig python3
lab_up
dns_conf_add "$LBD_CONF"
dns_start_all
lbd_up
INTERVAL=$(jq -r .health.interval_ms "$LBD_CONF")
TIMEOUT=$(jq -r .health.timeout_ms "$LBD_CONF")
RISE=$(jq -r .health.rise "$LBD_CONF")
FALL=$(jq -r .health.fall "$LBD_CONF")
diag "health: interval ${INTERVAL} ms, timeout ${TIMEOUT} ms, rise $RISE, fall $FALL"
bound() { echo $(($1 * (INTERVAL + TIMEOUT + 50) + INTERVAL + 100)); }

udp_is() { [ "$(svc_nodes v4 udp 53)" = "$1" ]; }
n2_udp() { node_is n2 "(.health[] | select(.service == \"udp/53\") | .ok) == $1"; }
n2_udp_field() { node_json n2 | jq -r ".health[] | select(.service == \"udp/53\") | .$1"; }

# change_begins: note where lbd's log is and the time, before a change on n2.
change_begins() {
	lines0=$(log_lines)
	t0=$(now_ms)
}

# settles SIZE N WHAT: after change_begins, the v4 udp/53 table reaches SIZE
# nodes, and lbd logged that within bound(N) of the change's start.
settles() {
	local td
	if ! wait_ms 5000 udp_is "$1"; then
		fail "$3" "$(ctl nodes)"
		return 1
	fi
	td=$(log_line_ms "$lines0" "service_table vip_name=v4 .* service=udp/53 nodes=$1 ")
	diag "lbd rebuilt v4 udp/53 with $1 nodes $((td - t0)) ms after the change began"
	check_le "$3 within bound($2) (ms)" $((td - t0)) "$(bound "$2")"
}

# queries HOST WHAT none|some: 60 queries from HOST (each a new flow), all
# answered, and n2 serves none of them, or some.  The rounds in which n2
# must serve nothing come from c1, those in which it serves from c2: a UDP
# flow stays on its node, and dig's random source ports could repeat a
# 5-tuple that an earlier round put on n2.
queries() {
	local a b c none f=$TEST_TMP/queries.$RANDOM
	dns_who "$1" 60 >"$f"
	read -r a b c none < <(dns_tally "$f" 60)
	diag "60 queries from $1, $2: n1 $a, n2 $b, n3 $c, unanswered $none"
	check_eq "60 queries ($2) all answered" 0 "$none"
	if [ "$3" = none ]; then
		check_eq "60 queries ($2): none on n2" 0 "$b"
	else
		# P(n2 gets none of 60 | share 1/3) = (2/3)^60 ~ 3e-11.
		check "60 queries ($2): n2 serves some ($b)" test "$b" -gt 0
	fi
}

# 1. Everything up.
check "all 3 nodes in the v4 udp/53 table" wait_for 15 udp_is 3
check "n2's udp/53 check is a passing probe" \
	node_is n2 '.health[] | select(.service == "udp/53") | .ok and .check == "probe"'
out=$("$LBD_BIN" -t -c "$LBD_CONF")
check "tandem-lbd -t lists the udp/53 probe" grep -q '^  udp/53: send 35 bytes hex 7464.*expect exactly 51 bytes' <<<"$out" ||
	diag "$out"
queries c2 "all nodes up" some

# 2. n2's DNS server dies.
change_begins
dns_stop n2
settles 2 "$FALL" "n2 out of the v4 udp/53 table after its server stopped"
check "n2 udp/53 not ok" n2_udp false
check "lbd log: n2 udp/53 check failed" grep -q "health_down node=n2 service=udp/53 reason=" "$LBD_LOG"
check "n2 stays up (its TCP checks pass)" node_is n2 '.state == "up"'
check "n2 stays in the v4 tcp/80 table" table_is 3
out=$(ctl nodes)
check "tandemctl nodes: n2 udp/53:down" grep -Eq '^n2 .* udp/53:down( |$)' <<<"$out" || diag "$out"
check "tandemctl nodes: n2's udp/53 error listed" grep -Eq '^n2 udp/53: (no answer|timeout)' <<<"$out"
queries c1 "n2's server down" none

# 2b. lbd restarts meanwhile: its new checks start as the pinned table shows.
lbd_stop
lines0=$(log_lines)
lbd_up
ready() { jctl status | jq -e .ready >/dev/null; }
check "the restarted lbd is ready (every check ran)" wait_for 10 ready
check "n2 still out of the v4 udp/53 table after the restart" udp_is 2
sizes=$(tail -n +$((lines0 + 1)) "$LBD_LOG" | sed -n 's/.*service_table vip_name=v4 .* service=udp\/53 nodes=\([0-9]*\) .*/\1/p' | sort -u | tr '\n' ' ')
check_eq "the restarted lbd's v4 udp/53 table: always n1 and n3, never n2 (sizes logged)" "2 " "$sizes"

# 3. It comes back.
change_begins
dns_start n2
settles 3 "$RISE" "n2 back in the v4 udp/53 table after its server restarted"
queries c2 "n2 back" some

# 4. A wrong answer from a running server.
change_begins
dns_answer n2 192.0.2.99
check "n2's dnsmasq still runs and listens" dns_listening n2
settles 2 "$FALL" "n2 out of the v4 udp/53 table after it answers wrong"
err=$(n2_udp_field last_error)
check "n2's error: the unexpected reply (51 bytes)" grep -q '^unexpected reply (51 bytes): 74 64 85 80' <<<"$err" ||
	diag "last_error: $err"
queries c1 "n2 answering wrong" none

# 5. Right bytes, wrong sender.
dns_stop n2
in_ns n2 ip addr add 10.77.2.99/24 dev eth0
ip netns exec "$NS_N2" python3 "$REPO/tests/tools/udpspoof.py" --listen "$N2_IP4:53" --reply-hex "$DNS_PROBE_EXPECT" \
	--from "$N2_IP4:5353" --from 10.77.2.99:53 --log "$TEST_TMP/spoof.log" \
	>"$TEST_TMP/spoof.out" 2>&1 </dev/null &
spoof_pid=$!
at_exit "kill $spoof_pid"
spoofed() { [ "$(awk '$4 == 2' "$TEST_TMP/spoof.log" 2>/dev/null | wc -l)" -gt $((2 * RISE)) ]; }
if wait_for 10 spoofed; then
	ok "the spoofer answered $(wc -l <"$TEST_TMP/spoof.log") probes of lbd, each twice (other port, other address)"
else
	fail "the spoofer answers lbd's probes" "$(cat "$TEST_TMP/spoof.out")" "$(cat "$TEST_TMP/spoof.log" 2>/dev/null)"
fi
check "the probes came from the switch (10.77.2.1)" \
	test "$(awk '$2 != "10.77.2.1"' "$TEST_TMP/spoof.log" | wc -l)" = 0
check "n2 udp/53 still not ok" n2_udp false
check "n2 still out of the v4 udp/53 table" udp_is 2
check_eq "n2's udp/53 rise count" 0 "$(n2_udp_field rise_count)"
check_eq "n2's error: the probe timed out (the forged answers were not taken)" timeout "$(n2_udp_field last_error)"
kill "$spoof_pid"
wait "$spoof_pid" 2>/dev/null
check "the spoofer is gone from n2's :53" wait_for 5 sh -c "! ip netns exec '$NS_N2' ss -Hlun 'sport = :53' | grep -q ."
in_ns n2 ip addr del 10.77.2.99/24 dev eth0

# 6. The right server again.
change_begins
dns_answer n2 192.0.2.53
dns_start n2
settles 3 "$RISE" "n2 back in the v4 udp/53 table with the right server"
all_ok() { jctl nodes | jq -e '[.nodes[].health[].ok] | all' >/dev/null; }
check "every health check of every node passes again" all_ok
finish
