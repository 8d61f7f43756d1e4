/* libFuzzer target: the handoff channel frame parser (with the record
 * collectors behind it) and the node -> switch report parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/handoff_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const uint8_t *body, size_t len)
{
	size_t off = 0;
	uint16_t rt, rl;
	const uint8_t *v;
	uint8_t *blob;
	size_t blen;

	while (wire_tlv_next(body, len, &off, &rt, &v, &rl) == 1) {
		struct lb_flow_key k;
		uint64_t u;
		uint16_t code;
		char text[64];
		(void)ho_decode_flow(v, rl, &k);
		(void)ho_decode_u64(v, rl, &u);
		(void)ho_decode_reason(v, rl, &code, text, sizeof(text));
	}
	if (ho_collect(body, len, HO_R_TCP_STATE, 1 << 20, &blob, &blen) == 0)
		free(blob);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ho_key key = { .len = 32 };
	struct ho_hdr h;
	const uint8_t *body;
	size_t total;
	struct ho_report r;
	const char *why;

	if (ho_parse(data, size, &key, 1, &h, &body, &total) == HO_OK)
		walk(body, h.body_len);
	(void)ho_report_parse(data, size, key.k, key.len, &r, &why);
	/* Wrap the bytes as the body of a valid frame so the record walk and
	 * collectors behind the MAC check see arbitrary bodies too. */
	if (size <= 4096) {
		uint8_t f[4 + HO_HDR_LEN + 4096 + WIRE_MAC_LEN];
		size_t flen = HO_HDR_LEN + size + WIRE_MAC_LEN;
		memset(f, 0, 4 + HO_HDR_LEN);
		wire_put32(f, (uint32_t)flen);
		wire_put16(f + 4, HO_MAGIC);
		f[6] = HO_VERSION;
		f[7] = HO_T_UPDATE;
		wire_put64(f + 12, 1);
		wire_put32(f + 20, (uint32_t)size);
		memcpy(f + 4 + HO_HDR_LEN, data, size);
		wire_hmac(key.k, key.len, f + 4, HO_HDR_LEN + size, f + 4 + HO_HDR_LEN + size);
		if (ho_parse(f, 4 + flen, &key, 1, &h, &body, &total) == HO_OK)
			walk(body, h.body_len);
	}
	return 0;
}
