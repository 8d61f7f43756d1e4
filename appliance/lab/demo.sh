#!/bin/bash
# make demo: a narrated tour of Tandem in the network-namespace lab.
#
#   c1, c2 (clients) --- client LAN --- [switch: tandem-lbd + BPF on eth0] --- storage LAN --- n1 n2 n3
#                                        VIP 10.77.1.100 / fd77:1::100          nginx :80, iperf3 :5201
#
# Brings up lab "demo" (DEMO_PREFIX or DEMO_LAB: demo-lib.sh), starts lbd
# and beside it the web console (demo-console.sh: slapd, tandem-webd, a
# forward from the host's 127.0.0.1:DEMO_CONSOLE_PORT) and SNMP
# (demo-snmp.sh: snmpd, tandem-agentx, snmptrapd), spreads new connections
# over the nodes, keeps a long download and an iperf3 run going while a node
# fails its health check, comes back, and another is drained, checks the
# long download's sha256, walks TANDEM-MIB and catches the trap of a node
# going down; then the pair (demo-pair.sh) and the storage nodes
# (demo-handoff.sh), and leaves the labs up for exploring (make demo-down
# removes them).  Needs root, jq and a build (make).  Exit status: 0 all
# checks held, 1 not.
set -eu

HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TANDEM_BUILD=${TANDEM_BUILD:-$REPO/build}
export TANDEM_BUILD
LAB=$HERE/lab.sh
TANDEMCTL=$TANDEM_BUILD/tandemctl
PROBLEMS=0

# shellcheck source=demo-lib.sh
. "$HERE/demo-lib.sh"
NAME=$DEMO_MAIN_LAB
# shellcheck source=demo-console.sh
. "$HERE/demo-console.sh"
# shellcheck source=demo-snmp.sh
. "$HERE/demo-snmp.sh"

# ctl ARGS: tandemctl against the lab's lbd; showctl also prints the command.
ctl() { timeout 10 "$TANDEMCTL" -s "$LBD_SOCK" "$@"; }
showctl() {
	printf '\n%s$ tandemctl %s%s\n' "$D" "$*" "$N"
	ctl "$@"
}
jctl() { ctl --json "$@"; }

ns() {
	local h=$1
	shift
	ip netns exec "tdm-$NAME-$h" "$@"
}

# ---------------------------------------------------------------- helpers --

# all_nodes_healthy: every node up, every health check ok.
all_nodes_healthy() {
	jctl nodes | jq -e '[.nodes[] | .state == "up" and all(.health[]?; .ok)] | all' >/dev/null
}

# node_healthy NODE / node_http_down NODE: NODE's tcp/80 check is ok / failing.
node_healthy() {
	jctl nodes | jq -e --arg n "$1" \
		'.nodes[] | select(.name == $n) | .state == "up" and all(.health[]?; .ok)' >/dev/null
}
node_http_down() {
	jctl nodes | jq -e --arg n "$1" '.nodes[] | select(.name == $n) |
		.state != "up" or any(.health[]?; (.service | tostring | test("/80$")) and .ok == false)' >/dev/null
}

# requests N [URL]: N new connections, alternately from c1 and c2; tally by node.
declare -A TALLY
requests() {
	local n=$1 url=${2:-http://$VIP4/node} i h r line=""
	TALLY=([n1]=0 [n2]=0 [n3]=0 [failed]=0)
	for ((i = 0; i < n; i++)); do
		h=c$((i % 2 + 1))
		r=$(ns "$h" curl -fsS --max-time 3 "$url" 2>/dev/null) || r=failed
		case "$r" in n1 | n2 | n3) ;; *) r=failed ;; esac
		TALLY[$r]=$((TALLY[$r] + 1))
	done
	for r in n1 n2 n3; do
		line="$line$r: ${TALLY[$r]}   "
	done
	say "$n requests to $url (c1 and c2 in turn, a new connection each):"
	say "  $line failed: ${TALLY[failed]}"
	[ "${TALLY[failed]}" -eq 0 ] || bad "${TALLY[failed]} request(s) failed"
}

