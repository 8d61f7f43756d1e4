/*
 * flowdrop_maps.h - the contract between the storage node's flow-drop tc
 * program (flowdrop.bpf.c) and userspace (flowdrop.c).  Compiled by clang
 * -target bpf and by gcc: <linux/types.h> types and fixed-size fields only.
 *
 * Map FLOWDROP_MAP (hash): struct lb_flow_key -> struct flowdrop_val.  The
 * key is the 5-tuple as the CLIENT sends it (saddr = client, daddr = VIP,
 * network-order addresses and ports, pad zero), the layout every Tandem
 * data plane uses (lb/lb_maps.h); an entry drops both directions of the
 * flow (the egress program looks replies up reversed).  Values are host
 * order.
 */
#ifndef TANDEM_FLOWDROP_MAPS_H
#define TANDEM_FLOWDROP_MAPS_H

#include <linux/types.h>

#include "lib/flow_key.h"

#define FLOWDROP_MAP        "tch_flowdrop"	/* also the pin name */
#define FLOWDROP_STATS      "tch_flowdrop_st"	/* per-CPU counters; pin name */
#define FLOWDROP_MAX_FLOWS  16384		/* sessions frozen or in grace at once */
#define FLOWDROP_PROG       "flowdrop_tc"		/* ingress: client -> VIP */
#define FLOWDROP_PROG_OUT   "flowdrop_tc_egress"	/* egress: VIP -> client */

struct flowdrop_val {
	__u64 until_ns;		/* drop while bpf_ktime_get_ns() < until_ns (CLOCK_MONOTONIC) */
	__u64 packets;		/* packets this entry dropped, both directions (atomic add) */
};

/* Per-CPU counter array indexes. */
enum flowdrop_counter {
	FLOWDROP_C_DROPPED = 0,	/* client -> VIP packets dropped (all entries) */
	FLOWDROP_C_EXPIRED,	/* packets that matched an expired entry: passed */
	FLOWDROP_C_DROPPED_OUT,	/* VIP -> client packets dropped */
	FLOWDROP_C_MAX
};

#endif
