#!/bin/bash
# t_pair_restart_v6: t_pair_restart over IPv6, with the same assertions: the
# long sessions and the 400 short connections go from the clients' IPv6
# addresses to the v6 VIP fd77:1::100, so the flows B alone holds, which the
# restarted A must pull (resync) before it takes the master role back, are
# IPv6 flows.
#
#   c1 c2 ---------- brc (client LAN fd77:1::/64) ---+
#             eth0 [swa] ==eth2 sync== [swb] eth0
#             eth1   +------ brs (fd77:2::/64) --+   eth1
#                         n1 n2 n3
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_pair_restart.sh"
