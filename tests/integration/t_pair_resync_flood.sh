#!/bin/bash
# t_pair_resync_flood: a bulk resync finishes while the data plane keeps
# losing flow events (a sustained flood overflowing the event ring), and
# pinned flows reach the peer.
#
#   c1 c2 ---------- brc (client LAN) --------+
#                    |                        |
#             eth0 [swa] ==eth2 sync== [swb] eth0
#                   ^ lostgen: events_lost +1 every 20 ms (what the data
#                     plane does when its ring is full), for 40 s
#             eth1   |                        |   eth1
#                    +------ brs -------------+
#                         n1 n2 n3
#
#   1. A (master) and B (backup) in sync; 150000 flows written straight
#      into A's table (flowgen fill: no events, so only a resync carries
#      them to B);
#   2. lostgen on A's verdict map: every move of events_lost asks A's syncd
#      for a resync.  The resync it starts runs to its end although losses
#      keep coming (they are coalesced into one more walk: resyncs.coalesced
#      grows), walk after walk: B receives complete resyncs
#      (resyncs.received grows) and holds all 150000 flows, while lostgen
#      still runs;
#   3. a flow (flowgen: one SYN through A's program) re-pointed on A
#      (tandemctl migrate --repoint) is pinned on A
#      and, through syncd, on B (syncd pins.set on B, flags migrated there).
# t_pair_resync_flood_v6 runs this file again over IPv6 (FAMILY=6,
# lib_pair.sh): flowgen's flows are IPv6 ones to the v6 VIP (clients
# fd00:64::/96).
. "$(dirname "$0")/lib.sh"

require_pair
pair_up
VIP=$(pair_vip) VN=v$FAMILY
N=150000
FLOWGEN=$TANDEM_BUILD/tools/flowgen
pin_a=$LAB_DIR/sw-a/bpffs/tandem/${LAB_NAME}a

# ---- 1. A's table
na0=$(sw_jctl a status | jq -r .flows)
diag "fill: $(in_ns swa timeout 60 "$FLOWGEN" fill -m "$pin_a/lb_flows" -n $N -b 3000000 -N 3 -d "$VIP")"
check_le "A's table holds the $N flows" $((na0 + N)) "$(sw_jctl a status | jq -r .flows)"
rx0=$(sy_get b .resyncs.received)
diag "B: $(sw_jctl b status | jq -r .flows) flows, resyncs received $rx0"

# ---- 2. losses while resyncing
in_ns swa timeout 60 "$TANDEM_BUILD/tools/lostgen" -m "$pin_a/lb_verdicts" -e 20 -t 40 \
	>"$TEST_TMP/lostgen" 2>&1 &
lg=$!
at_exit "kill $lg 2>/dev/null"
t0=$(now_ms)
b_has_all() {
	[ "$(sy_get b .resyncs.received)" -gt "$rx0" ] 2>/dev/null &&
		[ "$(sw_jctl b status | jq -r .flows)" -ge $((na0 + N)) ]
}
if wait_for 30 b_has_all; then
	ok "B received a complete resync with all $N flows $(($(now_ms) - t0)) ms into the losses"
else
	fail "B receives a complete resync while A keeps losing events" \
		"A: $(sy_json a | jq -c '{resyncs, events}')" "B: $(sy_json b | jq -c '{resyncs, rx}')" \
		"B flows: $(sw_jctl b status | jq -r .flows)"
fi
check "lostgen was still running then (losses all along)" kill -0 "$lg"
check "A coalesced losses during walks (resyncs.coalesced > 0)" \
	test "$(sy_get a .resyncs.coalesced)" -gt 0
rx1=$(sy_get b .resyncs.received)
more() { [ "$(sy_get b .resyncs.received)" -gt "$rx1" ]; }
check "... and the next walk completes too" wait_for 30 more
diag "A: $(sy_json a | jq -c '{resyncs, events}')"
kill "$lg" 2>/dev/null
wait "$lg" 2>/dev/null
diag "lostgen: $(cat "$TEST_TMP/lostgen")"

# ---- 3. a pinned flow reaches B
c=100.64.0.0 cp=10777	# flowgen client 777
[ "$FAMILY" = 6 ] && c=fd00:64::
cep=$(pair_url_host "$c"):$cp vep=$(pair_url_host "$VIP"):80
in_ns swa timeout 20 "$FLOWGEN" syn -i eth0 -n 1 -b 777 -d "$VIP" -P 80 >/dev/null
# (--client: lbd finds the one flow among 150000; dumping them all took
# longer than tandemctl's timeout on a loaded machine)
x=$(sw_jctl a flows --vip "$VN" --client "$cep" | jq -r '.flows[0].node')
check "A holds flowgen's flow $cep" test -n "$x" -a "$x" != null
y=$(for n in n1 n2 n3; do [ "$n" = "$x" ] || { echo "$n"; break; }; done)
ps0=$(sy_get b .pins.set)
sw_jctl a migrate "$cep" "$vep" "$y" --repoint >/dev/null
check_eq "A: flow $cep re-pointed to $y and pinned" 1 "$(sw_jctl a status | jq -r .flow_pressure.pins)"
b_pinned() { [ "$(sy_get b .pins.set)" -gt "${ps0:-0}" ] 2>/dev/null; }
check "B's syncd pinned it too (pins.set)" wait_for 5 b_pinned
check_eq "B holds it on $y, flagged migrated" "$y true" \
	"$(sw_jctl b flows --vip "$VN" --client "$cep" |
		jq -r '.flows[0] | "\(.node) \(.flags | index("migrated") != null)"')"
finish
