# shellcheck shell=bash
# lib_dns.sh - a real DNS service on the lab's nodes for the UDP health and
# failover tests (sourced by them after lib.sh): dnsmasq (Debian's
# dnsmasq-base, no DHCP, no upstream) on udp/53 of every address of a node,
# so it answers both lbd's probe (to the node's own address) and clients
# (to the VIP on lo: dnsmasq answers from the address a query came to).
#
# Each node's dnsmasq knows two names:
#   probe.tandem.test  A    from TEST_TMP/dns-NODE.hosts (192.0.2.53; a test
#                           rewrites it and sends SIGHUP to make it answer
#                           something else without stopping the server)
#   node.tandem.test   TXT  "NODE": who answered a client
#
# lbd's probe for udp/53 (DNS_PROBE_SEND / DNS_PROBE_EXPECT, the JSON in
# dns_probe_json): an A query for probe.tandem.test with id 0x7464 and RD,
# and the exact 51-byte answer dnsmasq gives: id, flags 0x8580 (response,
# authoritative, RD, RA), 1 question, 1 answer (pointer to the name, A, IN,
# TTL 0, 192.0.2.53).  doc/config.md explains the bytes.

DNS_PROBE_SEND="7464 0100 0001 0000 0000 0000 05 70726f6265 06 74616e64656d 04 74657374 00 0001 0001"
DNS_PROBE_EXPECT="7464 8580 0001 0001 0000 0000 05 70726f6265 06 74616e64656d 04 74657374 00 0001 0001 c00c 0001 0001 00000000 0004 c0000235"

# dns_probe_json: the "probe" object of the udp/53 service.
dns_probe_json() {
	jq -cn --arg s "$DNS_PROBE_SEND" --arg e "$DNS_PROBE_EXPECT" '{send_hex: $s, expect_hex: $e}'
}

# dns_conf_add FILE [VIPNAME]: add udp/53 with the DNS probe to the VIP
# VIPNAME (default v4) of lbd's configuration FILE.
dns_conf_add() {
	local f=$1 p v=${2:-v4}
	p=$(dns_probe_json)
	jq --argjson p "$p" --arg v "$v" '(.vips[] | select(.name == $v) | .services) += [{proto: "udp", port: 53, probe: $p}]' \
		"$f" >"$f.new" && mv "$f.new" "$f"
}

# dns_answer NODE ADDR: NODE's dnsmasq answers probe.tandem.test with ADDR
# (re-read on SIGHUP if it runs).
dns_answer() {
	echo "$2 probe.tandem.test" >"$TEST_TMP/dns-$1.hosts"
	[ -s "$TEST_TMP/dns-$1.pid" ] && kill -HUP "$(cat "$TEST_TMP/dns-$1.pid")" 2>/dev/null
	return 0
}

# dns_listening NODE: something listens on udp/53 in NODE.
dns_listening() {
	in_ns "$1" ss -Hlun 'sport = :53' | grep -q .
}

# dns_start NODE: start NODE's dnsmasq (answering 192.0.2.53 unless
# dns_answer said otherwise), wait until it listens.
dns_start() {
	local n=$1
	[ -e "$TEST_TMP/dns-$n.hosts" ] || dns_answer "$n" 192.0.2.53
	in_ns "$n" dnsmasq --conf-file=/dev/null -u root --port=53 --no-resolv --no-hosts \
		--addn-hosts="$TEST_TMP/dns-$n.hosts" --txt-record="node.tandem.test,$n" \
		--local-ttl=0 --pid-file="$TEST_TMP/dns-$n.pid" --log-facility="$TEST_TMP/dns-$n.log" ||
		return 1
	at_exit "kill \$(cat '$TEST_TMP/dns-$n.pid' 2>/dev/null) 2>/dev/null"
	wait_for 5 dns_listening "$n"
}

# dns_start_all: dnsmasq on n1, n2 and n3, or the test fails and ends.
dns_start_all() {
	local n
	for n in n1 n2 n3; do
		dns_start "$n" && continue
		fail "dnsmasq starts on $n" "$(cat "$TEST_TMP/dns-$n.log" 2>/dev/null)"
		finish
	done
}

# dns_stop NODE: stop NODE's dnsmasq and wait until udp/53 is closed.
dns_stop() {
	local p
	p=$(cat "$TEST_TMP/dns-$1.pid" 2>/dev/null) || return 0
	kill "$p" 2>/dev/null
	rm -f "$TEST_TMP/dns-$1.pid"
	wait_for 5 pid_gone "$p" && ! wait_for 0 dns_listening "$1"
}

# dns_who HOST N: N queries for node.tandem.test TXT from HOST to VIP4, by one
# dig (each query from its own random source port: a new flow each); one
# line per query: the node that answered, or "-" for no answer.
dns_who() {
	local args=() i
	for ((i = 0; i < $2; i++)); do
		args+=(node.tandem.test TXT)
	done
	in_ns "$1" timeout 120 dig @"$VIP4" +short +tries=1 +time=2 "${args[@]}" 2>/dev/null |
		awk '/^"n[0-9]+"$/ { gsub(/"/, ""); print; next }
		     /no servers could be reached/ { print "-" }'
}

# dns_tally FILE N: "N1 N2 N3 NONE" for N queries whose dns_who lines are in
# FILE: how many each node answered, and how many got no answer.
dns_tally() {
	awk -v n="${2:-0}" '{ c[$1]++ } END { printf "%d %d %d %d\n", c["n1"], c["n2"], c["n3"],
		(n ? n - c["n1"] - c["n2"] - c["n3"] : c["-"]) }' "$1"
}