# client_ports HOST VIPADDR PORT: local ports of HOST's connections to VIP:PORT.
client_ports() {
	ns "$1" ss -Htn state established "( dst $2 and dport = :$3 )" | awk '{ n = split($3, a, ":"); print a[n] }'
}

# flow_node CLIENT PORT VIPPORT: the node lbd's flow table holds for the flow.
flow_node() {
	jctl flows --vip v4 | jq -r --arg c "$1" --argjson p "$2" --argjson vp "$3" \
		'[.flows[] | select(.client == $c and .client_port == $p and .port == $vp) | .node][0] // empty'
}

flow_known() { [ -n "$(flow_node "$@")" ]; }
long_connected() { [ -n "$(client_ports c1 "$VIP4" 80)" ]; }
long_flow_known() { [ -n "$(flow_node "$C1_IP4" "$LONG_PORT" 80)" ]; }
iperf_connected() { [ "$(client_ports c2 "$VIP4" 5201 | wc -l)" -ge 2 ]; }

# long_progress: how far the long download got, and its flow-table entry.
long_progress() {
	local sz f
	sz=$(stat -c %s "$DEMO_DIR/long.bin" 2>/dev/null || echo 0)
	if kill -0 "$LONG_PID" 2>/dev/null; then
		say "long download: $((sz / 1024)) KiB of 10240 so far, still flowing from $LONG_NODE"
	else
		say "long download: finished ($((sz / 1024)) KiB)"
	fi
	f=$(jctl flows --vip v4 --node "$LONG_NODE" | jq -r --arg c "$C1_IP4" --argjson p "$LONG_PORT" \
		'.flows[] | select(.client == $c and .client_port == $p and .port == 80) |
		"\(.client):\(.client_port) -> \(.vip):\(.port) on \(.node): \(.packets) packets, \(.bytes) bytes"' 2>/dev/null) || true
	[ -z "$f" ] || say "  its flow: $f"
}

# start_iperf: iperf3 -t 10 from c2 through the VIP.  iperf3 opens a control
# and a data connection; the 5201 services have "affinity": "client" in the
# lab's config (the Maglev hash ignores the client port), so both land on one
# node.  Returns 1 if iperf3 does not connect or its connections are split.
start_iperf() {
	local ports p nodes=""
	ip netns exec "$NS_C2" iperf3 -c "$VIP4" -t 10 -f m --forceflush >"$DEMO_DIR/iperf3.out" 2>&1 &
	IPERF_PID=$!
	if ! wait_ms 5000 iperf_connected; then
		bad "iperf3 did not open its two connections within 5 s: $(tail -n 2 "$DEMO_DIR/iperf3.out")"
		kill "$IPERF_PID" 2>/dev/null || true
		wait "$IPERF_PID" 2>/dev/null || true
		IPERF_PID=""
		return 1
	fi
	ports=$(client_ports c2 "$VIP4" 5201)
	for p in $ports; do
		wait_ms 2000 flow_known "$C2_IP4" "$p" 5201 || true
		nodes="$nodes $(flow_node "$C2_IP4" "$p" 5201)"
	done
	# shellcheck disable=SC2086
	nodes=$(printf '%s\n' $nodes | sort -u | paste -sd' ')
	if [ "$(wc -w <<<"$nodes")" -ne 1 ]; then
		bad "iperf3's control and data connections went to different nodes (${nodes:-?}) despite client affinity"
		return 1
	fi
	IPERF_NODE=$nodes
	good "iperf3 control and data connections both on $IPERF_NODE (client affinity)"
}

# ------------------------------------------------------------------- main --

[ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
command -v jq >/dev/null || die "needs jq (apt-get install jq)"
if [ ! -x "$TANDEM_BUILD/tandem-lbd" ] || [ ! -x "$TANDEMCTL" ]; then
	die "no build in $TANDEM_BUILD: run make"
fi

section "1. The lab: $NAME"
"$LAB" down "$NAME"
"$LAB" up "$NAME"
# shellcheck disable=SC1090
. "/run/tandem-lab/$NAME/env"
DEMO_DIR=$LAB_DIR/demo
mkdir -p "$DEMO_DIR"
cat <<EOF
   c1 $C1_IP4, c2 $C2_IP4  --client LAN--  switch (VIP $VIP4, $VIP6)
                                           --storage LAN--  n1 $N1_IP4  n2 $N2_IP4  n3 $N3_IP4
   Each node holds the VIP on lo and answers clients directly (direct server
   return); only client->VIP packets cross the switch's BPF program.
EOF

section "2. Start tandem-lbd in the switch; the console and SNMP beside it"
"$LAB" lbd-start "$NAME"
# The console (slapd, tandem-webd, the forward) and SNMP (snmpd, snmptrapd,
# tandem-agentx) start in the background; section 11 walks the MIB.
CONSOLE_PID=""
if console_port_free; then
	console_start
else
	bad "127.0.0.1:$DEMO_CONSOLE_PORT is taken on this machine: no console (DEMO_CONSOLE_PORT=N picks another port)"
fi
snmp_start
if wait_ms 10000 all_nodes_healthy; then
	good "health checks: all nodes up"
else
	bad "not every node passed its health checks within 10 s"
fi
showctl status
showctl nodes
if [ -n "$CONSOLE_PID" ]; then
	if console_wait; then
		say ""
		say "The web console (tandem-webd) is up for this lab, from this machine:"
		say "  console: $(console_url)"
		say "  user admin, password $CONSOLE_PW  (a demo directory in slapd; the password is new for each run)"
		say "  the certificate is signed by this lab's CA: $LAB_DIR/console/ca.crt"
		say "  (from another machine: ssh -L $DEMO_CONSOLE_PORT:127.0.0.1:$DEMO_CONSOLE_PORT this-host)"
		console_check || true
	else
		bad "the console did not start: $(tail -n 2 "$LAB_DIR/console/start.log")"
	fi
fi

section "3. Load balancing: new connections spread over the nodes"
requests 30
for n in n1 n2 n3; do
	[ "${TALLY[$n]}" -gt 0 ] || bad "$n served nothing"
done
requests 10 "http://[$VIP6]/node"

section "4. Long-lived sessions: a slow download and an iperf3 run"
ip netns exec "$NS_C1" curl -sS --max-time 60 -o "$DEMO_DIR/long.bin" "http://$VIP4/slow/10m.bin" \
	2>"$DEMO_DIR/long.err" &
LONG_PID=$!
LONG_NODE=""
if wait_ms 5000 long_connected; then
	LONG_PORT=$(client_ports c1 "$VIP4" 80 | head -n 1)
	wait_ms 2000 long_flow_known || true
	LONG_NODE=$(flow_node "$C1_IP4" "$LONG_PORT" 80)
fi
[ -n "$LONG_NODE" ] || die "cannot find the long download's flow (tandemctl flows)"
say "c1 fetches /slow/10m.bin (1 MiB/s, about 10 s) from port $LONG_PORT: lbd sent it to $LONG_NODE"
IPERF_NODE=""
start_iperf || true
showctl flows --vip v4 --limit 10

# The victim: a node serving neither long-lived session, if there is one.
VICTIM=""
for n in n1 n2 n3; do
	[ "$n" != "$LONG_NODE" ] || continue
	[ -n "$VICTIM" ] || VICTIM=$n
	if [ "$n" != "$IPERF_NODE" ]; then
		VICTIM=$n
		break
	fi
done

section "5. Health check: stop nginx on $VICTIM (not serving the long download)"
"$LAB" node-stop "$NAME" "$VICTIM" nginx
t0=$(now_ms)
if wait_ms 10000 node_http_down "$VICTIM"; then
	good "lbd marked $VICTIM's tcp/80 down after $(($(now_ms) - t0)) ms (interval 300 ms, fall 2)"
else
	bad "lbd did not notice $VICTIM's nginx is gone within 10 s"
fi
showctl nodes
requests 30
if [ "${TALLY[$VICTIM]}" -eq 0 ]; then
	good "no new session went to $VICTIM"
else
	bad "${TALLY[$VICTIM]} new session(s) went to $VICTIM"
fi
long_progress

section "6. $VICTIM recovers"
"$LAB" node-start "$NAME" "$VICTIM" nginx
t0=$(now_ms)
if wait_ms 10000 node_healthy "$VICTIM"; then
	good "$VICTIM back in service after $(($(now_ms) - t0)) ms (rise 2)"
else
	bad "$VICTIM not healthy again within 10 s"
fi
requests 30
[ "${TALLY[$VICTIM]}" -gt 0 ] || say "($VICTIM got none this time: hashing is random per connection)"

section "7. Drain $LONG_NODE: no new sessions, its sessions stay"
showctl drain "$LONG_NODE"
requests 30
if [ "${TALLY[$LONG_NODE]}" -eq 0 ]; then
	good "no new session went to the drained $LONG_NODE"
else
	bad "${TALLY[$LONG_NODE]} new session(s) went to the drained $LONG_NODE"
fi
long_progress
showctl flows --node "$LONG_NODE" --limit 5

section "8. Flows and counters"
showctl flows --limit 10
showctl stats

section "9. Integrity of the long-lived sessions"
say "waiting for the long download to finish..."
if wait "$LONG_PID"; then
	want=$(awk '$2 == "10m.bin" { print $1 }' "$LAB_WWW/SHA256SUMS")
	got=$(sha256sum <"$DEMO_DIR/long.bin" | cut -d' ' -f1)
	if [ "$want" = "$got" ]; then
		good "10m.bin via the VIP from $LONG_NODE: sha256 $got matches"
	else
		bad "10m.bin sha256 $got, expected $want"
	fi
else
	bad "the long download failed: $(cat "$DEMO_DIR/long.err")"
fi
if [ -n "$IPERF_PID" ]; then
	if wait "$IPERF_PID"; then
		grep -E 'sender|receiver' "$DEMO_DIR/iperf3.out" | sed 's/^/   /'
		good "iperf3 -t 10 through the VIP to $IPERF_NODE completed"
	else
		bad "iperf3 failed: $(tail -n 2 "$DEMO_DIR/iperf3.out")"
	fi
fi

section "10. Undrain $LONG_NODE"
showctl undrain "$LONG_NODE"
showctl nodes

section "11. SNMP: TANDEM-MIB through snmpd, a trap when a node goes down"
snmp_section n2 || true

if [ "${DEMO_PAIR:-1}" = 1 ]; then
	"$HERE/demo-pair.sh" || PROBLEMS=$((PROBLEMS + 1))
fi
if [ "${DEMO_HANDOFF:-1}" = 1 ]; then
	"$HERE/demo-handoff.sh" || PROBLEMS=$((PROBLEMS + 1))
fi

section "Explore"
if [ "$NAME" = "$DEMO_PREFIX" ]; then
	DOWN="make demo-down$([ "$NAME" = demo ] || echo " DEMO_PREFIX=$NAME")      (removes the three labs, the console's forward)"
else DOWN="appliance/lab/demo-down.sh $NAME        (removes the lab, the console's forward)"; fi
cat <<EOF
   The lab stays up.  Try:
     appliance/lab/lab.sh shell $NAME c1          then: curl http://$VIP4/node
     build/tandemctl -s $LBD_SOCK flows
     build/tandemctl -s $LBD_SOCK nodes
     appliance/lab/lab.sh node-stop $NAME n2 nginx   (and node-start)
     appliance/lab/lab.sh link $NAME n3 down         (and up)
     less $LBD_LOG
     ip netns exec $NS_SW snmpwalk -v2c -c tandem -M +$DEMO_SNMP_MIBS -m TANDEM-MIB 127.0.0.1:16161 TANDEM-MIB::tandemNodeTable
     $DOWN
EOF
if [ -n "$CONSOLE_PID" ]; then
	say ""
	say "The web console of lab $NAME: $(console_url)  user admin, password $CONSOLE_PW"
	say "  (CA certificate $LAB_DIR/console/ca.crt; the password is also in $LAB_DIR/console/admin.pw)"
fi
if [ "$PROBLEMS" -eq 0 ]; then
	printf '\n%sdemo: all checks held%s\n' "$G" "$N"
else
	printf '\n%sdemo: %d problem(s), see above%s\n' "$R" "$PROBLEMS" "$N"
	exit 1
fi
