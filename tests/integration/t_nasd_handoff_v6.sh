#!/bin/bash
# t_nasd_handoff_v6: t_nasd_handoff over IPv6, with the same assertions: the
# sessions go from c1 fd77:1::10 to the v6 VIP [fd77:1::100]:80, so libtch
# restores IPv6 sockets, the flow drop and the switch report carry IPv6
# 5-tuples, and lbd re-points v6 flows.
#
#   c1 fd77:1::10                   client LAN fd77:1::/64, VIP fd77:1::100
#    |
#   [sw: tandem-lbd]  report port 7406 on 10.77.2.1 (handoff key)
#    |  br1 fd77:2::1               storage LAN fd77:2::/64
#   n1 ::11  n2 ::12  n3 ::13       tandem-nasd on [VIP6]:80, handoff channels
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_nasd_handoff.sh"
