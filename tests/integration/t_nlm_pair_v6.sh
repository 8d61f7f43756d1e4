#!/bin/bash
# t_nlm_pair_v6: t_nlm_pair over IPv6, with the same assertions: the lock
# clients on c1 (fd77:1::10) and c2 (::11) take and test their locks through
# the v6 VIP fd77:1::100 (portmapper and NFS/NLM on [VIP6], LAB_NFS6=1,
# NASD_NFS6=1); the master switch is killed hard, the v6 VIP and gateway
# move with the v4 ones, and the locks hold on the same two connections.
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_nlm_pair.sh"
