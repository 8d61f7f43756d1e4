#!/bin/bash
# t_drain: drain/undrain a node, and migrate a node's flows to another.
#
#   c1, c2 --- brc --- eth0 [sw: lbd]
#                            br1 --- p1 --- n1   nginx :80, UDP listener on
#                                |-- p2 --- n2   VIP:5201 (python3, logs every
#                                +-- p3 --- n3   datagram with its source)
#
#   Drain (TCP):
#   1. a slow download (/slow/10m.bin, ~10 s) through the VIP on node X;
#   2. `tandemctl drain X`: `tandemctl nodes` shows DRAIN yes, X leaves the
#      v4 tcp/80 table, 60 new sessions all succeed and avoid X;
#   3. the download on X goes on and completes sha256-correct;
#   4. `tandemctl undrain X`: X back in the table, new sessions reach it.
#   Migrate (UDP, so that re-pointing breaks no TCP session):
#   5. c1 and c2 send datagrams to VIP:5201 from 4 fixed ports each (8 UDP
#      flows; the service has client affinity: one node per client);
#   6. `tandemctl migrate --node X --to Y` (X: c1's node): moved = the flows
#      `tandemctl flows --node X` listed before; afterwards X has none and
#      each of them shows node Y and flag "migrated";
#   7. datagrams sent after the migrate on those flows arrive at Y, none at X;
#   8. one flow moved by 5-tuple (`migrate C:P VIP:P TO --proto udp`) too.
# t_drain_v6 runs this file again over IPv6 (FAMILY=6): the clients' v6
# addresses to the v6 VIP (tcp/80, udp/5201), the 5-tuple as [C]:P [VIP]:P.
. "$(dirname "$0")/lib.sh"

require_cmd python3 ss
lab_lbd_up
FAMILY=${FAMILY:-4}
if [ "$FAMILY" = 6 ]; then
	VN=v6 VIP=$VIP6 BASE="http://[$VIP6]" CIP1=$C1_IP6 CIP2=$C2_IP6
else
	VN=v4 VIP=$VIP4 BASE="http://$VIP4" CIP1=$C1_IP4 CIP2=$C2_IP4
fi
# hp ADDR PORT: ADDR:PORT, the address in brackets when it is IPv6
hp() { case $1 in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac; }

# ---- drain
long_begin long c1 "$BASE" /slow/10m.bin
X=$LONG_NODE long_pid=$LONG_PID long_file=$LONG_FILE port=$LONG_PORT

check "tandemctl drain $X" ctl drain "$X"
check_eq "tandemctl nodes: $X DRAIN yes" yes "$(ctl nodes | awk -v n="$X" '$1 == n { print $7 }')"
check "--json nodes: $X drain true, state still up" node_is "$X" '.drain == true and .state == "up"'
check_eq "drained $X left the $VN tcp/80 table" 2 "$(svc_nodes "$VN" tcp 80)"
sessions "$TEST_TMP/drained" 60 "$BASE"
read -r -a t < <(tally "$TEST_TMP/drained")
diag "60 sessions with $X drained: n1 ${t[0]}, n2 ${t[1]}, n3 ${t[2]}, failed ${t[3]}"
check_eq "60 new sessions all succeed" 0 "${t[3]}" || diag "$(sessions_fail_lines "$TEST_TMP/drained")"
check_eq "60 new sessions: none on drained $X" 0 "${t[${X#n} - 1]}"
check_eq "the download's flow stays on $X" "$X" "$(flow_node "$CIP1" "$port" 80)"
s0=$(file_size "$long_file")
grown() { [ "$(file_size "$long_file")" -ge $((s0 + 256 * 1024)) ]; }
check "the download on drained $X keeps flowing ($s0 bytes, growing)" wait_for 5 grown

