#!/bin/bash
# t_dns_health: the round-robin DNS records follow the health of the VIPs'
# services, Tandem's own update failures are counted and retried, forged
# updates are refused by the server.
#
#                    dns (BIND 9, TSIG key tandem-update: the switches')
#                     |
#   c1 c2 ---------- brc (client LAN) --------+      VIP4 (g1, on a)
#             eth0 [swa] ==eth2 sync== [swb] eth0   VIP4B (g2, on b): its own
#             eth1   |                   |   eth1   service tcp 9001
#                    +------ brs --------+
#                         n1 n2 n3     pairload :9000 and :9001
#
#   1. every node's :9001 stops: VIP4B's record is withdrawn (b's lbd has
#      it gone within 2 s of seeing the service down; dig within 3 s of the
#      stop); 20 new sessions by name all land on VIP4;
#   2. :9001 back: both records within 2 s (of lbd seeing it healthy);
#   3. updates with a wrong TSIG key, or none, are refused (nsupdate fails,
#      the record does not appear);
#   4. named is killed, then VIP4B fails again: b's update fails (counted,
#      lbd runs on); named restarts: the withdrawal is retried and lands;
#      :9001 back: both records again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_aa.sh"

require_aa
aa_up

by_name() {	# by_name N: N sessions by name from c1, the VIP each one reached
	local i
	for ((i = 0; i < $1; i++)); do
		in_ns c1 curl -sS -m 5 -o /dev/null -w '%{remote_ip}\n' "http://$DNS_NAME/node"
	done | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ' | sed 's/ $//'
}
withdraw_ms() { sw_jctl b status | jq '.dns.withdraw_latency | if .count > 0 then .sum_us / .count / 1000 | floor else 99999 end'; }
publish_max() { sw_jctl b status | jq '.dns.publish_latency.sum_us'; }

# 1. v4b's own service fails everywhere.
t0=$(now_ms)
aa_9001 stop
if wait_ms 5000 dns_is "$VIP4"; then
	ok "$DNS_NAME has only VIP4 $(($(now_ms) - t0)) ms after :9001 stopped on every node"
else
	fail "VIP4B's record is withdrawn" "dig: '$(dig_names)'" "b: $(sw_jctl b status | jq -c .dns)"
fi
check_le "dig shows it within 3000 ms of the stop (health: 2 x 300 ms)" $(($(now_ms) - t0)) 3000
check_le "b's lbd had the record gone within 2000 ms of seeing VIP4B down" "$(withdraw_ms)" 2000
check_eq "20 new sessions by name all reach VIP4" "$VIP4=20" "$(by_name 20)"

# 2. Healthy again.  The clock starts once :9001 listens on every node
# (aa_9001 start waits for that): python's start-up in three namespaces,
# a second or more on a loaded host, is not the switch's time.
aa_9001 start
t0=$(now_ms)
if wait_ms 5000 dns_is "$VIP4 $VIP4B"; then
	ok "both records back $(($(now_ms) - t0)) ms after :9001 came back"
else
	fail "both records back" "dig: '$(dig_names)'"
fi
check_le "dig shows it within 3000 ms (health: 2 x 300 ms to rise)" $(($(now_ms) - t0)) 3000
diag "b's lbd: $(sw_jctl b status | jq -c '.dns | {updates, publish_latency: (.publish_latency | {count, sum_us}), withdraw_latency: (.withdraw_latency | {count, sum_us})}')"

# 3. Forged updates.
(umask 077 && tsig-keygen -a hmac-sha256 tandem-update >"$TEST_TMP/forged.key")
forge() {	# forge KEYARGS...: try to add 10.77.1.66 to the name
	printf 'server %s\nzone tandem.test.\nupdate add %s. 1 A 10.77.1.66\nsend\n' "$DNS_IP" "$DNS_NAME" |
		in_ns c1 timeout 10 nsupdate -t 3 "$@" >"$TEST_TMP/forge.out" 2>&1
}
if forge -k "$TEST_TMP/forged.key"; then
	fail "an update signed with another key (same name) is refused" "$(cat "$TEST_TMP/forge.out")"
else
	ok "an update signed with another key (same name) is refused: $(tr '\n' ' ' <"$TEST_TMP/forge.out" | head -c 100)"
fi
if forge; then
	fail "an unsigned update is refused" "$(cat "$TEST_TMP/forge.out")"
else
	ok "an unsigned update is refused: $(tr '\n' ' ' <"$TEST_TMP/forge.out" | head -c 100)"
fi
check_eq "the records are still the pair's two" "$VIP4 $VIP4B" "$(dig_names)"

# 4. The server goes away while a record must change.
named_pids() { ip netns pids "$NS_DNS"; }
failed() { sw_jctl b status | jq '.dns.updates.failed'; }
f0=$(failed)
# shellcheck disable=SC2046
kill $(named_pids)
wait_for 5 sh -c "[ -z \"\$(ip netns pids $NS_DNS)\" ]"
aa_9001 stop
more_failed() { [ "$(failed)" -gt "$f0" ]; }
check "b's failed updates are counted (server gone)" wait_for 10 more_failed
check "b's lbd runs on and answers" sw_jctl b status
diag "b: $(sw_jctl b status | jq -c '.dns | {updates, last_error}')"
in_ns dns /usr/sbin/named -c "$LAB_DIR/dns/named.conf" -g >>"$LAB_DIR/dns/named.log" 2>&1 &
named_up() { in_ns dns sh -c "ss -Hlun 'sport = :53' | grep -q ."; }
check "named restarted" wait_for 10 named_up
check "the withdrawal is retried and lands: only VIP4" wait_for 10 dns_is "$VIP4"
aa_9001 start
check "VIP4B healthy again: both records" wait_for 10 dns_is "$VIP4 $VIP4B"
check_eq "no update is in flight or pending (b)" "false" \
	"$(sw_jctl b status | jq '.dns.updates.in_flight')"
finish
