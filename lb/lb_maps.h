/*
 * lb_maps.h - the contract between the data plane (lb.bpf.c) and userspace
 * (tandem-lbd, tandemctl via lbd, tests).  Compiled by clang -target bpf and
 * by gcc, so it uses only <linux/types.h> types and fixed-size fields.
 *
 * Byte order: addresses and ports in keys are in NETWORK order (as they sit
 * in the packet), so the data plane copies them without conversion.  All
 * other fields are host order.  No bitfields.
 *
 * IPv4 addresses are stored in addr[0]; addr[1..3] are zero.
 */
#ifndef TANDEM_LB_MAPS_H
#define TANDEM_LB_MAPS_H

#include <linux/types.h>

#include "lib/flow_key.h"	/* struct lb_flow_key and the id/table limits */

/* Pin names under <bpffs>/tandem/<instance>/ */
#define LB_PIN_FLOWS     "lb_flows"
#define LB_PIN_SVCS      "lb_svcs"
#define LB_PIN_MAGLEV    "lb_maglev"
#define LB_PIN_NODES     "lb_nodes"
#define LB_PIN_NODE_STATS "lb_node_stats"
#define LB_PIN_SVC_STATS "lb_svc_stats"
#define LB_PIN_VERDICTS  "lb_verdicts"
#define LB_PIN_CONFIG    "lb_config"
#define LB_PIN_VIP_ADDRS "lb_vip_addrs"
#define LB_PIN_EVENTS    "lb_events"	/* ring buffer of struct lb_event */
#define LB_PIN_REPL_Q    "lb_repl_q"	/* queue of lb_flow_key: userspace changes to replicate */
#define LB_PIN_FLOW_PINS "lb_flow_pins"	/* hash: flows lbd re-pointed (see below) */

/*
 * Flow events, data plane -> tandem-syncd, through the lb_events ring
 * buffer: every flow the data plane creates or re-hashes.  Changes made
 * from userspace (lbd's migrations) are pushed as keys onto lb_repl_q.
 */
#define LB_EV_FLOW_ADD 1
#define LB_EVENTS_BYTES (8u << 20)
#define LB_REPL_Q_LEN 65536

/* Flow flags */
#define LB_FLOW_F_SYN      0x1	/* created by a TCP SYN (or first UDP packet) */
#define LB_FLOW_F_MIDSTREAM 0x2	/* created by a non-SYN TCP packet (table miss) */
#define LB_FLOW_F_MIGRATED 0x4	/* re-pointed by lbd */
#define LB_FLOW_F_SYNCED   0x8	/* written by a peer (sessionsync) */
#define LB_FLOW_F_UNPIN    0x10	/* events only: the flow's pin was dropped (the
				 * session left its pinned node); the peer drops its own */

/*
 * Pinned flows (lb_flow_pins: a plain hash, never evicted, bounded): every
 * flow lbd re-pointed (handoff, migrate, drain: LB_FLOW_F_MIGRATED) is also
 * written here, value as in lb_flows.  The LRU flow table may evict such a
 * flow under pressure; the data plane consults the pins on a table miss and
 * restores the entry (FWD_PINNED) instead of re-hashing the session back to
 * the node it was moved away from.  A pin goes away when the session does:
 * a SYN on its 5-tuple (a new session) or its node going down (re-hashed)
 * drop it in the data plane, idleness drops it in lbd (and syncd replicates
 * both).  Sized by lbd (flow_table_size / 8); full: the flow is re-pointed
 * but unprotected (counted).
 */

struct lb_flow_val {
	__u32 node_id;
	__u32 flags;
	__u64 last_seen_ns;	/* bpf_ktime_get_ns() of the last packet */
	__u64 packets;		/* client -> VIP direction only (DSR) */
	__u64 bytes;		/* L3 bytes (IP header included) */
};

/* VIP service lookup key: destination of a client packet. */
struct lb_svc_key {
	__u32 addr[4];
	__u16 port;		/* network order; 0 would mean "any port" (unused) */
	__u8  proto;
	__u8  family;
};

/*
 * VIP address set (hash, LB_MAX_SVCS entries): every address that appears
 * in lb_svcs.  It lets the data plane recognise packets to a VIP address
 * that carry no usable port - IPv4 fragments, ICMP, IPv6 extension headers,
 * truncated TCP/UDP headers - and drop or pass them deliberately.  lbd keeps
 * it in step with lb_svcs (value: number of services on the address, its
 * own bookkeeping; the data plane only tests presence).  An address missing
 * here only makes those odd packets pass to the kernel instead of being
 * dropped; service traffic does not depend on it.
 */
struct lb_vip_key {
	__u32 addr[4];		/* network order; IPv4 in addr[0] */
	__u8  family;		/* 4 or 6 */
	__u8  pad[3];		/* must be zero */
};

#define LB_SVC_F_ACTIVE_B  0x1	/* Maglev half B is live (double buffering) */
#define LB_SVC_F_NO_NODES  0x2	/* no usable node: drop new flows, counted */
#define LB_SVC_F_AFFINITY  0x4	/* Maglev hash ignores the client port (client affinity) */

struct lb_svc_val {
	__u32 svc_id;		/* index into maglev / svc stats */
	__u32 flags;
	__u32 maglev_size;	/* entries per half; prime */
	__u32 pad;
};

