/*
 * lb_hash.h - the flow hash, shared by the data plane and userspace so that
 * lbd and the tests can predict which Maglev slot a 5-tuple lands in.
 *
 * It is Bob Jenkins' lookup3 final mix applied over the ten 32-bit words of
 * struct lb_flow_key (the same construction as the kernel's jhash2), written
 * out here because the kernel's jhash.h is not usable from a BPF object or
 * from userspace.  Input: a fully initialised key (pad zero).  Output: 32 bits.
 */
#ifndef TANDEM_LB_HASH_H
#define TANDEM_LB_HASH_H

#include "lb_maps.h"

#define LB_HASH_INITVAL 0x7a6e6465u	/* arbitrary, fixed: changing it remaps flows */

static inline __u32 lb_rol32(__u32 w, unsigned s)
{
	return (w << s) | (w >> (32 - s));
}

#define LB_JHASH_MIX(a, b, c) do {				\
	a -= c; a ^= lb_rol32(c, 4);  c += b;			\
	b -= a; b ^= lb_rol32(a, 6);  a += c;			\
	c -= b; c ^= lb_rol32(b, 8);  b += a;			\
	a -= c; a ^= lb_rol32(c, 16); c += b;			\
	b -= a; b ^= lb_rol32(a, 19); a += c;			\
	c -= b; c ^= lb_rol32(b, 4);  b += a;			\
} while (0)

#define LB_JHASH_FINAL(a, b, c) do {				\
	c ^= b; c -= lb_rol32(b, 14);				\
	a ^= c; a -= lb_rol32(c, 11);				\
	b ^= a; b -= lb_rol32(a, 25);				\
	c ^= b; c -= lb_rol32(b, 16);				\
	a ^= c; a -= lb_rol32(c, 4);				\
	b ^= a; b -= lb_rol32(a, 14);				\
	c ^= b; c -= lb_rol32(b, 24);				\
} while (0)

/* The key read as 32-bit words: may_alias, since the key is written through
 * its own fields (lb_svc_hash's copy has its port and protocol stored as
 * 16- and 8-bit fields): with plain __u32 reads, strict aliasing lets an
 * optimising compiler hash the copy before those stores (gcc -O2 did). */
typedef __u32 __attribute__((__may_alias__)) lb_hash_word;

static inline __u32 lb_flow_hash(const struct lb_flow_key *k)
{
	const lb_hash_word *w = (const lb_hash_word *)k;	/* 10 words */
	__u32 a, b, c;

	a = b = c = LB_HASH_INITVAL + (10u << 2);
	a += w[0]; b += w[1]; c += w[2];
	LB_JHASH_MIX(a, b, c);
	a += w[3]; b += w[4]; c += w[5];
	LB_JHASH_MIX(a, b, c);
	a += w[6]; b += w[7]; c += w[8];
	LB_JHASH_MIX(a, b, c);
	a += w[9];
	LB_JHASH_FINAL(a, b, c);
	return c;
}

/*
 * The hash that picks key's Maglev slot in a service with flags svc_flags
 * (struct lb_svc_val): with LB_SVC_F_AFFINITY the client port, the
 * protocol and the VIP address are left out, so every connection of one
 * client to the port lands on one node, TCP and UDP alike and through any
 * VIP, when the services have the same nodes (their Maglev tables are then
 * the same: lib/maglev.c builds from the nodes alone).  iperf3 needs both:
 * TCP control + UDP data, and a client that reaches the VIPs by a
 * round-robin DNS name resolves it again for each connection, so its
 * control and data connections go to different VIPs.  The data plane picks
 * with it and lbd predicts the pick with it.
 */
static inline __u32 lb_svc_hash(const struct lb_flow_key *key, __u32 svc_flags)
{
	if (svc_flags & LB_SVC_F_AFFINITY) {
		struct lb_flow_key k = *key;

		k.sport = 0;
		k.proto = 0;
		k.daddr[0] = k.daddr[1] = k.daddr[2] = k.daddr[3] = 0;
		return lb_flow_hash(&k);
	}
	return lb_flow_hash(key);
}

#endif
