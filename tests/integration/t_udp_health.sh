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
for n in n1 n2 n3; do
	dns_start "$n" || {
		fail "dnsmasq starts on $n" "$(cat "$TEST_TMP/dns-$n.log" 2>/dev/null)"
		finish
	}
done
lbd_up
INTERVAL=$(jq -r .health.interval_ms "$LBD_CONF")
TIMEOUT=$(jq -r .health.timeout_ms "$LBD_CONF")
RISE=$(jq -r .health.rise "$LBD_CONF")
FALL=$(jq -r .health.fall "$LBD_CONF")
diag "health: interval ${INTERVAL} ms, timeout ${TIMEOUT} ms, rise $RISE, fall $FALL"
bound() { echo $(($1 * (INTERVAL + TIMEOUT + 50) + INTERVAL + 100)); }

udp_is() { [ "$(svc_nodes v4 udp 53)" = "$1" ]; }
n2_udp() { node_is n2 "(.health[] | select(.service == \"udp/53\") | .ok) == $1"; }
# who HOST FILE: 60 queries from HOST; "N1 N2 N3 UNANSWERED".  The rounds in
# which n2 must serve nothing come from c1, those in which it serves from c2:
# a UDP flow stays on its node, and dig's random source ports could repeat a
# 5-tuple that an earlier round put on n2.
who() { dns_who "$1" 60 >"$TEST_TMP/$2"; dns_tally "$TEST_TMP/$2" 60; }

# 1. Everything up.
check "all 3 nodes in the v4 udp/53 table" wait_for 15 udp_is 3
check "n2's udp/53 check is a passing probe" \
	node_is n2 '.health[] | select(.service == "udp/53") | .ok and .check == "probe"'
out=$("$LBD_BIN" -t -c "$LBD_CONF")
check "tandem-lbd -t lists the udp/53 probe" grep -q '^  udp/53: send 35 bytes hex 7464.*expect exactly 51 bytes' <<<"$out" ||
	diag "$out"
read -r a b c none < <(who c2 q1)
diag "60 queries, all nodes up: n1 $a, n2 $b, n3 $c, unanswered $none"
check_eq "60 queries all answered" 0 "$none"
# P(n2 gets none of 60 | share 1/3) = (2/3)^60 ~ 3e-11.
check "n2 serves some new flows ($b of 60)" test "$b" -gt 0

# 2. n2's DNS server dies.
lines0=$(log_lines)
t0=$(now_ms)
dns_stop n2
if wait_ms 5000 udp_is 2; then
	td=$(log_line_ms "$lines0" 'v4 udp/53: 2 node\(s\)')
	diag "lbd rebuilt v4 udp/53 without n2 $((td - t0)) ms after the stop began"
	check_le "n2 out of the v4 udp/53 table within bound(fall) (ms)" $((td - t0)) "$(bound "$FALL")"
else
	fail "lbd takes n2 out of udp/53 after its DNS server stops" "$(ctl nodes)"
fi
check "n2 udp/53 not ok" n2_udp false
check "lbd log: n2 udp/53 check failed" grep -q "node n2 udp/53: check failed" "$LBD_LOG"
check "n2 stays up (its TCP checks pass)" node_is n2 '.state == "up"'
check "n2 stays in the v4 tcp/80 table" table_is 3
out=$(ctl nodes)
check "tandemctl nodes: n2 udp/53:down" grep -Eq '^n2 .* udp/53:down( |$)' <<<"$out" || diag "$out"
check "tandemctl nodes: n2's udp/53 error listed" grep -Eq '^n2 udp/53: (no answer|timeout)' <<<"$out"
read -r a b c none < <(who c1 q2)
diag "60 queries, n2's server down: n1 $a, n2 $b, n3 $c, unanswered $none"
check_eq "60 new flows all answered" 0 "$none"
check_eq "60 new flows: none on n2" 0 "$b"