check "tandemctl undrain $X" ctl undrain "$X"
check "--json nodes: $X drain false" node_is "$X" '.drain == false'
check_eq "undrained $X back in the $VN tcp/80 table" 3 "$(svc_nodes "$VN" tcp 80)"
sessions "$TEST_TMP/undrained" 60 "$BASE"
read -r -a t < <(tally "$TEST_TMP/undrained")
diag "60 sessions after undrain: n1 ${t[0]}, n2 ${t[1]}, n3 ${t[2]}, failed ${t[3]}"
check_eq "60 new sessions all succeed" 0 "${t[3]}" || diag "$(sessions_fail_lines "$TEST_TMP/undrained")"
# P(X gets none of 60 | share 1/3) = (2/3)^60 ~ 3e-11.
check "undrained $X gets new sessions again (${t[${X#n} - 1]} of 60)" test "${t[${X#n} - 1]}" -gt 0

long_check "slow download on drained $X completed, sha256-correct" \
	"$long_pid" "$long_file" 10m.bin 30

# ---- migrate (UDP)
# A UDP listener on VIP:5201 in each node: one line per datagram,
# "SRC_IP SRC_PORT PAYLOAD"; it ends by itself after 120 s.
# shellcheck disable=SC2016
UDP_LISTEN='
import socket, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5201))
s.settimeout(0.5)
end = time.time() + 120
with open(sys.argv[2], "a") as f:
    while time.time() < end:
        try:
            data, src = s.recvfrom(2048)
        except socket.timeout:
            continue
        f.write("%s %d %s\n" % (src[0], src[1], data.decode(errors="replace")))
        f.flush()
'
# UDP_SEND SRC_IP PORTS SEQ: one datagram "SEQ" from each of SRC_IP:PORT (comma list).
UDP_SEND='
import socket, sys
for p in sys.argv[2].split(","):
    s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], int(p)))
    s.sendto(sys.argv[3].encode(), ("'"$VIP"'", 5201))
    s.close()
'
for n in n1 n2 n3; do
	: >"$TEST_TMP/udp.$n"
	# (in a subshell: not a job of ours, so no "Terminated" when lab down ends it)
	(in_ns "$n" timeout 130 python3 -c "$UDP_LISTEN" "$VIP" "$TEST_TMP/udp.$n" 2>/dev/null &)
done
udp_listening() { listening_udp n1 && listening_udp n2 && listening_udp n3; }
listening_udp() { [ -n "$(in_ns "$1" ss -Hlnu "sport = :5201")" ]; }
check "UDP listeners on VIP:5201 in n1..n3" wait_for 10 udp_listening

P1=41001,41002,41003,41004 P2=42001,42002,42003,42004
send_all() {
	in_ns c1 python3 -c "$UDP_SEND" "$CIP1" "$P1" "$1" &&
		in_ns c2 python3 -c "$UDP_SEND" "$CIP2" "$P2" "$1"
}
# got SEQ: how many datagrams with payload SEQ the three listeners logged.
got() { cat "$TEST_TMP"/udp.n[123] | awk -v s="$1" '$3 == s' | wc -l; }
# where IP PORT SEQ: the node(s) that logged datagram SEQ from IP:PORT.
where() {
	local n
	for n in n1 n2 n3; do
		awk -v i="$1" -v p="$2" -v s="$3" '$1 == i && $2 == p && $3 == s { f = 1 } END { exit !f }' \
			"$TEST_TMP/udp.$n" && echo "$n"
	done | paste -sd,
}
got_all() { [ "$(got "$1")" -eq 8 ]; }

