/*
 * Sync protocol codec: round trip of every record kind, authentication
 * (forged MAC, wrong key, flipped bit anywhere), malformed headers and
 * records, and the replay window.
 */
#include <arpa/inet.h>
#include <string.h>

#include "lib/addr.h"
#include "check.h"
#include "sessionsync/sync_wire.h"

static struct sync_key key, other;

static size_t build_data(struct sync_builder *b, int nflows, uint64_t seq)
{
	struct sync_hdr h = { .type = SYNC_T_DATA, .sender = 7, .epoch = 100, .dseq = seq };
	struct taddr c, v;

	sync_begin(b, &h);
	taddr_parse("10.77.1.10", &c);
	taddr_parse("10.77.1.100", &v);
	for (int i = 0; i < nflows; i++) {
		struct sync_flow f = { .op = SYNC_FLOW_ADD, .node_key = 0xabcd0000u + (uint32_t)i,
				       .flags = 1, .packets = 10, .bytes = 1000ull << 32 };
		flowkey_make(&f.key, &c, (uint16_t)(40000 + i), &v, 80, 6);
		if (sync_add_flow(b, &f) < 0)
			break;
	}
	return sync_seal(b, &key, seq, 5, 4242);
}

int main(void)
{
	struct sync_builder b;
	struct sync_hdr h;
	const uint8_t *body, *val;
	size_t blen, off;
	uint16_t type, len;
	int n;

	CHECK(sync_key_from_hex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", &key) == 0 &&
	      key.len == 32, "key from hex");
	CHECK(sync_key_from_hex("0011", &other) < 0 && sync_key_from_hex("zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", &other) < 0,
	      "short or non-hex keys refused");
	other = key;
	other.k[0] ^= 1;

	size_t dl = build_data(&b, 3, 1);
	CHECK(dl == SYNC_HDR_LEN + 3 * (4 + SYNC_FLOW_LEN) + SYNC_MAC_LEN, "DATA length %zu", dl);
	CHECK(sync_parse(b.buf, dl, &key, &h, &body, &blen) == SYNC_OK && h.type == SYNC_T_DATA &&
	      h.sender == 7 && h.epoch == 100 && h.seq == 1 && h.dseq == 1 && h.ack == 5 &&
	      h.peer_epoch == 4242, "DATA parses with its header (receiver's epoch included)");
	CHECK(SYNC_HDR_LEN == 44 && b.buf[2] == 2, "version 2: a 44-byte header");
	{
		struct sync_builder v1 = b;
		v1.buf[2] = 1;
		v1.len = dl - SYNC_MAC_LEN;
		size_t l1 = sync_seal(&v1, &key, 2, 5, 4242);
		CHECK(sync_parse(v1.buf, l1, &key, &h, &body, &blen) == SYNC_E_VERSION,
		      "a version 1 message is refused as bad_version");
		struct sync_builder re = b;
		re.len = dl - SYNC_MAC_LEN;
		re.buf[41] ^= 1;	/* peer_epoch changed after sealing: MAC fails */
		CHECK(sync_parse(re.buf, dl, &key, &h, &body, &blen) == SYNC_E_MAC,
		      "peer_epoch is covered by the MAC");
	}
	off = 0;
	n = 0;
	int good = 1;
	while (sync_next_record(body, blen, &off, &type, &val, &len) == 1) {
		struct sync_flow f;
		good &= type == SYNC_R_FLOW && sync_decode_flow(val, len, &f) == 0 &&
			f.node_key == 0xabcd0000u + (uint32_t)n && f.key.sport == htons((uint16_t)(40000 + n)) &&
			f.key.dport == htons(80) && f.bytes == 1000ull << 32 && f.key.family == 4;
		n++;
	}
	CHECK(good && n == 3, "three flow records round-trip");
	CHECK(sync_body_valid(SYNC_T_DATA, body, blen), "DATA with flow records is valid");
	CHECK(!sync_body_valid(SYNC_T_HELLO, body, blen), "flow records in a HELLO are not");
	CHECK(!sync_body_valid(SYNC_T_DATA, body, blen - 1), "a cut-short record is not");
	n = 0;
	build_data(&b, 1000, 2);
	off = 0;
	while (sync_next_record(b.buf + SYNC_HDR_LEN, b.len - SYNC_HDR_LEN, &off, &type, &val, &len) == 1)
		n++;
	CHECK(n == (SYNC_MAX_BODY / (4 + SYNC_FLOW_LEN)), "builder stops at the MTU (%d flows)", n);

	/* Authentication */
	dl = build_data(&b, 2, 3);
	CHECK(sync_parse(b.buf, dl, &other, &h, &body, &blen) == SYNC_E_MAC, "wrong key refused");
	int all = 1;
	for (size_t i = 0; i < dl; i++) {
		for (int bit = 0; bit < 8; bit++) {
			b.buf[i] ^= (uint8_t)(1 << bit);
			enum sync_err e = sync_parse(b.buf, dl, &key, &h, &body, &blen);
			all &= e != SYNC_OK;
			b.buf[i] ^= (uint8_t)(1 << bit);
		}
	}
	CHECK(all, "every single-bit flip of a %zu-byte message is refused", dl);
	for (size_t l = 0; l < dl; l++)
		if (sync_parse(b.buf, l, &key, &h, &body, &blen) == SYNC_OK)
			all = 0;
	CHECK(all, "every truncation is refused");

	/* Other kinds */
	struct sync_hdr hh = { .type = SYNC_T_HELLO, .sender = 9, .epoch = 1 };
	struct sync_hello hello = { .role = 2, .synced = 1, .heard = 0x8005, .flows = 12345, .resyncs = 3 },
			  hello2;
	sync_begin(&b, &hh);
	sync_add_hello(&b, &hello);
	dl = sync_seal(&b, &key, 77, 0, 0);
	off = 0;
	CHECK(sync_parse(b.buf, dl, &key, &h, &body, &blen) == SYNC_OK &&
	      sync_next_record(body, blen, &off, &type, &val, &len) == 1 && type == SYNC_R_HELLO &&
	      sync_decode_hello(val, len, &hello2) == 0 && hello2.role == 2 && hello2.synced == 1 &&
	      hello2.flows == 12345 && hello2.resyncs == 3 && hello2.heard == 0x8005,
	      "HELLO round trip (the group's heard mask too)");
	struct sync_hdr nh = { .type = SYNC_T_NACK, .sender = 9, .epoch = 1 };
	struct sync_range r = { 5, 9 }, r2;
	sync_begin(&b, &nh);
	sync_add_range(&b, &r);
	dl = sync_seal(&b, &key, 78, 0, 0);
	off = 0;
	CHECK(sync_parse(b.buf, dl, &key, &h, &body, &blen) == SYNC_OK &&
	      sync_next_record(body, blen, &off, &type, &val, &len) == 1 &&
	      sync_decode_range(val, len, &r2) == 0 && r2.from == 5 && r2.to == 9, "NACK range round trip");
	CHECK(sync_body_valid(SYNC_T_NACK, body, blen) && !sync_body_valid(SYNC_T_DATA, body, blen),
	      "a range is valid in a NACK only");
	uint8_t bad[16] = { 0 };
	CHECK(sync_decode_range(bad, 16, &r2) < 0, "range from 0 refused");
	CHECK(sync_decode_hello(bad, 15, &hello2) < 0, "hello with wrong length refused");
	uint8_t fl[SYNC_FLOW_LEN] = { 3, 4, 6 };
	struct sync_flow f;
	CHECK(sync_decode_flow(fl, SYNC_FLOW_LEN, &f) < 0, "flow with unknown op refused");
	fl[0] = SYNC_FLOW_ADD;
	fl[1] = 5;
	CHECK(sync_decode_flow(fl, SYNC_FLOW_LEN, &f) < 0, "flow with family 5 refused");
	fl[1] = 4;
	fl[10] = 1;
	CHECK(sync_decode_flow(fl, SYNC_FLOW_LEN, &f) < 0, "IPv4 flow with junk in the address tail refused");

	/* A record that overruns the body */
	uint8_t body2[8] = { 0, 1, 0, 200, 1, 2, 3, 4 };
	off = 0;
	CHECK(sync_next_record(body2, sizeof(body2), &off, &type, &val, &len) < 0, "overlong record refused");
	off = 0;
	CHECK(sync_next_record(body2, 3, &off, &type, &val, &len) < 0, "partial record header refused");

	/* Reliable types need a dseq, others must not have one */
	struct sync_hdr bad_h = { .type = SYNC_T_DATA, .sender = 1, .epoch = 1, .dseq = 0 };
	sync_begin(&b, &bad_h);
	dl = sync_seal(&b, &key, 1, 0, 0);
	CHECK(sync_parse(b.buf, dl, &key, &h, &body, &blen) == SYNC_E_LENGTH, "DATA without dseq refused");

	/* Replay window */
	struct sync_replay rp = { 0 };
	CHECK(sync_replay_check(&rp, 100, 1) == SYNC_OK, "first message accepted");
	sync_replay_commit(&rp, 100, 1);
	CHECK(sync_replay_check(&rp, 100, 1) == SYNC_E_REPLAY, "same seq again refused");
	sync_replay_commit(&rp, 100, 5);
	CHECK(sync_replay_check(&rp, 100, 3) == SYNC_OK, "late but unseen seq accepted (reordering)");
	sync_replay_commit(&rp, 100, 3);
	CHECK(sync_replay_check(&rp, 100, 3) == SYNC_E_REPLAY, "late seq seen once refused after");
	sync_replay_commit(&rp, 100, 5000);
	CHECK(sync_replay_check(&rp, 100, 5000 - SYNC_WINDOW) == SYNC_E_REPLAY, "left of the window refused");
	CHECK(sync_replay_check(&rp, 100, 4999) == SYNC_OK, "inside the window, unseen: accepted");
	CHECK(sync_replay_check(&rp, 99, 6000) == SYNC_E_REPLAY, "older epoch refused");
	CHECK(sync_replay_check(&rp, 101, 1) == SYNC_OK, "newer epoch (peer restarted) accepted");
	sync_replay_commit(&rp, 101, 1);
	CHECK(sync_replay_check(&rp, 100, 4999) == SYNC_E_REPLAY, "after the restart, the old epoch is refused");
	return check_done();
}
