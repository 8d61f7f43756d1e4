/* libFuzzer target: the handoff channel frame parser (with the record
 * collectors behind it, and the HELLO name read before a key is chosen,
 * under both frame limits) and the node -> switch report parser (with the
 * sender read before the key is chosen, and the replay window the parsed
 * report's epoch and seq go through), and a node's handoff key file
 * (lib/handoff_key.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/handoff_key.h"
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
	char name[64];
	uint32_t sender;

	if (ho_parse(data, size, &key, 1, HO_MAX_FRAME, &h, &body, &total) == HO_OK)
		walk(body, h.body_len);
	if (ho_parse(data, size, &key, 1, HO_HELLO_MAX, &h, &body, &total) == HO_OK && total > 4 + HO_HELLO_MAX)
		abort();	/* the limit before a channel is up */
	if (ho_hello_name(data, size, name, sizeof(name)) == HO_OK && strlen(name) >= sizeof(name))
		abort();
	(void)ho_report_sender(data, size, &sender);
	if (size < 16384) {	/* as a key file's text */
		static struct hokey_set ks;
		char text[16384], err[200];
		uint8_t pk[HOKEY_LEN];
		memcpy(text, data, size);
		text[size] = '\0';
		if (hokey_parse(text, "n1", &ks, err, sizeof(err)) == 0 &&
		    (strcmp(ks.self, "n1") || (!ks.from_master && ks.npeers > HOKEY_MAX_PEERS)))
			abort();
		(void)hokey_peer(&ks, "n2", pk);
	}
	if (ho_report_parse(data, size, key.k, key.len, &r, &why) == 0) {
		struct ho_window w = { 5, 5 };
		int f0 = ho_fresh(&w, r.epoch, r.seq, 0), f1 = ho_fresh(&w, r.epoch, r.seq, 1);
		if (f0 != f1 || (f1 == 1 && ho_fresh(&w, r.epoch, r.seq, 1) != 0))
			abort();	/* check and commit agree; a taken message is never taken again */
	}
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
		if (ho_parse(f, 4 + flen, &key, 1, HO_MAX_FRAME, &h, &body, &total) == HO_OK)
			walk(body, h.body_len);
		f[7] = HO_T_HELLO;	/* the same body as a HELLO: its name */
		(void)ho_hello_name(f, 4 + flen, name, sizeof(name));
	}
	return 0;
}
