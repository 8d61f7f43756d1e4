/*
 * maglev.h - Maglev consistent hashing (Eisenbud et al., NSDI 2016) with
 * weights, building the lookup table the data plane indexes by flow hash.
 *
 * Each node's permutation of the table comes from a hash of its stable key
 * (the node's name), not from its position in the config, so reordering the
 * config moves nothing.  Weights: in every round each node earns its weight
 * in credit and claims one slot per `max weight` of credit, so slot shares
 * follow the weights.
 */
#ifndef TANDEM_MAGLEV_H
#define TANDEM_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

struct maglev_node {
	uint32_t id;		/* value stored in the table */
	uint32_t weight;	/* 0 = not in the table */
	uint64_t key;		/* stable identity, e.g. maglev_key("n1") */
};

/* Stable 64-bit key of a node name. */
uint64_t maglev_key(const char *name);

/*
 * A node's 32-bit identity on the wire (sync and handoff records carry it,
 * since node ids differ per switch): the low half of maglev_key(name), never
 * 0 (0 means "no node").  Everyone who names a node on the wire uses this.
 */
uint32_t maglev_node_key32(const char *name);

/* 1 if n is prime. */
int maglev_is_prime(uint32_t n);

/*
 * Fill table[0..size) (size prime, > n) with node ids.  Returns the number of
 * nodes with weight > 0; when that is 0 the table is all LB_NODE_NONE.
 * Returns -1 (errno EINVAL / ENOMEM) on a bad size or allocation failure.
 */
int maglev_build(const struct maglev_node *nodes, size_t n, uint32_t *table, uint32_t size);

#endif
