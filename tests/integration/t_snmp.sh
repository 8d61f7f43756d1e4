#!/bin/bash
# t_snmp: tandem-agentx serves TANDEM-MIB through a real snmpd (AgentX master).
#
#   c1, c2 --- brc --- eth0 [sw] br1 --- n1 n2 n3          (the usual lab)
#                          |
#        in the sw namespace, on 127.0.0.1 / unix sockets under TEST_TMP:
#          snmpd (master agentx, udp 127.0.0.1:16161, community "tandem",
#                 trap2sink 127.0.0.1:16162)
#            ^ AgentX (TEST_TMP/agentx.sock)
#          tandem-agentx -s lbd.sock -i 1      snmptrapd (udp 127.0.0.1:16162,
#                                              log to TEST_TMP/traps.log)
#
# Checked:
#   - smilint -l 6 finds nothing in snmp/TANDEM-MIB.txt;
#   - the scalars and the node table match lbd (nodes, state, weights);
#   - 400 UDP datagrams of 100 bytes to VIP udp/5201: the VIP row and the node
#     rows grow by exactly 400 packets and 400 * 128 IP bytes, equal to lbd's;
#   - 10 curl downloads of 1m.bin: tcp/80 new flows +10, packets and bytes
#     equal to lbd's, bytes = 52 per packet (IP + TCP with timestamps) + 8 per
#     SYN (its longer options) + the HTTP requests curl says it sent, within
#     12 bytes per session;
#   - snmpbulkwalk of the session table = lbd's `flows` (5-tuple, node,
#     packets, bytes);
#   - 4 downloads over IPv6 (c1, c2 to the v6 VIP): the session table's IPv6
#     rows (index 2.16.<client>.CPORT.2.16.<vip>.VPORT.PROTO) = lbd's v6
#     flows, and `tandemctl flows` prints them as [ADDR]:PORT;
#   - n2's link down: the node table shows it down and snmptrapd logs a
#     tandemNodeDown for n2; link up: tandemNodeUp;
#   - lbd's role set to backup then master (as keepalived's hook does): a
#     tandemFailover notification with the new role;
#   - snmpd killed and started again: the agent answers through it again
#     within 3 s of snmpd answering.
#
# Debian ships no IETF base MIBs: snmp/mibs/ holds minimal stand-ins for the
# modules TANDEM-MIB imports (see doc/snmp.md), searched after the system's.
. "$(dirname "$0")/lib.sh"

require_lbd
require_cmd jq snmpd snmptrapd snmpget snmpwalk snmpbulkwalk snmptranslate smilint python3
AGENTX=$TANDEM_BUILD/tandem-agentx
[ -x "$AGENTX" ] || skip_all "no $AGENTX (run make)"

MIBPATH="$REPO/snmp:$REPO/snmp/mibs"
SNMP_PORT=16161
TRAP_PORT=16162
SNMP=(-v2c -c tandem -t 1 -r 1 -M "+$MIBPATH" -m TANDEM-MIB "udp:127.0.0.1:$SNMP_PORT")
export SNMP_PERSISTENT_DIR=$TEST_TMP/persist MIBS=
mkdir -p "$SNMP_PERSISTENT_DIR"

# ---- the MIB
out=$(SMIPATH="$REPO/snmp/mibs" smilint -l 6 "$REPO/snmp/TANDEM-MIB.txt" 2>&1)
check_eq "smilint -l 6 TANDEM-MIB.txt: no errors or warnings" "" "$out"

lab_up
lbd_up

cat >"$TEST_TMP/snmpd.conf" <<CONF
master agentx
agentXSocket $TEST_TMP/agentx.sock
agentXPerms 0600 0700
agentaddress udp:127.0.0.1:$SNMP_PORT
rocommunity tandem 127.0.0.1
trap2sink 127.0.0.1:$TRAP_PORT tandem
CONF
echo "authCommunity log tandem" >"$TEST_TMP/snmptrapd.conf"

