/*
 * test_handoff_key.c - the handoff keys (lib/handoff_key.h): node and pair
 * keys derived from the master key, one per node and one per pair (no
 * node's key is another's, a pair key is the same from both ends and none
 * of a third node's), a node key file written and read back, the master
 * key as a node's key file, and the key files refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lib/handoff_key.h"

static const uint8_t master[32] = "tandem-master-key-for-the-tests!";

/* The key file of self for peers, as tandemctl handoff-key writes it. */
static char *file_of(const char *self, const char *const *peers, unsigned n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f || hokey_write(f, master, sizeof(master), self, peers, n) < 0) {
		if (f)
			fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	return text;
}

int main(void)
{
	uint8_t k1[HOKEY_LEN], k2[HOKEY_LEN], p12[HOKEY_LEN], p21[HOKEY_LEN], p13[HOKEY_LEN],
		p23[HOKEY_LEN], k[HOKEY_LEN];
	struct hokey_set ks;
	char err[200];

	hokey_node(master, sizeof(master), "n1", k1);
	hokey_node(master, sizeof(master), "n2", k2);
	hokey_pair(master, sizeof(master), "n1", "n2", p12);
	hokey_pair(master, sizeof(master), "n2", "n1", p21);
	hokey_pair(master, sizeof(master), "n1", "n3", p13);
	hokey_pair(master, sizeof(master), "n2", "n3", p23);
	CHECK(memcmp(k1, k2, HOKEY_LEN) && memcmp(k1, master, HOKEY_LEN), "node keys differ per node");
	CHECK(!memcmp(p12, p21, HOKEY_LEN), "a pair key is the same from both ends");
	CHECK(memcmp(p12, p13, HOKEY_LEN) && memcmp(p12, p23, HOKEY_LEN) && memcmp(p13, p23, HOKEY_LEN) &&
	      memcmp(p12, k1, HOKEY_LEN), "every pair has its own key, none is a node key");
	hokey_node(master, sizeof(master), "n1\ntandem-handoff-pair:n2", k);
	CHECK(memcmp(k, p12, HOKEY_LEN), "labels keep node and pair keys apart");

	static const char *const peers1[] = { "n2", "n3" };
	char *t = file_of("n1", peers1, 2);
	CHECK(t && hokey_parse(t, "n1", &ks, err, sizeof(err)) == 0 && !ks.from_master && ks.npeers == 2,
	      "n1's key file reads back (%s)", t ? err : "not written");
	CHECK(!memcmp(ks.node, k1, HOKEY_LEN), "... with n1's node key");
	CHECK(hokey_peer(&ks, "n2", k) == 0 && !memcmp(k, p12, HOKEY_LEN) && hokey_peer(&ks, "n3", k) == 0 &&
	      !memcmp(k, p13, HOKEY_LEN), "... and its pair keys with n2 and n3");
	CHECK(hokey_peer(&ks, "n4", k) < 0, "no key for a node it has no pair key with");
	CHECK(strstr(t, "n1") && !strstr(t, "n2 n3"), "the file names its node");
	CHECK(hokey_parse(t, "n2", &ks, err, sizeof(err)) < 0 && strstr(err, "node \"n1\"'s"),
	      "n1's file refused as n2's: %s", err);
	free(t);

	static const char *const peers2[] = { "n1", "n3" };
	t = file_of("n2", peers2, 2);
	CHECK(t && hokey_parse(t, "n2", &ks, err, sizeof(err)) == 0 && hokey_peer(&ks, "n1", k) == 0 &&
	      !memcmp(k, p12, HOKEY_LEN) && hokey_peer(&ks, "n3", k) == 0 && !memcmp(k, p23, HOKEY_LEN) &&
	      memcmp(ks.node, k1, HOKEY_LEN), "n2's file: its own keys, the n1-n2 key as n1's file has it");
	free(t);

	/* the master key itself as a node's key file: everything derived */
	CHECK(hokey_parse("74616e64656d2d6d61737465722d6b65792d666f722d7468652d746573747321\n", "n1", &ks,
			  err, sizeof(err)) == 0 && ks.from_master, "the master key as n1's key file (%s)", err);
	CHECK(!memcmp(ks.node, k1, HOKEY_LEN) && hokey_peer(&ks, "n2", k) == 0 && !memcmp(k, p12, HOKEY_LEN) &&
	      hokey_peer(&ks, "n9", k) == 0, "... derives the same keys, for any peer");

	static const struct { const char *text, *why; } bad[] = {
		{ "# nothing\n", "no \"node n1 KEY\" line" },
		{ "node n1 abcd\n", "line 1" },
		{ "node n1 0000000000000000000000000000000000000000000000000000000000000000\n"
		  "peer n2 0000000000000000000000000000000000000000000000000000000000000000\n"
		  "peer n2 0000000000000000000000000000000000000000000000000000000000000000\n", "twice" },
		{ "node n1 0000000000000000000000000000000000000000000000000000000000000000\n"
		  "node n1 0000000000000000000000000000000000000000000000000000000000000000\n", "line 2" },
		{ "node n1 0000000000000000000000000000000000000000000000000000000000000000\n"
		  "peer n1 0000000000000000000000000000000000000000000000000000000000000000\n", "line 2" },
		{ "key n1 0000000000000000000000000000000000000000000000000000000000000000\n", "line 1" },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(hokey_parse(bad[i].text, "n1", &ks, err, sizeof(err)) < 0 && strstr(err, bad[i].why),
		      "refused: %s", err);
	CHECK(hokey_load("/nonexistent/handoff.key", "n1", &ks, err, sizeof(err)) < 0 &&
	      strstr(err, "/nonexistent/handoff.key"), "a missing file: %s", err);
	static const char *const self_peer[] = { "n1" }, *const spaced[] = { "n 2" };
	CHECK(!file_of("n1", self_peer, 1) && !file_of("n1", spaced, 1),
	      "no file for a node as its own peer, or a name with a space");
	return check_done();
}
