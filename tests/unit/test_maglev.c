/*
 * Maglev: spread within 2 % of the weights over 1M keys, minimal disruption
 * when a node leaves (<= 1/N + 1 % of keys remapped), stability under
 * config reordering, and the empty table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lb/lb_hash.h"
#include "lib/maglev.h"
#include "lib/addr.h"

#define M LB_MAGLEV_DEFAULT
#define KEYS 1000000

static uint32_t lookup(const uint32_t *t, uint32_t i)
{
	struct lb_flow_key k;
	struct taddr c, v;

	/* 1M distinct client endpoints towards one VIP */
	taddr_parse("10.77.1.100", &v);
	memset(&c, 0, sizeof(c));
	c.family = 4;
	c.a[0] = 10;
	c.a[1] = 77;
	c.a[2] = (uint8_t)(i >> 16);
	c.a[3] = (uint8_t)(i >> 8);
	flowkey_make(&k, &c, (uint16_t)(1024 + (i & 0xff) * 200), &v, 80, 6);
	return t[lb_flow_hash(&k) % M];
}

static void spread(const char *what, const struct maglev_node *n, size_t nn, uint32_t *t)
{
	uint64_t cnt[8] = { 0 }, wsum = 0;

	CHECK(maglev_build(n, nn, t, M) == (int)nn, "%s: build", what);
	for (uint32_t i = 0; i < KEYS; i++) {
		uint32_t id = lookup(t, i);
		if (id < 8)
			cnt[id]++;
	}
	for (size_t i = 0; i < nn; i++)
		wsum += n[i].weight;
	for (size_t i = 0; i < nn; i++) {
		double want = (double)n[i].weight / (double)wsum;
		double got = (double)cnt[n[i].id] / KEYS;
		CHECK(got > want - 0.02 && got < want + 0.02,
		      "%s: node %u share %.4f, weight share %.4f (within 2 %%)", what, n[i].id, got, want);
	}
}

int main(void)
{
	uint32_t *t = malloc(M * sizeof(uint32_t)), *t2 = malloc(M * sizeof(uint32_t));
	struct maglev_node n[5];
	const char *names[5] = { "n1", "n2", "n3", "n4", "n5" };

	CHECK(maglev_is_prime(65537) && !maglev_is_prime(65536) && maglev_is_prime(2) &&
	      !maglev_is_prime(1), "primality");
	for (int i = 0; i < 5; i++)
		n[i] = (struct maglev_node){ (uint32_t)i, 100, maglev_key(names[i]) };
	spread("3 equal", n, 3, t);
	n[2].weight = 200;
	spread("100/100/200", n, 3, t);
	n[0].weight = 10, n[1].weight = 50, n[2].weight = 1000;
	spread("10/50/1000", n, 3, t);
	for (int i = 0; i < 5; i++)
		n[i].weight = 100;
	spread("5 equal", n, 5, t);

	/* Disruption: remove each node of N in turn. */
	for (size_t nn = 3; nn <= 5; nn += 2) {
		maglev_build(n, nn, t, M);
		for (size_t drop = 0; drop < nn; drop++) {
			struct maglev_node rest[5];
			size_t k = 0;
			for (size_t i = 0; i < nn; i++)
				if (i != drop)
					rest[k++] = n[i];
			maglev_build(rest, k, t2, M);
			uint64_t moved = 0, orphan = 0;
			for (uint32_t i = 0; i < KEYS; i++) {
				uint32_t a = lookup(t, i), b = lookup(t2, i);
				if (a != b)
					moved++;
				if (a == drop)
					orphan++;
			}
			double frac = (double)moved / KEYS;
			CHECK(frac <= 1.0 / (double)nn + 0.01,
			      "remove node %zu of %zu: %.4f of keys remapped (<= %.4f)", drop, nn, frac,
			      1.0 / (double)nn + 0.01);
			CHECK(moved >= orphan, "every key of the removed node moved");
		}
	}

	/* Order of the config does not matter. */
	struct maglev_node rev[3] = { n[2], n[1], n[0] };
	maglev_build(n, 3, t, M);
	maglev_build(rev, 3, t2, M);
	CHECK(!memcmp(t, t2, M * sizeof(uint32_t)), "same table whatever the node order");

	/* Weight 0 and no nodes. */
	n[1].weight = 0;
	CHECK(maglev_build(n, 3, t, M) == 2, "weight 0 node left out");
	int has1 = 0;
	for (uint32_t i = 0; i < M; i++)
		has1 |= t[i] == 1;
	CHECK(!has1, "weight 0 node holds no slot");
	CHECK(maglev_build(n, 0, t, M) == 0 && t[0] == LB_NODE_NONE && t[M - 1] == LB_NODE_NONE,
	      "no nodes: table empty");
	CHECK(maglev_build(n, 3, t, 65536) < 0, "non-prime size refused");
	free(t);
	free(t2);
	return check_done();
}
