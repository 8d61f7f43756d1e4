#!/bin/bash
# t_pair_groups: what an operator sees of an active-active pair's VRRP
# groups and DNS records: tandemctl status (human and --json), the MIB's
# tandemGroupTable through snmpd, and the web console's groups table, before
# and after a crash of one switch.
#
#                    dns (BIND 9: nas.tandem.test -> VIP4, VIP4B)
#                     |
#   c1 c2 ---------- brc (client LAN) --------+      VIP4 10.77.1.100: group g1
#   (c1: headless    |                        |      (preferred: a, switch 1)
#    Chromium)  eth0 [swa] ==eth2 sync== [swb] eth0 10.77.1.3   VIP4B 10.77.1.101:
#                    |                        |      group g2 (preferred: b, 2)
#                    +------ brs -------------+   swb also: slapd, tandem-webd
#                         n1 n2 n3                (HTTPS :8443), snmpd (master
#                                                  agentx, 127.0.0.1:16161),
#                                                  tandem-agentx
#
#   1. Both switches up: each group's master is its preferred switch (a for
#      g1, b for g2: the roles both switches' lbd report), and each switch
#      publishes its own group's record and leaves the other's to its peer.
#      Checked on both switches: `tandemctl --json status` .groups (role,
#      preferred, preferred_here, vips) and .dns.records; the group and
#      record lines of `tandemctl status`; on b: tandemGroupTable (snmpwalk
#      through snmpd and tandem-agentx) and the console's groups table (g1
#      backup, master the peer; g2 master here, its record published).
#   2. Switch a killed hard: b masters both groups and publishes both
#      records (dig has both); the same four views on b say so (a answers
#      no more).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_aa.sh"
. "$(dirname "$0")/lib_ldap.sh"

require_aa
require_webd
require_cmd snmpd snmpwalk snmptable node chromium
AGENTX=$TANDEM_BUILD/tandem-agentx
[ -x "$AGENTX" ] || skip_all "no $AGENTX (run make)"
[ -d "$REPO/tests/browser/node_modules/playwright-core" ] ||
	skip_all "no playwright-core in tests/browser (scripts/deps.sh)"
MIBPATH="$REPO/snmp:$REPO/snmp/mibs"
SNMP=(-v2c -c tandem -t 1 -r 1 -M "+$MIBPATH" -m TANDEM-MIB udp:127.0.0.1:16161)
export SNMP_PERSISTENT_DIR=$TEST_TMP/persist MIBS=
mkdir -p "$SNMP_PERSISTENT_DIR"
SHOTS=${WEB_CONSOLE_OUT:-$REPO/tests/out/integration}

aa_up

# ---- the views on b: snmpd + tandem-agentx, slapd + tandem-webd
AXS=$LAB_DIR/sw-b/agentx.sock	# the lab's vrrp.snmp_socket (keepalived's too)
cat >"$TEST_TMP/snmpd.conf" <<CONF
master agentx
agentXSocket $AXS
agentaddress udp:127.0.0.1:16161
rocommunity tandem 127.0.0.1
CONF
ip netns exec "$NS_SWB" snmpd -f -C -c "$TEST_TMP/snmpd.conf" -Lf "$TEST_TMP/snmpd.log" \
	-p "$TEST_TMP/snmpd.pid" </dev/null >/dev/null 2>&1 &
at_exit "kill $!"
ip netns exec "$NS_SWB" "$AGENTX" -f -s "$LBD_SOCK_B" -y "$SYNCD_SOCK_B" -x "$AXS" -i 1 \
	</dev/null >"$TEST_TMP/agentx.log" 2>&1 &
at_exit "kill $!"
# lib_ldap.sh's slapd and webd run in "the switch" of a single-switch lab:
# here that switch is b (its address on the client LAN, its lbd)
# shellcheck disable=SC2034  # read by webd_start
NS_SW=$NS_SWB SW_C_IP4=$SWB_C_IP4 SW_C_IP6=fd77:1::3 LBD_SOCK=$LBD_SOCK_B LBD_CONF=$CONF_B
if ! ldap_start "$NS_SWB" >"$TEST_TMP/ldap.out" 2>&1 || ! webd_start >"$TEST_TMP/webd.out" 2>&1; then
	fail "slapd and tandem-webd start in switch b" "$(cat "$TEST_TMP/ldap.out" "$TEST_TMP/webd.out")" \
		"$(tail -n 10 "${WEBD_LOG:-/dev/null}" 2>/dev/null)"
	finish
fi
ok "snmpd, tandem-agentx, slapd and tandem-webd run in switch b"

