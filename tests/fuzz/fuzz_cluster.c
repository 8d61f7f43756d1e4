/* libFuzzer target: the cluster map codec (lib/cluster_wire.h).  Input is
 * parsed twice: as is (the MAC must refuse it), and re-MACed with the test
 * key so the body parser is reached.  A map that parses must encode back to
 * the same bytes (the format has one encoding per map). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cluster_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[32] = "fuzz-fuzz-fuzz-fuzz-fuzz-fuzz-fu";

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
	return 0;
}