# (ip netns exec directly, not through the in_ns function: $! must be the
# daemon itself, not a subshell around it)
snmpd_start() {
	ip netns exec "$NS_SW" snmpd -f -C -c "$TEST_TMP/snmpd.conf" -Lf "$TEST_TMP/snmpd.log" \
		-p "$TEST_TMP/snmpd.pid" </dev/null >/dev/null 2>&1 &
	SNMPD_PID=$!
	at_exit "kill $SNMPD_PID"
}
snmpd_start
ip netns exec "$NS_SW" snmptrapd -f -n -C -c "$TEST_TMP/snmptrapd.conf" -M "+$MIBPATH" -m TANDEM-MIB \
	-Lf "$TEST_TMP/traps.log" "udp:127.0.0.1:$TRAP_PORT" </dev/null >/dev/null 2>&1 &
at_exit "kill $!"
ip netns exec "$NS_SW" "$AGENTX" -f -s "$LBD_SOCK" -x "$TEST_TMP/agentx.sock" -i 1 \
	</dev/null >"$TEST_TMP/agentx.log" 2>&1 &
AGENTX_PID=$!
at_exit "kill $AGENTX_PID"

# sget OBJ...: values only (-Oqv), numeric enums (-Oe), one per line
sget() { in_ns sw snmpget "${SNMP[@]}" -OqveU "$@" 2>/dev/null; }
# swalk COLUMN: "INDEX VALUE" lines, INDEX the numeric OID suffix after the column
swalk() {
	in_ns sw snmpbulkwalk "${SNMP[@]}" -OqenU "$1" 2>/dev/null |
		awk -v base="$(snmptranslate -M "+$MIBPATH" -m TANDEM-MIB -On "TANDEM-MIB::$1" 2>/dev/null)" \
			'index($1, base ".") == 1 { i = substr($1, length(base) + 2); $1 = ""; sub(/^ /, ""); print i, $0 }'
}
agent_sees() { [ "$(sget tandemSwitchNodesUp.0)" = 3 ] && [ "$(sget tandemSwitchLbdUp.0)" = 1 ]; }
if ! check "the agent answers through snmpd: tandemSwitchNodesUp.0 = 3" wait_for 20 agent_sees; then
	diag "$(tail -n 20 "$TEST_TMP/agentx.log")" "$(tail -n 20 "$TEST_TMP/snmpd.log")"
	finish
fi

# ---- scalars and the node table against lbd
st=$(jctl status)
check_eq "tandemSwitchNodesTotal/FlowTableSize = lbd status" \
	"$(jq -r '"\(.nodes_total) \(.flow_table_size)"' <<<"$st")" \
	"$(sget tandemSwitchNodesTotal.0 tandemSwitchFlowTableSize.0 | paste -sd' ')"
nodes_lbd() {
	jctl nodes | jq -r '.nodes[] | "\(.id + 1) \(.name) \(.weight) \(if .state == "up" then 1 else 2 end)"' | sort
}
nodes_snmp() {
	join <(swalk tandemNodeName | tr -d '"' | sort) <(swalk tandemNodeWeight | sort) |
		join - <(swalk tandemNodeState | sort) | sort
}
check_eq "node table (index name weight state) = lbd nodes" "$(nodes_lbd)" "$(nodes_snmp)"
check_eq "node addresses (tandemNodeAddress)" "0A4D020B 0A4D020C 0A4D020D" \
	"$(swalk tandemNodeAddress | sort | cut -d' ' -f2- | tr -d '" ' | paste -sd' ')"

