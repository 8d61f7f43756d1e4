#!/bin/bash
# t_nfs_v6: t_nfs over IPv6, with the same assertions: the libnfs utilities
# and the raw RPC client on c1 (fd77:1::10) and c2 (::11) reach the portmapper,
# MOUNT and NFS on the v6 VIP [fd77:1::100] (LAB_NFS6=1, NASD_NFS6=1); the
# export's "clients" is c1's /128 in the last part.
#
#   c1 c2 --- brc --- eth0 [sw: tandem-lbd, v6 VIP tcp/111 tcp/2049] br1 --- n1 n2 n3
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_nfs.sh"
