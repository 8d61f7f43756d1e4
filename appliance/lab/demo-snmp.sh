# shellcheck shell=bash
# SNMP for `make demo` (sourced by demo.sh): TANDEM-MIB through a real
# snmpd, as tests/integration/t_snmp.sh runs it, in the switch of lab $NAME:
#
#   snmpd (master agentx; udp 127.0.0.1:16161 inside the switch, community
#     "tandem"; trap2sink 127.0.0.1:16162)
#     ^ AgentX on LAB_DIR/snmp/agentx.sock
#   tandem-agentx -s lbd.sock -i 1         snmptrapd (udp 127.0.0.1:16162 in the
#                                          switch, log LAB_DIR/snmp/traps.log)
#
# All three run in the switch's namespace and end with the lab.  Debian
# ships no IETF base MIBs: snmp/mibs/ holds the stand-ins TANDEM-MIB imports
# (doc/snmp.md).  Needs the lab's env, REPO, TANDEM_BUILD, demo-lib.sh.

DEMO_SNMP_MIBS="$REPO/snmp:$REPO/snmp/mibs"
DEMO_SNMP=(-v2c -c tandem -t 1 -r 1 -M "+$DEMO_SNMP_MIBS" -m TANDEM-MIB udp:127.0.0.1:16161)

# snmp_start: snmpd, snmptrapd and tandem-agentx in the switch.  The
# daemons' own logs are in LAB_DIR/snmp/.
snmp_start() {
	local d=$LAB_DIR/snmp
	mkdir -p "$d/persist"
	cat >"$d/snmpd.conf" <<EOF
master agentx
agentXSocket $d/agentx.sock
agentXPerms 0600 0700
agentaddress udp:127.0.0.1:16161
rocommunity tandem 127.0.0.1
trap2sink 127.0.0.1:16162 tandem
EOF
	echo "authCommunity log tandem" >"$d/snmptrapd.conf"
	SNMP_PERSISTENT_DIR=$d/persist MIBS="" setsid ip netns exec "$NS_SW" snmpd -f -C \
		-c "$d/snmpd.conf" -Lf "$d/snmpd.log" -p "$d/snmpd.pid" </dev/null >/dev/null 2>&1 &
	SNMP_PERSISTENT_DIR=$d/persist MIBS="" setsid ip netns exec "$NS_SW" snmptrapd -f -n -C \
		-c "$d/snmptrapd.conf" -M "+$DEMO_SNMP_MIBS" -m TANDEM-MIB -Lf "$d/traps.log" \
		udp:127.0.0.1:16162 </dev/null >/dev/null 2>&1 &
	setsid ip netns exec "$NS_SW" "$TANDEM_BUILD/tandem-agentx" -f -s "$LBD_SOCK" \
		-x "$d/agentx.sock" -i 1 </dev/null >"$d/agentx.log" 2>&1 &
}

# snmp ARGS: an snmp tool in the switch with the demo's MIB path.
snmp() {
	local tool=$1
	shift
	MIBS="" ip netns exec "$NS_SW" "$tool" "${DEMO_SNMP[@]}" "$@"
}
snmp_get() { snmp snmpget -OqvU "$@" 2>/dev/null; }
snmp_nodes_up() { [ "$(snmp_get TANDEM-MIB::tandemSwitchNodesUp.0)" = "$1" ]; }
# snmp_trap NOTIFICATION NODE: snmptrapd logged NOTIFICATION naming NODE.
snmp_trap() {
	grep -A8 "TANDEM-MIB::$1" "$LAB_DIR/snmp/traps.log" 2>/dev/null |
		grep -Eq "tandemNodeName[.][0-9]+ = STRING: \"?$2"
}
# snmp_show_trap NOTIFICATION: the TANDEM-MIB variables of the last such
# notification in snmptrapd's log, one a line.
snmp_show_trap() {
	grep "TANDEM-MIB::$1" "$LAB_DIR/snmp/traps.log" | tail -n 1 | tr '\t' '\n' |
		grep -o 'TANDEM-MIB::.*' | sed 's/^/      /'
}

# snmp_nodes: the node table (some of its columns) as snmptable shows it.
snmp_nodes() {
	snmp snmptable -Cb -Cf '|' -OU TANDEM-MIB::tandemNodeTable 2>/dev/null | awk -F'|' '
		NR == 1 || !NF { next }
		!hdr { for (i = 1; i <= NF; i++) col[$i] = i; hdr = 1 }
		{ printf "   %-6s %-6s %-6s %-6s %-7s %-9s %-9s %s\n", $col["Name"], $col["State"], $col["Link"],
			$col["Drain"], $col["Weight"], $col["Flows"], $col["Packets"], $col["Bytes"] }'
}

# snmp_nodes_agree: name, state and drain of every node as lbd says.
snmp_nodes_agree() {
	[ "$(snmp_nodes | awk 'NR > 1 { print $1, $2, $4 }' | sort)" = \
		"$(jctl nodes | jq -r '.nodes[] | "\(.name) \(.state) \(.drain)"' | sort)" ]
}

# snmp_section NODE: walk the MIB, then take NODE's link down and up again:
# tandemNodeDown and tandemNodeUp reach snmptrapd.  Narrated.
snmp_section() {
	local n=$1 t0
	if wait_ms 15000 snmp_nodes_up 3; then
		good "tandem-agentx answers through snmpd: tandemSwitchNodesUp.0 = 3"
	else
		bad "TANDEM-MIB does not answer through snmpd (see $LAB_DIR/snmp/)"
		return 1
	fi
	printf '\n%s$ snmpwalk -v2c -c tandem 127.0.0.1:16161 TANDEM-MIB::tandemSwitch%s\n' "$D" "$N"
	snmp snmpwalk -OsU TANDEM-MIB::tandemSwitch | sed 's/^/   /'
	printf '\n%s$ snmptable -v2c -c tandem 127.0.0.1:16161 TANDEM-MIB::tandemNodeTable (some columns)%s\n' "$D" "$N"
	# (the agent polls lbd every second: wait for the undrain above to show)
	if wait_ms 5000 snmp_nodes_agree; then
		good "the MIB's node table says what tandemctl nodes says (both read lbd)"
	else
		bad "the MIB's node table and tandemctl nodes differ"
	fi
	snmp_nodes
	"$LAB" link "$NAME" "$n" down
	t0=$(now_ms)
	if wait_ms 10000 snmp_trap tandemNodeDown "$n"; then
		good "$n's link down: snmptrapd got tandemNodeDown for $n after $(($(now_ms) - t0)) ms"
		snmp_show_trap tandemNodeDown
	else
		bad "no tandemNodeDown for $n in $LAB_DIR/snmp/traps.log"
	fi
	"$LAB" link "$NAME" "$n" up
	t0=$(now_ms)
	if wait_ms 15000 snmp_trap tandemNodeUp "$n"; then
		good "$n's link up again: tandemNodeUp for $n after $(($(now_ms) - t0)) ms"
	else
		bad "no tandemNodeUp for $n in $LAB_DIR/snmp/traps.log"
	fi
}