/*
 * The Maglev map is one flat BPF array (mmapable) of
 * LB_MAX_SVCS * 2 * maglev_size __u32 node ids.  Service s, half h
 * (0 = A, 1 = B) starts at (s * 2 + h) * maglev_size.  lbd writes the idle
 * half, then flips LB_SVC_F_ACTIVE_B, so the data plane never sees a half
 * written table.
 *
 * The flat __u32 view is what mmap shows.  The kernel pads BPF array
 * elements to 8 bytes, so the map's elements are PAIRS of ids (value_size
 * 8: element e holds ids 2e and 2e+1); max_entries is set to the id count
 * above (twice what is needed, the same memory a padded __u32 array takes).
 * Use mmap, not bpf_map_update_elem, to write ids.
 */
static inline __u32 lb_maglev_index(__u32 svc_id, __u32 half, __u32 size, __u32 slot)
{
	return (svc_id * 2 + half) * size + slot;
}

/* Node flags */
#define LB_NODE_F_PRESENT 0x1	/* configured */
#define LB_NODE_F_UP      0x2	/* reachable (link up, health ok); flows to a !UP node re-hash */
#define LB_NODE_F_DRAIN   0x4	/* no new sessions (handled in Maglev), existing flows stay */

struct lb_node_val {
	__u8  mac[6];		/* node's MAC on the storage LAN */
	__u8  src_mac[6];	/* our MAC on the egress interface */
	__u32 ifindex;		/* egress (storage LAN) interface */
	__u32 flags;
	__u32 pad;
};

/* Per-node and per-service counters (per-CPU arrays; userspace sums). */
struct lb_counters {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;	/* flows this node/service was chosen for */
	__u64 pad;
};

/* Verdict reasons, index into the per-CPU verdict counter array. */
enum lb_verdict {
	LB_V_PASS_NOT_IP = 0,	/* not IPv4/IPv6: passed untouched */
	LB_V_PASS_NOT_VIP,	/* IP but not to a VIP service: passed */
	LB_V_FWD_HIT,		/* forwarded, flow table hit */
	LB_V_FWD_NEW,		/* forwarded, new flow inserted (SYN / new UDP) */
	LB_V_FWD_MIDSTREAM,	/* forwarded, non-SYN TCP miss, inserted */
	LB_V_FWD_REHASH_SYN,	/* SYN met an existing entry (port reuse): re-hashed */
	LB_V_FWD_REHASH_DOWN,	/* flow's node not UP: re-hashed */
	LB_V_PASS_TRUNC_L2,	/* shorter than an Ethernet header (+VLAN): passed */
	LB_V_DROP_TRUNC_L3,	/* IP header truncated or bad IHL/length */
	LB_V_DROP_TRUNC_L4,	/* VIP-bound but TCP/UDP header truncated */
	LB_V_DROP_FRAGMENT,	/* fragment to a VIP (no ports): dropped */
	LB_V_DROP_EXTHDR,	/* IPv6 to a VIP with extension headers: dropped */
	LB_V_DROP_NO_NODE,	/* service has no usable node */
	LB_V_DROP_REDIRECT,	/* node map entry missing/bad */
	LB_V_IP_OPTIONS,	/* informational: IPv4 options skipped (also counted in its verdict) */
	LB_V_PASS_ICMP,		/* ICMP/other protocol to a VIP address: passed to the kernel */
	LB_V_EVENTS_LOST,	/* informational: event ring full, a flow add was not reported
				 * (tandem-syncd sees this counter move and resyncs) */
	LB_V_PASS_OTHER_HOST,	/* unicast frame for another MAC: passed untouched (the
				 * backup of a pair must not forward what a bridge floods) */
	LB_V_FWD_UNTRACKED,	/* non-SYN TCP or UDP miss over the insert budget
				 * (lb_config.insert_rate): forwarded by Maglev, no entry */
	LB_V_FWD_PINNED,	/* miss, found in lb_flow_pins: entry restored, same node */
	LB_V_MAX
};

struct lb_event {
	struct lb_flow_key key;
	__u32 type;		/* LB_EV_* */
	__u32 node_id;
	__u32 flags;
	__u32 pad;
};

/* Context of the lb_repoint syscall program (see lb.bpf.c). */
struct lb_repoint_args {
	struct lb_flow_key key;
	__u32 node_id;
	__u32 flags_set;
	__u32 flags_clear;
	__u32 pad;
};

/* Global knobs written by lbd: array of one. */
struct lb_config {
	__u32 flags;
	__u32 insert_rate;	/* flow-table inserts per second and CPU that a table
				 * miss of a non-SYN TCP packet or of UDP may make
				 * (spoofable: no handshake); 0 = unlimited.  Over it
				 * the packet is forwarded by Maglev without an entry */
	__u8  mac[6];		/* the client interface's MAC: frames to another unicast
				 * MAC are not ours (a flooding bridge, a stale peer's
				 * ARP entry) and pass untouched; zero = no check */
	__u16 svc_gen;		/* lbd adds one after every change to lb_svcs: the data
				 * plane's per-CPU copy of its last service lookup is
				 * good while this is unchanged (lb_svc_lookup).  Was
				 * padding: the value's size and layout are unchanged */
};

#endif
