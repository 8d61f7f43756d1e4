#!/bin/bash
# t_udp_failover_v6: t_udp_failover over IPv6, with the same assertions: one
# UDP session (a DNS query every 20 ms) from c1 fd77:1::10 to the v6 VIP's
# udp/53 survives a hard crash of the master on the replicated v6 flow, the
# same node answering, losses only in the takeover window.
#
#   c1 --- brc --- eth0 [swa] ==sync== [swb] eth0     VIP fd77:1::100 udp/53
#                  eth1   +---- brs ----+   eth1
#                         n1 n2 n3   dnsmasq :53
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_udp_failover.sh"