# 2b. lbd restarts meanwhile: its new check of n2 udp/53 starts as the pinned
# table shows it (out), so n2 does not slip back in before it passes.
lbd_stop
lines0=$(log_lines)
lbd_up
ready() { jctl status | jq -e .ready >/dev/null; }
check "the restarted lbd is ready (every check ran)" wait_for 10 ready
check "n2 still out of the v4 udp/53 table after the restart" udp_is 2
sizes=$(tail -n +$((lines0 + 1)) "$LBD_LOG" | sed -n 's/.*v4 udp\/53: \([0-9]*\) node.*/\1/p' | sort -u | tr '\n' ' ')
check_eq "the restarted lbd's v4 udp/53 table: always n1 and n3, never n2 (sizes logged)" "2 " "$sizes"

# 3. It comes back.
lines0=$(log_lines)
t0=$(now_ms)
dns_start n2
if wait_ms 5000 udp_is 3; then
	td=$(log_line_ms "$lines0" 'v4 udp/53: 3 node\(s\)')
	diag "lbd rebuilt v4 udp/53 with n2 $((td - t0)) ms after the start began"
	check_le "n2 back in the v4 udp/53 table within bound(rise) (ms)" $((td - t0)) "$(bound "$RISE")"
else
	fail "n2 returns to udp/53 after its DNS server restarts" "$(ctl nodes)"
fi
read -r a b c none < <(who c2 q3)
diag "60 queries, n2 back: n1 $a, n2 $b, n3 $c, unanswered $none"
check_eq "60 queries all answered" 0 "$none"
check "n2 serves new flows again ($b of 60)" test "$b" -gt 0

# 4. A wrong answer from a running server.
lines0=$(log_lines)
t0=$(now_ms)
dns_answer n2 192.0.2.99
check "n2's dnsmasq still runs and listens" dns_listening n2
if wait_ms 5000 udp_is 2; then
	td=$(log_line_ms "$lines0" 'v4 udp/53: 2 node\(s\)')
	check_le "n2 out of the v4 udp/53 table within bound(fall) of the wrong answer (ms)" \
		$((td - t0)) "$(bound "$FALL")"
else
	fail "a wrong answer takes n2 out of udp/53" "$(ctl nodes)"
fi
err=$(node_json n2 | jq -r '.health[] | select(.service == "udp/53") | .last_error')
check "n2's error: the unexpected reply (51 bytes)" grep -q '^unexpected reply (51 bytes): 74 64 85 80' <<<"$err" ||
	diag "last_error: $err"
read -r a b c none < <(who c1 q4)
diag "60 queries, n2 answering wrong: n1 $a, n2 $b, n3 $c, unanswered $none"
check_eq "60 new flows: none on n2" 0 "$b"
check_eq "60 new flows all answered" 0 "$none"

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
check_eq "n2's udp/53 rise count" 0 "$(node_json n2 | jq -r '.health[] | select(.service == "udp/53") | .rise_count')"
err=$(node_json n2 | jq -r '.health[] | select(.service == "udp/53") | .last_error')
check_eq "n2's error: the probe timed out (the forged answers were not taken)" timeout "$err"
kill "$spoof_pid"
wait "$spoof_pid" 2>/dev/null
check "the spoofer is gone from n2's :53" wait_for 5 sh -c "! ip netns exec '$NS_N2' ss -Hlun 'sport = :53' | grep -q ."
in_ns n2 ip addr del 10.77.2.99/24 dev eth0

# 6. The right server again.
lines0=$(log_lines)
t0=$(now_ms)
dns_answer n2 192.0.2.53
dns_start n2
if wait_ms 5000 udp_is 3; then
	td=$(log_line_ms "$lines0" 'v4 udp/53: 3 node\(s\)')
	check_le "n2 back in the v4 udp/53 table within bound(rise) (ms)" $((td - t0)) "$(bound "$RISE")"
else
	fail "n2 returns to udp/53" "$(ctl nodes)"
fi
all_ok() { jctl nodes | jq -e '[.nodes[].health[].ok] | all' >/dev/null; }
check "every health check of every node passes again" all_ok
finish
