#!/bin/bash
# t_nfs_handoff_v6: t_nfs_handoff over IPv6, with the same assertions: the NFS
# connections go from c1 fd77:1::10 to the v6 VIP [fd77:1::100]:2049 (MOUNT
# and NFS; the portmapper on [VIP6]:111 for libnfs), and are handed between
# the nodes (data location, drain) as IPv6 sessions.
#
#   c1 fd77:1::10 -- [sw: tandem-lbd, v6 VIP tcp/111 tcp/2049] -- n1 n2 n3
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_nfs_handoff.sh"
