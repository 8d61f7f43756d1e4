#!/bin/bash
# t_dns_v6: the round-robin name's AAAA record, and clients by name over
# IPv6, across a hard crash of the switch that holds the v6 VIP.
#
#                    dns (BIND 9: nas.tandem.test A and AAAA)
#                     |
#   c1 c2 ---------- brc (client LAN) --------+      VIP4, VIP6 (g1, on a)
#             eth0 [swa] ==eth2 sync== [swb] eth0   VIP4B (g2, on b)
#             eth1   |                   |   eth1
#                    +------ brs --------+
#                         n1 n2 n3     nginx [::]:80
#
# The active-active lab with LAB_DNS6=1: the switches publish v6 as well.
#   1. both up: the name's AAAA is VIP6 (A: VIP4 and VIP4B); 20 sessions by
#      name over IPv6 (curl -6) from c1 all reach VIP6 and are answered;
#   2. a crashes (frozen, links cut, killed): b masters both groups; the
#      AAAA record stays VIP6 and the A records stay; 20 new v6 sessions by
#      name all reach VIP6 through b and are answered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_aa.sh"

require_aa
require_cmd dig curl
export LAB_DNS6=1
aa_up

aaaa_names() {
	in_ns c1 dig +short +time=1 +tries=1 "@$DNS_IP" "$DNS_NAME" AAAA 2>/dev/null |
		grep -E '^[0-9a-f:]+$' | sort | tr '\n' ' ' | sed 's/ $//'
}
aaaa_is() { [ "$(aaaa_names)" = "$1" ]; }
# by_name6 N: N sessions by name over IPv6 from c1: "ADDR=COUNT ..." of the
# addresses they reached (and "fail=K" for those that failed)
by_name6() {
	local i
	for ((i = 0; i < $1; i++)); do
		in_ns c1 curl -6 -sS -m 5 -o /dev/null -w '%{remote_ip} %{http_code}\n' "http://$DNS_NAME/node" ||
			echo "fail 000"
	done | awk '$2 == 200 { print $1; next } { print "fail" }' | sort | uniq -c |
		awk '{ print $2 "=" $1 }' | tr '\n' ' ' | sed 's/ $//'
}

# 1.
if wait_for 10 aaaa_is "$VIP6"; then
	ok "$DNS_NAME AAAA is the v6 VIP ($VIP6)"
else
	fail "$DNS_NAME AAAA is the v6 VIP" "dig: '$(aaaa_names)'" "a: $(sw_jctl a status | jq -c .dns)"
fi
check_eq "$DNS_NAME A records unchanged: VIP4 and VIP4B" "$VIP4 $VIP4B" "$(dig_names)"
check_eq "20 sessions by name over IPv6 all reach VIP6, all answered" "$VIP6=20" "$(by_name6 20)"

# 2.
t0=$(now_ms)
sw_stop a hard
check "b masters both groups after a's hard stop" wait_for 10 groups_are b master master
diag "b master of both groups $(($(now_ms) - t0)) ms after the stop"
check "$DNS_NAME AAAA is still VIP6 (b holds it now)" wait_for 10 aaaa_is "$VIP6"
check "$DNS_NAME A records still VIP4 and VIP4B" wait_for 10 dns_is "$VIP4 $VIP4B"
check_eq "20 new v6 sessions by name all reach VIP6 through b, all answered" "$VIP6=20" "$(by_name6 20)"
published6() {
	sw_jctl b status | jq -e --arg v "$VIP6" \
		'[.dns.records[] | select(.address == $v and .type == "AAAA" and .published and .ours)] | length == 1' >/dev/null
}
check "b's lbd shows the AAAA record of VIP6 as its own, published" wait_for 5 published6
diag "b's dns: $(sw_jctl b status | jq -c '.dns | del(.publish_latency, .withdraw_latency)')"
finish