# svc_lbd PROTO PORT: "index packets bytes new_flows" of v4's service from lbd
svc_lbd() {
	jctl vips | jq -r --arg p "$1" --argjson port "$2" '.vips[] | select(.name == "v4") | .services[] |
		select(.proto == $p and .port == $port) | "\(.svc_id + 1) \(.packets) \(.bytes) \(.new_flows)"'
}
svc_snmp() {
	echo "$1 $(sget "tandemVipPackets.$1" "tandemVipBytes.$1" "tandemVipNewFlows.$1" | paste -sd' ')"
}
nodes_ctr_lbd() {
	jctl nodes | jq -r '.nodes[] | "\(.id + 1) \(.packets) \(.bytes) \(.new_flows)"' | sort
}
nodes_ctr_snmp() {
	join <(swalk tandemNodePackets | sort) <(swalk tandemNodeBytes | sort) |
		join - <(swalk tandemNodeNewFlows | sort) | sort
}
sum_nodes() { awk '{ p += $2; b += $3; n += $4 } END { print p + 0, b + 0, n + 0 }'; }
# same_svc PROTO PORT: the agent's VIP row equals lbd's (after its next poll)
same_svc() {
	local l
	l=$(svc_lbd "$1" "$2")
	[ -n "$l" ] && [ "$(svc_snmp "${l%% *}")" = "$l" ]
}
same_nodes() { [ "$(nodes_ctr_snmp)" = "$(nodes_ctr_lbd)" ]; }

# ---- UDP: 400 datagrams of 100 bytes, one flow
UDP_IDX=$(svc_lbd udp 5201 | cut -d' ' -f1)
wait_for 5 same_svc udp 5201
read -r _ u_p0 u_b0 u_n0 <<<"$(svc_snmp "$UDP_IDX")"
read -r n_p0 n_b0 n_n0 <<<"$(nodes_ctr_snmp | sum_nodes)"
in_ns c1 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(400):
    s.sendto(b"x" * 100, (sys.argv[1], 5201))
    if i % 50 == 49:
        time.sleep(0.01)
' "$VIP4"
check "SNMP VIP udp/5201 row = lbd's after the UDP burst" wait_for 5 same_svc udp 5201
read -r _ u_p1 u_b1 u_n1 <<<"$(svc_snmp "$UDP_IDX")"
check_eq "tandemVipPackets udp/5201 grew by the 400 datagrams sent" 400 $((u_p1 - u_p0))
check_eq "tandemVipBytes udp/5201 grew by 400 * (100 + 28) IP bytes" 51200 $((u_b1 - u_b0))
check_eq "tandemVipNewFlows udp/5201 grew by 1 (one client port)" 1 $((u_n1 - u_n0))
check "SNMP node counters = lbd's" wait_for 5 same_nodes
read -r n_p1 n_b1 n_n1 <<<"$(nodes_ctr_snmp | sum_nodes)"
check_eq "node rows together grew by 400 packets, 51200 bytes, 1 new flow" "400 51200 1" \
	"$((n_p1 - n_p0)) $((n_b1 - n_b0)) $((n_n1 - n_n0))"

# ---- TCP: 10 downloads of 1m.bin, each on its own connection
TCP_IDX=$(svc_lbd tcp 80 | cut -d' ' -f1)
read -r _ t_p0 t_b0 t_n0 <<<"$(svc_snmp "$TCP_IDX")"
read -r n_p0 n_b0 n_n0 <<<"$(nodes_ctr_snmp | sum_nodes)"
# downloads TAG N URL: N downloads of URL from c1 and c2 at once, each on its
# own connection; waits (40 s at most) for "CODE REQUEST_BYTES BYTES" of
# each in TEST_TMP/TAG.1..N.
downloads() {
	local tag=$1 n=$2 url=$3 i
	for ((i = 1; i <= n; i++)); do
		in_ns "c$((i % 2 + 1))" curl -gsS -m 30 -o /dev/null \
			-w '%{http_code} %{size_request} %{size_download}\n' "$url" >"$TEST_TMP/$tag.$i" 2>&1 &
	done
	dl_done() { [ "$(cat "$TEST_TMP/$tag".* 2>/dev/null | grep -c '^[0-9]* [0-9]* [0-9]*$')" = "$n" ]; }
	wait_for 40 dl_done
}
downloads dl 10 "http://$VIP4/1m.bin"
check_eq "10 downloads of 1m.bin: HTTP 200, 1 MiB each" "10 10485760" \
	"$(cat "$TEST_TMP"/dl.* | awk '$1 == 200 { n++; s += $3 } END { print n + 0, s + 0 }')"
