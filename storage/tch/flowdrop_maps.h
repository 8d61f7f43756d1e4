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
#define FLOWDROP_HOLD_RING  "tch_flowhold"	/* ring buffer of held packets */
#define FLOWDROP_HOLD_RING_SIZE (4u << 20)	/* the object's size; flowdrop_size_maps sets it from the config */
#define FLOWDROP_HOLD_PKT_MAX 65535		/* longest packet (from its IP header) held; longer: overflow.
						 * GRO makes packets this long (a veth behind XDP, any NIC) */
#define FLOWDROP_HOLD_BUF   "tch_flowhold_buf"	/* per-CPU scratch: entries = CPUs, set at load */
#define FLOWDROP_REPLAY_MARK 0x74636872u	/* "tchr": SO_MARK of the replays (tch_raw.c), which the
						 * program passes (they are what it held) */
#define FLOWDROP_PROG       "flowdrop_tc"		/* ingress: client -> VIP */
#define FLOWDROP_PROG_OUT   "flowdrop_tc_egress"	/* egress: VIP -> client */

struct flowdrop_val {
	__u64 until_ns;		/* drop while bpf_ktime_get_ns() < until_ns (CLOCK_MONOTONIC) */
	__u64 packets;		/* packets this entry dropped, both directions (atomic add) */
	/* Appended for holding (issue 15, item 1): with FLOWDROP_F_HOLD the
	 * ingress program copies each client -> VIP packet it drops into the
	 * ring buffer FLOWDROP_HOLD_RING (struct flowdrop_held_hdr + the packet
	 * from its IP header on), for the daemon to replay to the session's
	 * new socket, while held + its length <= hold_max; past that (or a
	 * full ring, or a packet over FLOWDROP_HOLD_PKT_MAX) it only drops and
	 * counts overflow: the client's own retransmission recovers, as
	 * without holding. */
	__u32 flags;		/* FLOWDROP_F_* */
	__u32 hold_max;		/* bytes this entry may hold */
	__u64 held;		/* bytes held so far (atomic add) */
	__u64 overflow;		/* packets dropped without being held (atomic add) */
};

#define FLOWDROP_F_HOLD 1u	/* hold what ingress drops (see above) */
#define FLOWDROP_F_IN_ONLY 2u	/* egress passes: the session's socket is live again and
				 * the entry only holds the client's packets until the
				 * replay is in (tch_replay_held) */

/* One record of the ring buffer, followed by len bytes of packet (IP header
 * on).  Host order, but the key (network order, as in the map). */
struct flowdrop_held_hdr {
	struct lb_flow_key key;
	__u32 len;
	__u32 pad;
};

/* Per-CPU counter array indexes. */
enum flowdrop_counter {
	FLOWDROP_C_DROPPED = 0,	/* client -> VIP packets dropped (all entries) */
	FLOWDROP_C_EXPIRED,	/* packets that matched an expired entry: passed */
	FLOWDROP_C_DROPPED_OUT,	/* VIP -> client packets dropped */
	FLOWDROP_C_HELD,	/* client -> VIP packets dropped and held (in the ring) */
	FLOWDROP_C_HOLD_OVERFLOW,	/* ... that should have been held but were only dropped */
	FLOWDROP_C_MAX
};

#endif