# groups_json X: "NAME ROLE PREFERRED PREFERRED_HERE VIPS" per group, ";" between.
groups_json() {
	sw_jctl "$1" status | jq -r '[.groups[] | "\(.name) \(.role) \(.preferred) \(.preferred_here) \(.vips | join(","))"] | join("; ")'
}
# records_json X: "VIP WANT PUBLISHED" per DNS record, ";" between.
records_json() {
	sw_jctl "$1" status | jq -r '[.dns.records[] | "\(.vip) \(.want) \(.published)"] | join("; ")'
}
# masters: "GROUP=SWITCH" for each group of g1 g2, the switch (a, b) whose
# lbd says it is the group's master ("-" if none, "a+b" if both).
masters() {
	local g x m out=""
	for g in g1 g2; do
		m=""
		for x in a b; do
			[ "$(sw_group_role "$x" "$g")" = master ] && m+="${m:++}$x"
		done
		out+="${out:+ }$g=${m:--}"
	done
	echo "$out"
}
# human X: the group and DNS record lines of `tandemctl status` on X, runs
# of spaces squeezed, " | " between.
human() {
	timeout 10 "$TANDEMCTL" -s "$LAB_DIR/sw-$1/lbd.sock" status |
		grep -E '^(group|dns record)' | tr -s ' ' | paste -sd '|' | sed 's/|/ | /g'
}
# mib: tandemGroupTable on b through snmpd: "NAME|ROLE|PREFERRED|HERE|VIPS|DNS"
# per row (ROLE: master(3) backup(4); HERE: true(1) false(2)), ";" between.
mib() {
	ip netns exec "$NS_SWB" snmptable "${SNMP[@]}" -Oe -CH -Cf '|' tandemGroupTable 2>/dev/null |
		tr -d '"' | paste -sd ';' | sed 's/;/; /g'
}
# console PHASE JSON: the console's groups table in headless Chromium from c1
# (webd on b) shows the rows of JSON (groups.mjs, EXPECT_GROUPS); its checks
# become ours.
console() {
	local rc
	in_ns c1 env EXPECT_GROUPS="$2" SHOT="$SHOTS/t_pair_groups-$1.png" HOME="$TEST_TMP" \
		timeout -k 5 100 node "$REPO/tests/browser/groups.mjs" "$WEBD_URL" >"$TEST_TMP/browser-$1.out" 2>&1
	rc=$?
	relay_checks "$1: " "$TEST_TMP/browser-$1.out"
	check_eq "$1: groups.mjs exit code" 0 "$rc"
}
mkdir -p "$SHOTS"

# 1. Both switches up.
check_eq "--json: each group's master is its preferred switch (g1: a, g2: b)" "g1=a g2=b" "$(masters)"
check_eq "a --json groups: g1 master, preferred 1 (here); g2 backup, preferred 2" \
	"g1 master 1 true v4,v6; g2 backup 2 false v4b" "$(groups_json a)"
check_eq "b --json groups: g1 backup, preferred 1; g2 master, preferred 2 (here)" \
	"g1 backup 1 false v4,v6; g2 master 2 true v4b" "$(groups_json b)"
check_eq "a --json dns: publishes v4 (the server took it), leaves v4b to b" \
	"v4 publish true; v4b leave null" "$(records_json a)"
check_eq "b --json dns: leaves v4 to a, publishes v4b (the server took it)" \
	"v4 leave null; v4b publish true" "$(records_json b)"
check_eq "a: tandemctl status lines" \
	"group g1 master preferred: switch 1 (this one); vips v4 v6 | group g2 backup preferred: switch 2; vips v4b | dns record v4 A 10.77.1.100 publish (published) | dns record v4b A 10.77.1.101 leave" \
	"$(human a)"
check_eq "b: tandemctl status lines" \
	"group g1 backup preferred: switch 1; vips v4 v6 | group g2 master preferred: switch 2 (this one); vips v4b | dns record v4 A 10.77.1.100 leave | dns record v4b A 10.77.1.101 publish (published)" \
	"$(human b)"
MIB1="g1|4|1|2|v4 v6|; g2|3|2|1|v4b|10.77.1.101"
if ! check "b's MIB, tandemGroupTable: g1 backup(4), preferred 1, here false(2), no record of b's; g2 master(3), preferred 2, here true(1), 10.77.1.101 published" \
	wait_eq 20 "$MIB1" mib; then
	diag "$(tail -n 5 "$TEST_TMP/agentx.log")"
fi
console before "$(jq -cn '{g1: {vips: "v4 v6", preferred: "switch 1", state: "backup", master: "peer",
	master_text: "peer 10.77.9.1", dns: "10.77.1.100 left to the peer"},
	g2: {vips: "v4b", preferred: "switch 2 (this one)", state: "master", master: "here",
	master_text: "this switch (switch 2)", dns: "10.77.1.101 published"}}')"

# 2. a dies: b masters both groups and publishes both records.
sw_stop a hard
check "b masters both groups after a's hard stop" wait_for 10 groups_are b master master
check_eq "--json: b is the master of every group" "g1=b g2=b" "$(masters)"
check "a's lbd answers no more" sh -c "! timeout 5 '$TANDEMCTL' -s '$LBD_SOCK_A' status"
check_eq "b --json groups: both master" "g1 master 1 false v4,v6; g2 master 2 true v4b" "$(groups_json b)"
check "b --json dns: publishes both records (the server took them)" \
	wait_eq 10 "v4 publish true; v4b publish true" records_json b
check "$DNS_NAME has both VIPs" wait_for 5 dns_is "$VIP4 $VIP4B"
check_eq "b: tandemctl status lines" \
	"group g1 master preferred: switch 1; vips v4 v6 | group g2 master preferred: switch 2 (this one); vips v4b | dns record v4 A 10.77.1.100 publish (published) | dns record v4b A 10.77.1.101 publish (published)" \
	"$(human b)"
check "b's MIB, tandemGroupTable: both master(3), both records published by b" \
	wait_eq 10 "g1|3|1|2|v4 v6|10.77.1.100; g2|3|2|1|v4b|10.77.1.101" mib
console after "$(jq -cn '{g1: {state: "master", master: "here", master_text: "this switch (switch 2)",
	preferred: "switch 1", dns: "10.77.1.100 published"},
	g2: {state: "master", master: "here", dns: "10.77.1.101 published"}}')"
finish
