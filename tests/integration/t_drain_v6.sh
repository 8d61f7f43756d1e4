#!/bin/bash
# t_drain_v6: t_drain over IPv6, with the same assertions: a slow download
# from c1's fd77:1::10 to the v6 VIP [fd77:1::100] stays on its drained node
# while 60 new v6 sessions avoid it; UDP flows to [VIP6]:5201 (client
# affinity) migrated by node and by 5-tuple ([C]:P [VIP]:P), their next
# datagrams at the new node.
# shellcheck disable=SC2034 # read by the test sourced below
FAMILY=6
. "$(dirname "$0")/t_drain.sh"
