#!/bin/bash
# t_pair_resync_flood_v6: t_pair_resync_flood over IPv6, with the same
# assertions: the 150000 flows written into A's table and the re-pointed,
# pinned flow are IPv6 flows to the v6 VIP fd77:1::100 (flowgen -d VIP6:
# clients fd00:64::/96), carried to B by bulk resyncs under a sustained
# event loss and by the pin.
#
#   c1 c2 ---------- brc (client LAN) --------+
#             eth0 [swa] ==eth2 sync== [swb] eth0
#                   ^ flowgen fill (v6), lostgen
#             eth1   +------ brs -------------+   eth1
#                         n1 n2 n3
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_pair_resync_flood.sh"
