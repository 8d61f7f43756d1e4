/*
 * handoff_key.h - who holds which handoff key (doc/nasd.md "Handoff keys").
 *
 * The switch (lbd, both of a pair) holds the master key M (`handoff.key_file`,
 * a lib/keyfile.h hex file).  Everything else is derived from it with
 * HMAC-SHA256, so no two nodes share a key they could impersonate each other
 * with:
 *
 *   node key  K(n)    = HMAC(M, "tandem-handoff-node:" | n)
 *       the link between node n and the switch: n's reports, LOADs and ACKs,
 *       the switch's ACKs, MOVEs and cluster maps to n.  Only n and the
 *       switch hold it, so lbd knows a report is n's, and n knows a MOVE or
 *       a map is the switch's (n could forge only messages to itself).
 *   pair key  K(a, b) = HMAC(M, "tandem-handoff-pair:" | a | "\n" | b), a < b
 *       (strcmp) the channels between nodes a and b (HELLO and the channel
 *       key).  Only a and b hold it; a third node holds its own pairs only.
 *
 * A node's key file ("node key file", made by `tandemctl handoff-key`):
 *
 *     # comment lines and blank lines are ignored
 *     node n1 <64 hex digits: K(n1)>
 *     peer n2 <64 hex digits: K(n1, n2)>
 *     peer n3 <64 hex digits: K(n1, n3)>
 *
 * A node's key_file may also be the master key itself (one hex line): the
 * node then derives its keys itself, but holds what lets it impersonate any
 * node and the switch; nasd warns.
 */
#ifndef TANDEM_HANDOFF_KEY_H
#define TANDEM_HANDOFF_KEY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keyfile.h"

#define HOKEY_LEN 32		/* a derived key: one HMAC-SHA256 */
#define HOKEY_NAME_MAX 63	/* node names (nasd's NASD_NAME_MAX - 1) */
#define HOKEY_MAX_PEERS 64

/* K(node) and K(a, b) from master key m[0..mlen).  Pure. */
void hokey_node(const uint8_t *m, size_t mlen, const char *node, uint8_t out[HOKEY_LEN]);
void hokey_pair(const uint8_t *m, size_t mlen, const char *a, const char *b,
		uint8_t out[HOKEY_LEN]);

/* The keys one node holds. */
struct hokey_set {
	int from_master;		/* the file was the master key (derived here) */
	char self[HOKEY_NAME_MAX + 1];
	uint8_t node[HOKEY_LEN];	/* K(self) */
	unsigned npeers;
	struct { char name[HOKEY_NAME_MAX + 1]; uint8_t k[HOKEY_LEN]; } peers[HOKEY_MAX_PEERS];
	uint8_t master[KEYFILE_MAX];	/* from_master only */
	size_t master_len;
};

/*
 * Parse the text of node `self`'s key file (either form above) into *ks.
 * A node key file must name self on its "node" line.  0, or -1 with a
 * message naming the line.  Pure.
 */
int hokey_parse(const char *text, const char *self, struct hokey_set *ks, char *err, size_t errlen);
/* Read and parse path.  0 / -1 with a message. */
int hokey_load(const char *path, const char *self, struct hokey_set *ks, char *err, size_t errlen);
/* The pair key with peer `name` into out: 0, or -1 if the set has none. */
int hokey_peer(const struct hokey_set *ks, const char *name, uint8_t out[HOKEY_LEN]);
/* Write node `self`'s key file for `peers` (npeers names) to f, from master
 * key m.  0 / -1 (a name is empty, too long or has a space). */
int hokey_write(FILE *f, const uint8_t *m, size_t mlen, const char *self, const char *const *peers,
		unsigned npeers);

#endif
