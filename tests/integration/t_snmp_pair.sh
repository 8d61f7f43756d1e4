#!/bin/bash
# t_snmp_pair: tandem-agentx on the backup switch of a pair: sync objects,
# and the notifications of a takeover.
#
#        clients --- brc ---+------------------+
#                           |                  |
#                    [swa] master         [swb] backup
#                    lbd syncd keepalived  lbd syncd keepalived
#                           |  ==sync==        |   + snmpd (master agentx, 127.0.0.1:16161)
#                           |                  |   + tandem-agentx -s lbd -y syncd
#                           +---- brs ---------+   + snmptrapd (127.0.0.1:16162)
#                                  n1 n2 n3
#
# Checked: B's agent shows role backup(4), tandemSyncPeerState synced(5),
# peer alive and synced; keepalived's VRRP MIB beside ours in the same
# snmpd (the lab's vrrp.snmp_socket: tandem-failover writes
# enable_snmp_vrrp/enable_snmp_rfcv3 and snmp_socket into keepalived.conf):
# both VRRP instances backup; switch a killed hard (`switch-stop a hard`):
# B's agent shows master(3), keepalived's instances master(2), snmptrapd
# logs tandemFailover with role master and tandemSyncLost (the peer is gone).
. "$(dirname "$0")/lib.sh"

require_pair
require_cmd snmpd snmptrapd snmpget snmpwalk
AGENTX=$TANDEM_BUILD/tandem-agentx
[ -x "$AGENTX" ] || skip_all "no $AGENTX (run make)"

MIBPATH="$REPO/snmp:$REPO/snmp/mibs"
SNMP=(-v2c -c tandem -t 1 -r 1 -M "+$MIBPATH" -m TANDEM-MIB udp:127.0.0.1:16161)
export SNMP_PERSISTENT_DIR=$TEST_TMP/persist MIBS=
mkdir -p "$SNMP_PERSISTENT_DIR"

pair_up

# the AgentX socket the lab configured for keepalived (vrrp.snmp_socket)
AXS=$LAB_DIR/sw-b/agentx.sock
cat >"$TEST_TMP/snmpd.conf" <<CONF
master agentx
agentXSocket $AXS
agentaddress udp:127.0.0.1:16161
rocommunity tandem 127.0.0.1
trap2sink 127.0.0.1:16162 tandem
CONF
echo "authCommunity log tandem" >"$TEST_TMP/snmptrapd.conf"
ip netns exec "$NS_SWB" snmpd -f -C -c "$TEST_TMP/snmpd.conf" -Lf "$TEST_TMP/snmpd.log" \
	-p "$TEST_TMP/snmpd.pid" </dev/null >/dev/null 2>&1 &
at_exit "kill $!"
ip netns exec "$NS_SWB" snmptrapd -f -n -C -c "$TEST_TMP/snmptrapd.conf" -M "+$MIBPATH" -m TANDEM-MIB \
	-Lf "$TEST_TMP/traps.log" udp:127.0.0.1:16162 </dev/null >/dev/null 2>&1 &
at_exit "kill $!"
ip netns exec "$NS_SWB" "$AGENTX" -f -s "$LBD_SOCK_B" -y "$SYNCD_SOCK_B" -x "$AXS" \
	-i 1 </dev/null >"$TEST_TMP/agentx.log" 2>&1 &
AGENTX_PID=$!
at_exit "kill $AGENTX_PID"

sget() { ip netns exec "$NS_SWB" snmpget "${SNMP[@]}" -OqveU "$@" 2>/dev/null; }
is() { [ "$(sget "$1")" = "$2" ]; }
trap_has() { grep -A8 "$1" "$TEST_TMP/traps.log" | grep -Eq -- "$2"; }

if ! check "B's agent: tandemSwitchRole = backup(4)" wait_for 20 is tandemSwitchRole.0 4; then
	diag "$(tail -n 20 "$TEST_TMP/agentx.log")"
	finish
fi
check "B's agent: tandemSyncPeerState = synced(5)" wait_for 10 is tandemSyncPeerState.0 5
check_eq "tandemSyncPeerAlive, tandemSyncSynced = true(1)" "1 1" \
	"$(sget tandemSyncPeerAlive.0 tandemSyncSynced.0 | paste -sd' ')"
check_eq "tandemSyncRxFlows = syncd rx.flows" "$(sy_get b .rx.flows)" "$(sget tandemSyncRxFlows.0)"
# keepalived (started before snmpd) retries its AgentX connection on its own
# KEEPALIVED-MIB by number (Debian ships it, but not the IETF MIBs it
# imports): vrrpInstanceEntry = enterprises.9586.100.5.2.3.1, .2 name,
# .4 state (VrrpState: backup(1), master(2))
KA=(-v2c -c tandem -t 1 -r 1 -m "" udp:127.0.0.1:16161)
KI=.1.3.6.1.4.1.9586.100.5.2.3.1
ka_states() {
	ip netns exec "$NS_SWB" snmpwalk "${KA[@]}" -Oqv "$KI.4" 2>/dev/null |
		sed 's/^1$/backup/; s/^2$/master/' | sort | paste -sd' '
}
ka_are() { [ "$(ka_states)" = "$1" ]; }
check "keepalived's VRRP MIB in the same snmpd: both instances backup" wait_for 40 ka_are "backup backup" ||
	diag "vrrpInstanceState: '$(ka_states)'"
check_eq "instance names client and storage (vrrpInstanceName)" "client storage" \
	"$(ip netns exec "$NS_SWB" snmpwalk "${KA[@]}" -Oqv "$KI.2" 2>/dev/null | tr -d '"' | sort | paste -sd' ')"

sw_stop a hard
check "a killed: B's agent shows tandemSwitchRole = master(3)" wait_for 15 is tandemSwitchRole.0 3
check "snmptrapd logged tandemFailover to master" wait_for 5 trap_has tandemFailover \
	'tandemSwitchRole.0 = INTEGER: master'
check "a killed: tandemSyncPeerState = peerDown(3)" wait_for 15 is tandemSyncPeerState.0 3
check "snmptrapd logged tandemSyncLost" wait_for 5 trap_has tandemSyncLost 'tandemSyncPeerState.0 = INTEGER'
check "keepalived's MIB: both instances master" wait_for 10 ka_are "master master" ||
	diag "vrrpInstanceState: '$(ka_states)'"
check "tandem-agentx still running" kill -0 "$AGENTX_PID"

finish
