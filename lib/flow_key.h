/*
 * flow_key.h - the 5-tuple every part of Tandem names a flow by, and the
 * id limits that come with it: the data plane keys its flow table with it
 * (lb/lb_maps.h), syncd replicates it, the handoff protocols and libtch
 * carry it, the config sizes its tables by the limits.  Compiled by clang
 * -target bpf and by gcc: <linux/types.h> types and fixed-size fields only.
 *
 * Byte order: addresses and ports in NETWORK order (as they sit in the
 * packet), so the data plane copies them without conversion.  IPv4
 * addresses are stored in saddr[0]/daddr[0]; words 1..3 are zero.
 */
#ifndef TANDEM_FLOW_KEY_H
#define TANDEM_FLOW_KEY_H

#include <linux/types.h>

#define LB_MAX_NODES     256	/* node ids 0..255 */
#define LB_MAX_SVCS      64	/* VIP services (address, proto, port) */
#define LB_NODE_NONE     0xffffffffu	/* "no node": an empty Maglev slot */
#define LB_MAGLEV_DEFAULT 65537	/* prime; default per-service Maglev table size */

/* 5-tuple.  40 bytes, no holes, so memcmp/hash over the whole struct is safe. */
struct lb_flow_key {
	__u32 saddr[4];
	__u32 daddr[4];
	__u16 sport;		/* network order */
	__u16 dport;		/* network order */
	__u8  proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	__u8  family;		/* 4 or 6 */
	__u8  pad[2];		/* must be zero */
};

#endif
