#include "maglev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/flow_key.h"

static uint64_t mix64(uint64_t x)	/* splitmix64 finaliser */
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

uint64_t maglev_key(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	for (; *name; name++) {
		h ^= (unsigned char)*name;
		h *= 0x100000001b3ull;
	}
	return mix64(h);
}

uint32_t maglev_node_key32(const char *name)
{
	uint32_t k = (uint32_t)maglev_key(name);

	return k ? k : 1;
}

int maglev_is_prime(uint32_t n)
{
	if (n < 2)
		return 0;
	if (n % 2 == 0)
		return n == 2;
	for (uint32_t d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

struct perm {
	uint32_t offset, skip, next;
	uint64_t credit;
	const struct maglev_node *node;
};

/* Nodes take turns in key order, so the table does not depend on the order
 * of the configuration (the first node in a round wins contested slots). */
static int by_key(const void *a, const void *b)
{
	const struct perm *x = a, *y = b;

	if (x->node->key != y->node->key)
		return x->node->key < y->node->key ? -1 : 1;
	return x->node->id < y->node->id ? -1 : x->node->id > y->node->id;
}

int maglev_build(const struct maglev_node *nodes, size_t n, uint32_t *table, uint32_t size)
{
	uint32_t maxw = 0, filled = 0;
	int live = 0;
	struct perm *p;

	if (!maglev_is_prime(size) || size <= n) {
		errno = EINVAL;
		return -1;
	}
	for (uint32_t i = 0; i < size; i++)
		table[i] = LB_NODE_NONE;
	for (size_t i = 0; i < n; i++) {
		if (nodes[i].weight > maxw)
			maxw = nodes[i].weight;
		live += nodes[i].weight > 0;
	}
	if (!live)
		return 0;
	p = calloc(n, sizeof(*p));
	if (!p)
		return -1;
	for (size_t i = 0; i < n; i++)
		p[i].node = &nodes[i];
	qsort(p, n, sizeof(*p), by_key);
	for (size_t i = 0; i < n; i++) {
		uint64_t h1 = mix64(p[i].node->key ^ 0x6d61676c65763031ull);
		uint64_t h2 = mix64(p[i].node->key ^ 0x6d61676c65763032ull);
		p[i].offset = (uint32_t)(h1 % size);
		p[i].skip = (uint32_t)(h2 % (size - 1)) + 1;
	}
	while (filled < size) {
		for (size_t i = 0; i < n && filled < size; i++) {
			if (!p[i].node->weight)
				continue;
			p[i].credit += p[i].node->weight;
			while (p[i].credit >= maxw && filled < size) {
				uint32_t slot;
				p[i].credit -= maxw;
				do {	/* next unclaimed slot in this node's permutation */
					slot = (uint32_t)((p[i].offset +
						(uint64_t)p[i].next * p[i].skip) % size);
					p[i].next++;
				} while (table[slot] != LB_NODE_NONE);
				table[slot] = p[i].node->id;
				filled++;
			}
		}
	}
	free(p);
	return live;
}
