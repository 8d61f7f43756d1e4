#!/bin/bash
# t_smb_v6: t_smb over IPv6, with the same assertions: 50 smbclient sessions,
# a drain, and large transfers across a hard crash of the master, from c1, c2
# (fd77:1::10, ::11) to the v6 VIP fd77:1::100 tcp/445.
#
#   c1 c2 --- brc --- eth0 [swa] ==sync== [swb] eth0     VIP fd77:1::100 tcp/445
#                     eth1   +---- brs ----+   eth1
#                            n1 n2 n3   smbd each (LAB_SMB=1)
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_smb.sh"
