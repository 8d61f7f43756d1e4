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
# peer alive and synced; switch a killed hard (`switch-stop a hard`): B's
# agent shows master(3), snmptrapd logs tandemFailover with role master and
# tandemSyncLost (the peer is gone).
#
# Not here: keepalived's own VRRP MIB beside ours (needs keepalived's
# enable_snmp_vrrp in failover/genconf.c: see doc/snmp.md).
. "$(dirname "$0")/lib.sh"

require_pair
require_cmd snmpd snmptrapd snmpget
AGENTX=$TANDEM_BUILD/tandem-agentx
[ -x "$AGENTX" ] || skip_all "no $AGENTX (run make)"

MIBPATH="$REPO/snmp:$REPO/snmp/mibs"
SNMP=(-v2c -c tandem -t 1 -r 1 -M "+$MIBPATH" -m TANDEM-MIB udp:127.0.0.1:16161)
export SNMP_PERSISTENT_DIR=$TEST_TMP/persist MIBS=
mkdir -p "$SNMP_PERSISTENT_DIR"

pair_up

cat >"$TEST_TMP/snmpd.conf" <<CONF
master agentx
agentXSocket $TEST_TMP/agentx.sock
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
ip netns exec "$NS_SWB" "$AGENTX" -f -s "$LBD_SOCK_B" -y "$SYNCD_SOCK_B" -x "$TEST_TMP/agentx.sock" \
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

sw_stop a hard
check "a killed: B's agent shows tandemSwitchRole = master(3)" wait_for 15 is tandemSwitchRole.0 3
check "snmptrapd logged tandemFailover to master" wait_for 5 trap_has tandemFailover \
	'tandemSwitchRole.0 = INTEGER: master'
check "a killed: tandemSyncPeerState = peerDown(3)" wait_for 15 is tandemSyncPeerState.0 3
check "snmptrapd logged tandemSyncLost" wait_for 5 trap_has tandemSyncLost 'tandemSyncPeerState.0 = INTEGER'
check "tandem-agentx still running" kill -0 "$AGENTX_PID"

finish