req_bytes=$(cat "$TEST_TMP"/dl.* | awk '{ s += $2 } END { print s + 0 }')
sleep 1	# the last FIN/ACKs
check "SNMP VIP tcp/80 row = lbd's after the downloads" wait_for 5 same_svc tcp 80
read -r _ t_p1 t_b1 t_n1 <<<"$(svc_snmp "$TCP_IDX")"
dp=$((t_p1 - t_p0)) db=$((t_b1 - t_b0))
diag "tcp/80: +$dp packets, +$db bytes, +$((t_n1 - t_n0)) new flows; curl sent $req_bytes request bytes"
check_eq "tandemVipNewFlows tcp/80 grew by the 10 sessions" 10 $((t_n1 - t_n0))
check_between "tandemVipPackets tcp/80: 4..800 client packets per session" "$dp" 40 8000
expect=$((52 * dp + 8 * 10 + req_bytes))
check_between "tandemVipBytes tcp/80 = 52 * packets + 8 * SYNs + request bytes ($expect, +-120)" \
	"$db" $((expect - 120)) $((expect + 120))
check "SNMP node counters = lbd's after the downloads" wait_for 5 same_nodes
read -r n_p1 n_b1 n_n1 <<<"$(nodes_ctr_snmp | sum_nodes)"
check_eq "node rows together grew as the tcp/80 row" "$dp $db 10" \
	"$((n_p1 - n_p0)) $((n_b1 - n_b0)) $((n_n1 - n_n0))"

# ---- the session table against lbd's flows
flows_lbd() {
	jctl flows --limit 100000 | jq -r '.flows[] | select(.client | contains(".")) |
		"\(.client) \(.client_port) \(.vip) \(.port) \(if .proto == "udp" then 17 else 6 end) \(.node) \(.packets) \(.bytes)"' | sort
}
# sess_rows: "INDEX node packets bytes" of every row of the session table
sess_rows() {
	local f=$TEST_TMP/sess
	swalk tandemSessionNode | tr -d '"' | sort >"$f.node"
	swalk tandemSessionPackets | sort >"$f.pkts"
	swalk tandemSessionBytes | sort >"$f.bytes"
	join "$f.node" "$f.pkts" | join - "$f.bytes"
}
# index of an IPv4 row: 1.4.a.b.c.d.CPORT.1.4.e.f.g.h.VPORT.PROTO
flows_snmp() {
	sess_rows | awk '{ split($1, o, "."); if (o[1] != 1) next
			print o[3] "." o[4] "." o[5] "." o[6], o[7], o[10] "." o[11] "." o[12] "." o[13], o[14], o[15], $2, $3, $4 }' | sort
}
same_flows() { [ "$(flows_snmp)" = "$(flows_lbd)" ]; }
if ! check "session table (5-tuple node packets bytes) = lbd flows" wait_for 5 same_flows; then
	diag "$(diff <(flows_lbd) <(flows_snmp) | head -n 10)"
fi
check_eq "session table holds the 10 TCP sessions and the UDP one" 11 "$(flows_snmp | wc -l)"

# ---- IPv6 sessions: 4 downloads to the v6 VIP, rows indexed by 16-byte addresses
downloads dl6 4 "http://[$VIP6]/1m.bin"
check_eq "4 downloads of 1m.bin over IPv6: HTTP 200, 1 MiB each" "4 4194304" \
	"$(cat "$TEST_TMP"/dl6.* | awk '$1 == 200 { n++; s += $3 } END { print n + 0, s + 0 }')"
# "INDEX node packets bytes" of lbd's IPv6 flows, INDEX as the agent's
flows6_lbd() {
	jctl flows --limit 100000 | python3 -c '
import ipaddress, json, sys
for f in json.load(sys.stdin)["flows"]:
    if ":" not in f["client"]:
        continue
    c, v = (".".join(str(b) for b in ipaddress.ip_address(f[k]).packed) for k in ("client", "vip"))
    print("2.16.%s.%d.2.16.%s.%d.%d %s %d %d" % (c, f["client_port"], v, f["port"],
          17 if f["proto"] == "udp" else 6, f["node"], f["packets"], f["bytes"]))' | sort
}
flows6_snmp() { sess_rows | awk '$1 ~ /^2[.]16[.]/' | sort; }
same_flows6() { [ -n "$(flows6_lbd)" ] && [ "$(flows6_snmp)" = "$(flows6_lbd)" ]; }
if ! check "session table's IPv6 rows (5-tuple node packets bytes) = lbd's v6 flows" \
	wait_for 5 same_flows6; then
	diag "$(diff <(flows6_lbd) <(flows6_snmp) | head -n 10)"
