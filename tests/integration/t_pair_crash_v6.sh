#!/bin/bash
# t_pair_crash_v6: t_pair_crash over IPv6, with the same assertions.  The 220
# long sessions go from the clients' IPv6 addresses (fd77:1::10, ::11) to the
# v6 VIP fd77:1::100 (tcp 80 and 9000); VRRP moves the v6 VIP and the v6
# gateways (client fd77:1::1, storage fd77:2::1: the nodes' IPv6 default
# route, so direct server return follows the takeover) with the v4 ones;
# syncd replicates the v6 flows to B and back to A at the failback.
#
#   c1 c2 ---------- brc (client LAN) --------+            VIP fd77:1::100
#                    |                        |
#             eth0 [swa] ==eth2 sync== [swb] eth0
#             eth1   |                   |   eth1
#                    +------ brs --------+         storage LAN fd77:2::/64
#                         n1 n2 n3     nginx [::]:80, pairload server :9000
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_pair_crash.sh"
