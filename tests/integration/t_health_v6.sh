#!/bin/bash
# t_health_v6: t_health over IPv6, with the same assertions: lbd knows the
# nodes by their IPv6 addresses (LAB_NODES6=1), so its health checks (tcp/80,
# tcp/5201) connect over IPv6 and it learns the nodes' MACs by neighbour
# discovery; the sessions go from c1, c2 (fd77:1::10, ::11) to the v6 VIP.
#
#   c1, c2 --- brc --- eth0 [sw: lbd] br1 fd77:2::1 --- n1 fd77:2::11
#                                                   |-- n2 fd77:2::12 (nginx stopped, restarted)
#                                                   +-- n3 fd77:2::13
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_health.sh"