fi
check_eq "the IPv6 rows are the 4 downloads" 4 "$(flows6_snmp | wc -l)"
check_eq "tandemctl flows prints them as [client]:port [vip]:80" 4 \
	"$(ctl flows | grep -Ec "^\[($C1_IP6|$C2_IP6)\]:[0-9]+ +\[$VIP6\]:80 +tcp +n[123] ")"
check_eq "tandemSwitchFlows = lbd status flows" "$(jctl status | jq -r .flows)" "$(sget tandemSwitchFlows.0)"

# ---- node down / up: table and notifications
N2_IDX=$(jctl nodes | jq -r '.nodes[] | select(.name == "n2") | .id + 1')
lab link n2 down >/dev/null
n2_is() { [ "$(sget "tandemNodeState.$N2_IDX")" = "$1" ]; }
check "n2 link down: tandemNodeState = down(2)" wait_for 10 n2_is 2
check_eq "tandemNodeLink of n2 = down(2)" 2 "$(sget "tandemNodeLink.$N2_IDX")"
# trap_has NOTIFICATION REGEX: snmptrapd logged NOTIFICATION with a varbind matching REGEX
trap_has() { grep -A8 "$1" "$TEST_TMP/traps.log" | grep -Eq -- "$2"; }
check "snmptrapd logged tandemNodeDown for n2" wait_for 5 trap_has tandemNodeDown 'tandemNodeName[.][0-9]+ = STRING: "?n2'
lab link n2 up >/dev/null
check "n2 link up: tandemNodeState = up(1)" wait_for 15 n2_is 1
check "snmptrapd logged tandemNodeUp for n2" wait_for 5 trap_has tandemNodeUp 'tandemNodeName[.][0-9]+ = STRING: "?n2'

# ---- role change (what tandem-failover's notify hook sends lbd)
lbd_role() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(("{\"cmd\":\"role\",\"role\":\"%s\"}\n" % sys.argv[2]).encode()); print(s.recv(4096).decode().strip())' \
		"$LBD_SOCK" "$1"
}
role_is() { [ "$(sget tandemSwitchRole.0)" = "$1" ]; }
lbd_role backup >/dev/null
check "lbd role backup: tandemSwitchRole = backup(4)" wait_for 5 role_is 4
lbd_role master >/dev/null
check "lbd role master: tandemSwitchRole = master(3)" wait_for 5 role_is 3
check "snmptrapd logged tandemFailover to master" wait_for 5 trap_has tandemFailover 'tandemSwitchRole.0 = INTEGER: master'

# ---- snmpd killed and restarted
kill -KILL "$SNMPD_PID"
wait "$SNMPD_PID" 2>/dev/null
rm -f "$TEST_TMP/snmpd.pid"
snmpd_down() { ! in_ns sw snmpget "${SNMP[@]}" -On .1.3.6.1.2.1.1.3.0 >/dev/null 2>&1; }
check "snmpd killed: no answer" snmpd_down
sleep 2
snmpd_start
snmpd_up() { in_ns sw snmpget "${SNMP[@]}" -On .1.3.6.1.2.1.1.3.0 >/dev/null 2>&1; }
wait_for 10 snmpd_up
t0=$(now_ms)
if check "after the restart the agent is back in snmpd's tree" wait_for 10 agent_sees; then
	check_le "back within 3000 ms of snmpd answering" $(($(now_ms) - t0)) 3000
fi
check "tandem-agentx still running" kill -0 "$AGENTX_PID"
diag "notifications the agent sent: $(grep -c 'notification name=' "$TEST_TMP/agentx.log")"

finish