send_all 1
check "8 datagrams (seq 1) reach the nodes" wait_for 5 got_all 1
c1_nodes=$(for p in ${P1//,/ }; do where "$CIP1" "$p" 1; done | sort -u | paste -sd' ')
c2_nodes=$(for p in ${P2//,/ }; do where "$CIP2" "$p" 1; done | sort -u | paste -sd' ')
diag "UDP flows: c1 -> $c1_nodes, c2 -> $c2_nodes"
check "client affinity: c1's 4 UDP flows on one node ($c1_nodes)" test "$(wc -w <<<"$c1_nodes")" = 1
check "client affinity: c2's 4 UDP flows on one node ($c2_nodes)" test "$(wc -w <<<"$c2_nodes")" = 1
X=$c1_nodes
for Y in n1 n2 n3; do [ "$Y" = "$X" ] || break; done
lbd_nodes=$(for p in ${P1//,/ }; do flow_node "$CIP1" "$p" 5201 udp; done | paste -sd' ')
check_eq "lbd lists c1's 4 UDP flows on $X" "$X $X $X $X" "$lbd_nodes"

# Migrate X -> Y.
jctl flows --node "$X" --limit 100000 >"$TEST_TMP/before.json"
before=$(jq -r .total "$TEST_TMP/before.json")
jq -r '.flows[] | "\(.proto) \(.client) \(.client_port) \(.port)"' "$TEST_TMP/before.json" |
	sort >"$TEST_TMP/before.keys"
diag "$X holds $before flow(s) before the migrate ($(grep -c '^udp' "$TEST_TMP/before.keys") UDP)"
moved=$(jctl migrate --node "$X" --to "$Y" | jq -r .moved)
check_eq "migrate --node $X --to $Y: moved = flows listed for $X before" "$before" "$moved"
check_eq "$X has no flows left" 0 "$(jctl flows --node "$X" | jq -r .total)"
jctl flows --limit 100000 | jq -r --arg y "$Y" '.flows[] |
	select(.node == $y and (.flags | index("migrated"))) |
	"\(.proto) \(.client) \(.client_port) \(.port)"' | sort >"$TEST_TMP/after.keys"
if diff -u "$TEST_TMP/before.keys" "$TEST_TMP/after.keys" >"$TEST_TMP/mig.diff"; then
	ok "every flow listed on $X before now shows node $Y and flag migrated"
else
	fail "every flow listed on $X before now shows node $Y and flag migrated" \
		"$(head -n 12 "$TEST_TMP/mig.diff")"
fi

send_all 2
check "8 datagrams (seq 2) reach the nodes" wait_for 5 got_all 2
bad=""
while read -r proto ip p _; do
	[ "$proto" = udp ] || continue
	w=$(where "$ip" "$p" 2)
	[ "$w" = "$Y" ] || bad="$bad $ip:$p->${w:-nowhere}"
done <"$TEST_TMP/before.keys"
check_eq "after the migrate, datagrams of the moved flows arrive at $Y (not $X)" "" "$bad"
check_eq "$X logged no datagram after the migrate" 0 "$(awk '$3 == 2' "$TEST_TMP/udp.$X" | wc -l)"

# One flow by 5-tuple: c2's first port, to a node other than its current one.
cur=$(flow_node "$CIP2" 42001 5201 udp)
for W in n3 n2 n1; do [ "$W" = "$cur" ] || break; done
out=$(ctl migrate "$(hp "$CIP2" 42001)" "$(hp "$VIP" 5201)" "$W" --proto udp 2>&1)
check "migrate $(hp "$CIP2" 42001) $(hp "$VIP" 5201) $W --proto udp ($out)" test $? = 0
check_eq "that flow now on $W" "$W" "$(flow_node "$CIP2" 42001 5201 udp)"
send_all 3
check "8 datagrams (seq 3) reach the nodes" wait_for 5 got_all 3
check_eq "c2:42001's next datagram arrives at $W" "$W" "$(where "$CIP2" 42001 3)"
check_eq "c2:42002 (not moved) stays on $cur" "$cur" "$(where "$CIP2" 42002 3)"
rc=0
ctl migrate "$(hp "$CIP2" 42999)" "$(hp "$VIP" 5201)" "$W" --proto udp >/dev/null 2>&1 || rc=$?
check_eq "migrate of a flow that does not exist: exit 1" 1 "$rc"

finish
