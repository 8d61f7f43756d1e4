/* libFuzzer target: the cluster map codec (lib/cluster_wire.h).  Input is
 * parsed twice: as is (the MAC must refuse it), and re-MACed with the test
 * key so the body parser is reached.  A map that parses must encode back to
 * the same bytes (the format has one encoding per map); node states
 * (NODES) that parse must encode to a message that parses to the same
 * states (unknown flag bits are dropped on the way; the length is the
 * same). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cluster_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[32] = "fuzz-fuzz-fuzz-fuzz-fuzz-fuzz-fu";

static void nodes_round_trip(const uint8_t *buf, size_t len)
{
	static struct cw_nodes s, t;
	static uint8_t out[CW_NODES_MAX_DGRAM];
	const char *why;

	if (cw_nodes_parse(buf, len, key, sizeof(key), &s, &why) < 0) {
		if (!why)
			abort();
		return;
	}
	size_t n = cw_nodes_encode(&s, key, sizeof(key), out, sizeof(out), &why);
	if (!n || cw_nodes_parse(out, n, key, sizeof(key), &t, &why) < 0 || t.n != s.n ||
	    t.h.generation != s.h.generation || t.h.epoch != s.h.epoch ||
	    t.h.peer_epoch != s.h.peer_epoch || t.h.switch_id != s.h.switch_id ||
	    t.h.cluster_id != s.h.cluster_id)
		abort();	/* what parses must encode to the same states */
	for (unsigned i = 0; i < s.n; i++)
		if (strcmp(t.nodes[i].name, s.nodes[i].name) || t.nodes[i].flags != s.nodes[i].flags)
			abort();
	if (n != len)
		abort();	/* one encoding per message (flag bits aside: the same length) */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cw_map m;
	static uint8_t buf[CW_MAX_DGRAM + 64], out[CW_MAX_DGRAM];
	struct cw_ack a;
	const char *why;
	uint8_t type;

	if (size > CW_MAX_DGRAM + 32)
		return 0;
	(void)cw_parse(data, size, key, sizeof(key), &type, &m, &a, &why);
	/* make it authentic: header + body from the input, then the MAC */
	memcpy(buf, data, size);
	if (size >= CW_HDR_LEN) {
		wire_put16(buf, CW_MAGIC);
		wire_put16(buf + 36, (uint16_t)(size - CW_HDR_LEN));
	}
	wire_hmac(key, sizeof(key), buf, size, buf + size);
	if (cw_parse(buf, size + WIRE_MAC_LEN, key, sizeof(key), &type, &m, &a, &why) == 0 &&
	    type == CW_T_MAP) {
		size_t n = cw_map_encode(&m, key, sizeof(key), out, sizeof(out), &why);
		if (n != size + WIRE_MAC_LEN || memcmp(out, buf, n))
			abort();	/* parse and encode disagree */
		/* sealed again for another node and epochs: parses with that key only */
		static const uint8_t k2[32] = "another-node-key-another-node-ke";
		if (cw_reseal(out, n, m.h.epoch + 1, 42, k2, sizeof(k2)) < 0 ||
		    cw_parse(out, n, k2, sizeof(k2), &type, &m, &a, &why) < 0 || m.h.peer_epoch != 42 ||
		    cw_parse(out, n, key, sizeof(key), &type, &m, &a, &why) == 0)
			abort();
	} else if (why == NULL) {
		abort();
	}
	nodes_round_trip(buf, size + WIRE_MAC_LEN);
	return 0;
}
