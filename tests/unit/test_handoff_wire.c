/*
 * Handoff protocols: channel frames (round trip, blobs split over records,
 * MAC, sequence, every truncation and bit flip refused, channel keys differ)
 * and the node -> switch report (round trip v4/v6, forged refused), the
 * HELLO name read before its key is chosen, the frame size limit before a
 * channel is up, version 1 refused, the replay window (epoch, seq).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"
#include "check.h"
#include "lib/handoff_wire.h"

int main(void)
{
	struct ho_key key = { .len = 32 }, other = { .len = 32 }, ck1, ck2;
	struct ho_frame f = { 0 };
	struct ho_hdr h;
	const uint8_t *body;
	size_t total;
	struct lb_flow_key k, k2;
	struct taddr c, v;

	memset(key.k, 7, 32);
	memset(other.k, 8, 32);
	taddr_parse("10.77.1.10", &c);
	taddr_parse("10.77.1.100", &v);
	flowkey_make(&k, &c, 40000, &v, 80, 6);

	/* OPEN with a flow and a size */
	ho_begin(&f, HO_T_OPEN, 42);
	ho_add_flow(&f, &k);
	ho_add_u64(&f, HO_R_SIZE, 123456789);
	size_t n = ho_seal(&f, &key, 1);
	CHECK(n > 0 && ho_parse(f.buf, n, &key, 1, HO_MAX_FRAME, &h, &body, &total) == HO_OK && total == n &&
	      h.type == HO_T_OPEN && h.txid == 42 && h.seq == 1, "OPEN round trip");
	size_t off = 0;
	uint16_t rt, rl;
	const uint8_t *val;
	uint64_t sz = 0;
	CHECK(wire_tlv_next(body, h.body_len, &off, &rt, &val, &rl) == 1 && rt == HO_R_FLOW &&
	      ho_decode_flow(val, rl, &k2) == 0 && !memcmp(&k, &k2, sizeof(k)), "flow record round trip");
	CHECK(wire_tlv_next(body, h.body_len, &off, &rt, &val, &rl) == 1 && rt == HO_R_SIZE &&
	      ho_decode_u64(val, rl, &sz) == 0 && sz == 123456789, "size record round trip");
	CHECK(ho_parse(f.buf, n, &key, 2, HO_MAX_FRAME, &h, &body, &total) == HO_E_SEQ, "wrong sequence refused");
	CHECK(ho_parse(f.buf, n, &other, 1, HO_MAX_FRAME, &h, &body, &total) == HO_E_MAC, "wrong key refused");
	int all = 1;
	for (size_t l = 0; l < n; l++)
		all &= ho_parse(f.buf, l, &key, 1, HO_MAX_FRAME, &h, &body, &total) != HO_OK;
	CHECK(all, "every truncation is incomplete or refused");
	for (size_t i = 4; i < n; i++) {
		f.buf[i] ^= 0x10;
		all &= ho_parse(f.buf, n, &key, 1, HO_MAX_FRAME, &h, &body, &total) != HO_OK;
		f.buf[i] ^= 0x10;
	}
	CHECK(all, "a flipped bit anywhere after the length is refused");

	/* UPDATE with a 200 KiB blob: split into records, collected back */
	size_t blen = 200 * 1024;
	uint8_t *blob = malloc(blen), *back = NULL;
	size_t backlen = 0;
	for (size_t i = 0; i < blen; i++)
		blob[i] = (uint8_t)(i * 31 + 7);
	ho_begin(&f, HO_T_UPDATE, 43);
	ho_add(&f, HO_R_TCP_STATE, blob, blen);
	ho_add(&f, HO_R_APP_STATE, "app", 3);
	n = ho_seal(&f, &key, 2);
	CHECK(ho_parse(f.buf, n, &key, 2, HO_MAX_FRAME, &h, &body, &total) == HO_OK, "UPDATE with a large blob parses");
	CHECK(ho_collect(body, h.body_len, HO_R_TCP_STATE, 1 << 20, &back, &backlen) == 0 &&
	      backlen == blen && !memcmp(back, blob, blen), "blob collected intact from %zu-byte records", (size_t)65535);
	free(back);
	CHECK(ho_collect(body, h.body_len, HO_R_TCP_STATE, 1000, &back, &backlen) < 0, "collect limit enforced");
	CHECK(ho_parse(f.buf, 4, &key, 2, HO_HELLO_MAX, &h, &body, &total) == HO_E_LENGTH,
	      "before the channel is up, a frame over HO_HELLO_MAX is refused from its length field alone");
	free(blob);

	/* Two frames back to back in one buffer (a TCP stream) */
	struct ho_frame g = { 0 };
	ho_begin(&g, HO_T_ACK, 43);
	size_t n2 = ho_seal(&g, &key, 3);
	uint8_t *both = malloc(n + n2);
	memcpy(both, f.buf, n);
	memcpy(both + n, g.buf, n2);
	CHECK(ho_parse(both, n + n2, &key, 2, HO_MAX_FRAME, &h, &body, &total) == HO_OK && total == n &&
	      ho_parse(both + total, n2, &key, 3, HO_MAX_FRAME, &h, &body, &total) == HO_OK && h.type == HO_T_ACK,
	      "frames are delimited in a stream");
	free(both);

	/* FAIL reason */
	ho_begin(&g, HO_T_FAIL, 44);
	ho_add_reason(&g, 7, "restore failed\x01");
	n2 = ho_seal(&g, &key, 4);
	char text[64];
	uint16_t code = 0;
	off = 0;
	CHECK(ho_parse(g.buf, n2, &key, 4, HO_MAX_FRAME, &h, &body, &total) == HO_OK &&
	      wire_tlv_next(body, h.body_len, &off, &rt, &val, &rl) == 1 &&
	      ho_decode_reason(val, rl, &code, text, sizeof(text)) == 0 && code == 7 &&
	      !strcmp(text, "restore failed?"), "FAIL reason decoded, control bytes neutralised");

	/* PREPARE (half handoff): no transaction, the requests as APP_STATE
	 * records, collected back whole; a type past it is refused */
	ho_begin(&g, HO_T_PREPARE, 0);
	ho_add_flow(&g, &k);
	ho_add(&g, HO_R_SERVICE, "http", 4);
	static const char reqs[] = "GET /a HTTP/1.1\r\nHost: v\r\n\r\nGET /b HTTP/1.1\r\nHost: v\r\n\r\n";
	ho_add(&g, HO_R_APP_STATE, reqs, sizeof(reqs) - 1);
	n2 = ho_seal(&g, &key, 5);
	uint8_t *got = NULL;
	size_t gotlen = 0;
	CHECK(ho_parse(g.buf, n2, &key, 5, HO_MAX_FRAME, &h, &body, &total) == HO_OK &&
	      h.type == HO_T_PREPARE && h.txid == 0 &&
	      ho_collect(body, h.body_len, HO_R_APP_STATE, 65536, &got, &gotlen) == 0 &&
	      gotlen == sizeof(reqs) - 1 && !memcmp(got, reqs, gotlen), "PREPARE round trip");
	free(got);
	g.buf[7] = HO_T_MAX;
	wire_hmac(key.k, key.len, g.buf + 4, n2 - 4 - WIRE_MAC_LEN, g.buf + n2 - WIRE_MAC_LEN);
	CHECK(ho_parse(g.buf, n2, &key, 5, HO_MAX_FRAME, &h, &body, &total) == HO_E_TYPE,
	      "a type past PREPARE is refused");

	/* Length field lies */
	uint8_t bad[64] = { 0, 0, 0, 60 };
	CHECK(ho_parse(bad, 64, &key, 1, HO_MAX_FRAME, &h, &body, &total) == HO_E_LENGTH, "inconsistent body_len refused");
	uint8_t huge[8] = { 0xff, 0xff, 0xff, 0xff };
	CHECK(ho_parse(huge, 8, &key, 1, HO_MAX_FRAME, &h, &body, &total) == HO_E_LENGTH, "oversized frame refused");

	/* A version 1 frame (the shared-key protocol) is refused */
	ho_begin(&g, HO_T_ACK, 1);
	n2 = ho_seal(&g, &key, 1);
	g.buf[6] = 1;
	wire_hmac(key.k, key.len, g.buf + 4, n2 - 4 - WIRE_MAC_LEN, g.buf + n2 - WIRE_MAC_LEN);
	CHECK(ho_parse(g.buf, n2, &key, 1, HO_MAX_FRAME, &h, &body, &total) == HO_E_VERSION,
	      "a version 1 frame is refused");

	/* HELLO: the name it claims, read before its key is known */
	uint8_t nonce[HO_NONCE_LEN] = { 9 };
	char nm[64];
	ho_begin(&g, HO_T_HELLO, 0);
	ho_add(&g, HO_R_NODE, "n1", 2);
	ho_add(&g, HO_R_NONCE, nonce, sizeof(nonce));
	n2 = ho_seal(&g, &key, 1);
	CHECK(ho_hello_name(g.buf, n2, nm, sizeof(nm)) == HO_OK && !strcmp(nm, "n1"), "HELLO names n1");
	all = 1;
	for (size_t l = 0; l < n2; l++)
		all &= ho_hello_name(g.buf, l, nm, sizeof(nm)) == HO_E_SHORT;
	CHECK(all, "a cut HELLO: read more");
	CHECK(ho_hello_name(g.buf, n2, nm, 2) == HO_E_RECORD, "a name that does not fit is refused");
	ho_begin(&g, HO_T_HELLO, 0);
	ho_add(&g, HO_R_NODE, "n1", 2);
	ho_add(&g, HO_R_NODE, "n2", 2);
	n2 = ho_seal(&g, &key, 1);
	CHECK(ho_hello_name(g.buf, n2, nm, sizeof(nm)) == HO_E_RECORD, "two names are refused");
	ho_begin(&g, HO_T_HELLO, 0);
	ho_add(&g, HO_R_NONCE, nonce, sizeof(nonce));
	n2 = ho_seal(&g, &key, 1);
	CHECK(ho_hello_name(g.buf, n2, nm, sizeof(nm)) == HO_E_RECORD, "no name is refused");
	ho_begin(&g, HO_T_OPEN, 0);
	ho_add(&g, HO_R_NODE, "n1", 2);
	n2 = ho_seal(&g, &key, 1);
	CHECK(ho_hello_name(g.buf, n2, nm, sizeof(nm)) == HO_E_TYPE, "not a HELLO is refused");
	uint8_t big[2048];
	memset(big, 'a', sizeof(big));
	ho_begin(&g, HO_T_HELLO, 0);
	ho_add(&g, HO_R_NODE, big, sizeof(big));
	n2 = ho_seal(&g, &key, 1);
	CHECK(ho_hello_name(g.buf, 4, nm, sizeof(nm)) == HO_E_LENGTH, "a HELLO over HO_HELLO_MAX is refused at once");

	/* Channel keys depend on both nonces and their order */
	uint8_t na[HO_NONCE_LEN] = { 1 }, nb[HO_NONCE_LEN] = { 2 };
	ho_channel_key(&key, na, nb, &ck1);
	ho_channel_key(&key, nb, na, &ck2);
	CHECK(ck1.len == 32 && memcmp(ck1.k, ck2.k, 32), "channel key depends on nonce order");
	ho_channel_key(&other, na, nb, &ck2);
	CHECK(memcmp(ck1.k, ck2.k, 32), "channel key depends on the pair key");
	ho_frame_free(&f);
	ho_frame_free(&g);

	/* Report */
	struct ho_report r = { .op = HO_OP_REDIRECT, .nonce = 0xabcdef, .txid = 9, .cluster = 77,
			       .key = k, .node_key = 0x12345678, .sender = 0x1111, .seq = 99,
			       .switch_id = 3, .epoch = 1700000000000000001ull, .peer_epoch = 42,
			       .held = 7 }, r2;
	uint8_t rb[HO_REPORT_MAX];
	const char *why = "";
	size_t rl4 = ho_report_encode(&r, key.k, key.len, rb);
	CHECK(ho_report_parse(rb, rl4, key.k, key.len, &r2, &why) == 0 && r2.op == HO_OP_REDIRECT &&
	      r2.nonce == 0xabcdef && r2.txid == 9 && r2.cluster == 77 && !memcmp(&r2.key, &k, sizeof(k)) &&
	      r2.node_key == 0x12345678 && r2.sender == 0x1111 && r2.seq == 99, "IPv4 report round trip (%s)", why);
	CHECK(r2.switch_id == 3 && r2.epoch == 1700000000000000001ull && r2.peer_epoch == 42 &&
	      r2.held == 7, "... with switch id, both epochs and held");
	uint32_t snd = 0;
	CHECK(ho_report_sender(rb, rl4, &snd) == 0 && snd == 0x1111 && ho_report_sender(rb, rl4 - 1, &snd) < 0,
	      "the sender is read before the key is chosen");
	CHECK(ho_report_parse(rb, rl4, other.k, other.len, &r2, &why) < 0 && !strcmp(why, "bad_mac"),
	      "forged report refused: %s", why);
	rb[0] = (uint8_t)(1 << 4 | HO_OP_REDIRECT);
	wire_hmac(key.k, key.len, rb, rl4 - WIRE_MAC_LEN, rb + rl4 - WIRE_MAC_LEN);
	CHECK(ho_report_parse(rb, rl4, key.k, key.len, &r2, &why) < 0 && !strcmp(why, "bad_version"),
	      "a version 1 report is refused: %s", why);
	rl4 = ho_report_encode(&r, key.k, key.len, rb);
	all = 1;
	for (size_t l = 0; l < rl4; l++)
		all &= ho_report_parse(rb, l, key.k, key.len, &r2, &why) < 0;
	CHECK(all, "every truncated report refused");
	taddr_parse("fd77:1::10", &c);
	taddr_parse("fd77:1::100", &v);
	flowkey_make(&r.key, &c, 40001, &v, 80, 6);
	size_t rl6 = ho_report_encode(&r, key.k, key.len, rb);
	CHECK(rl6 == HO_REPORT_MAX && ho_report_parse(rb, rl6, key.k, key.len, &r2, &why) == 0 &&
	      !memcmp(&r2.key, &r.key, sizeof(r.key)), "IPv6 report round trip");
	/* MOVE (switch -> node) parses; an op beyond it does not */
	r.op = HO_OP_MOVE;
	r.sender = 0;
	rl6 = ho_report_encode(&r, key.k, key.len, rb);
	CHECK(ho_report_parse(rb, rl6, key.k, key.len, &r2, &why) == 0 && r2.op == HO_OP_MOVE &&
	      r2.sender == 0 && r2.node_key == 0x12345678, "MOVE report round trip (%s)", why);
	/* LOAD (node -> switch): sessions in nonce, MiB/s in txid */
	r.op = HO_OP_LOAD;
	r.nonce = 123456;
	r.txid = 789;
	r.sender = 0x12345678;
	memset(&r.key, 0, sizeof(r.key));
	r.key.family = 4;
	rl6 = ho_report_encode(&r, key.k, key.len, rb);
	CHECK(ho_report_parse(rb, rl6, key.k, key.len, &r2, &why) == 0 && r2.op == HO_OP_LOAD &&
	      r2.nonce == 123456 && r2.txid == 789, "LOAD report round trip (%s)", why);
	r.op = HO_OP_ACK;
	r.status = HO_ST_STALE;
	rl6 = ho_report_encode(&r, key.k, key.len, rb);
	CHECK(ho_report_parse(rb, rl6, key.k, key.len, &r2, &why) == 0 && r2.status == HO_ST_STALE,
	      "the switch's STALE answer to a LOAD (no flow) parses (%s)", why);
	r.op = HO_OP_REDIRECT;
	rl6 = ho_report_encode(&r, key.k, key.len, rb);
	CHECK(ho_report_parse(rb, rl6, key.k, key.len, &r2, &why) < 0 && !strcmp(why, "bad_protocol"),
	      "a REDIRECT without a flow is refused: %s", why);
	r.op = HO_OP_RECLAIM + 1;
	rl6 = ho_report_encode(&r, key.k, key.len, rb);
	CHECK(ho_report_parse(rb, rl6, key.k, key.len, &r2, &why) < 0 && !strcmp(why, "bad_op"),
	      "op %d refused: %s", HO_OP_RECLAIM + 1, why);

	/* Replay window: per sender (epoch, seq) */
	struct ho_window w = { 0, 0 };
	CHECK(ho_fresh(&w, 0, 1, 1) == 0, "epoch 0 is never taken");
	CHECK(ho_fresh(&w, 100, 1, 0) == 1 && w.epoch == 0, "first message: new (not committed yet)");
	CHECK(ho_fresh(&w, 100, 1, 1) == 1 && w.epoch == 100 && w.seq == 1, "... committed");
	CHECK(ho_fresh(&w, 100, 1, 1) == 0 && ho_fresh(&w, 100, 0, 1) == 0, "the same seq again: a replay");
	CHECK(ho_fresh(&w, 100, 5, 1) == 1 && ho_fresh(&w, 100, 3, 1) == 0, "seq grows; a lower one is a replay");
	CHECK(ho_fresh(&w, 99, 1000, 1) == -1 && w.epoch == 100, "an older epoch: stale, nothing changes");
	CHECK(ho_fresh(&w, 200, 1, 1) == 1 && w.epoch == 200 && w.seq == 1,
	      "a new epoch (the sender restarted): a new window");
	CHECK(ho_fresh(&w, 100, 6, 1) == -1, "... and the old epoch is refused from then on");
	uint64_t e1 = ho_new_epoch(0), e2 = ho_new_epoch(UINT64_MAX - 5);
	CHECK(e1 > 1600000000000000000ull && e2 == UINT64_MAX - 4, "new epochs: the clock, or above the floor");
	return check_done();
}
