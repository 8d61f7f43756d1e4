/* libFuzzer target: the sync protocol parser and record decoders must reject
 * malformed input cleanly.  Inputs are authenticated with a fixed key, and
 * the harness also re-seals each input so the fuzzer reaches the record
 * decoders behind the MAC check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sessionsync/sync_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every decoder on every record, whatever the message type: more than
 * sync_body_valid reaches (it decodes only the records the type carries),
 * which the target runs as well. */
static void walk(uint8_t msg_type, const uint8_t *body, size_t blen)
{
	size_t off = 0;
	uint16_t type, len;
	const uint8_t *val;
	int rc;

	while ((rc = sync_next_record(body, blen, &off, &type, &val, &len)) == 1) {
		struct sync_flow f;
		struct sync_hello h;
		struct sync_range r;
		struct sync_resync s;
		switch (type) {
		case SYNC_R_FLOW: (void)sync_decode_flow(val, len, &f); break;
		case SYNC_R_HELLO: (void)sync_decode_hello(val, len, &h); break;
		case SYNC_R_RANGE: (void)sync_decode_range(val, len, &r); break;
		case SYNC_R_RESYNC: (void)sync_decode_resync(val, len, &s); break;
		default: break;
		}
		if (off > blen)
			abort();
	}
	(void)sync_body_valid(msg_type, body, blen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sync_key key = { .len = 32 };
	struct sync_hdr h;
	const uint8_t *body;
	size_t blen;

	if (sync_parse(data, size, &key, &h, &body, &blen) == SYNC_OK)
		walk(h.type, body, blen);
	/* Same bytes, sealed: exercises everything behind the MAC. */
	if (size >= SYNC_HDR_LEN && size <= SYNC_MAX_MSG - SYNC_MAC_LEN) {
		struct sync_builder b;
		memcpy(b.buf, data, size);
		b.len = size;
		size_t n = sync_seal(&b, &key, 1 + (data[0] & 7), 0, data[0] >> 3);
		if (sync_parse(b.buf, n, &key, &h, &body, &blen) == SYNC_OK)
			walk(h.type, body, blen);
	}
	return 0;
}
