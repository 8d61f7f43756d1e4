#!/bin/bash
# t_pair_nfs_v6: t_pair_nfs over IPv6, with the same assertions: six paced
# NFS readers and two 512 MiB nfs-cp copies from c1, c2 (fd77:1::10, ::11)
# through the v6 VIP [fd77:1::100] (portmapper, MOUNT, NFS) survive a hard
# crash of the master, byte-exact, carried by B's replicated v6 flows.
#
#   c1 c2 --- client LAN ---+------------------+
#                        [swa] ==sync==     [swb]
#   n1 n2 n3 -- storage LAN-+------------------+   tandem-nasd NFS on [VIP6]
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_pair_nfs.sh"
