/*
 * test_tch_state.c - the frozen-connection state format (storage/tch/tch_state.h):
 * round trips (IPv4, IPv6, empty and multi-chunk queues), every truncation
 * refused (with the header's length left alone and with it patched to the
 * cut), every field and structure corruption refused with the right error,
 * extension records skipped, the encoder's own checks, bounds; the kick's
 * segments (tch_kick_segment).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "check.h"
#include "storage/tch/tch.h"
#include "storage/tch/tch_held.h"
#include "storage/tch/tch_state.h"
#include "lib/wire.h"

static uint8_t *pattern(size_t n, unsigned seed)
{
	uint8_t *p = n ? malloc(n) : NULL;
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

/* A plausible IPv4 state with the given queue sizes. */
static void make_state(struct tch_state *st, size_t unacked, size_t unsent, size_t recv, size_t app)
{
	memset(st, 0, sizeof(*st));
	st->family = 4;
	inet_pton(AF_INET, "10.77.1.100", st->local_addr);
	inet_pton(AF_INET, "10.77.1.10", st->remote_addr);
	st->local_port = 5201;
	st->remote_port = 40001;
	st->snd_seq = 0xfffff000u;	/* send queue wraps around 2^32 */
	st->rcv_seq = 123456789;
	st->snd_wl1 = st->rcv_seq - 10;
	st->snd_wnd = 65535 << 7;
	st->max_window = 65535 << 7;
	st->rcv_wnd = 3000000;
	st->rcv_wup = st->rcv_seq - 100;
	st->mss = 1448;
	st->snd_wscale = 7;
	st->rcv_wscale = 9;
	st->opts = TCH_OPT_SACK | TCH_OPT_TS | TCH_OPT_WSCALE;
	st->ts_val = 0xdeadbeef;
	st->sndbuf = 2 << 20;
	st->rcvbuf = 6 << 20;
	st->sock_flags = TCH_SOCK_NODELAY;
	st->unacked_len = unacked;
	st->unsent_len = unsent;
	st->sendq = pattern(unacked + unsent, 1);
	st->recv_len = recv;
	st->recvq = pattern(recv, 2);
	st->app_len = app;
	st->app = pattern(app, 3);
}

static int same(const struct tch_state *a, const struct tch_state *b)
{
	size_t sq = a->unacked_len + a->unsent_len;

	return a->family == b->family && !memcmp(a->local_addr, b->local_addr, 16) &&
	       !memcmp(a->remote_addr, b->remote_addr, 16) && a->local_port == b->local_port &&
	       a->remote_port == b->remote_port && a->snd_seq == b->snd_seq &&
	       a->rcv_seq == b->rcv_seq && a->snd_wl1 == b->snd_wl1 && a->snd_wnd == b->snd_wnd &&
	       a->max_window == b->max_window && a->rcv_wnd == b->rcv_wnd &&
	       a->rcv_wup == b->rcv_wup && a->mss == b->mss && a->snd_wscale == b->snd_wscale &&
	       a->rcv_wscale == b->rcv_wscale && a->opts == b->opts && a->ts_val == b->ts_val &&
	       a->sndbuf == b->sndbuf && a->rcvbuf == b->rcvbuf && a->sock_flags == b->sock_flags &&
	       a->unacked_len == b->unacked_len && a->unsent_len == b->unsent_len &&
	       a->recv_len == b->recv_len && a->app_len == b->app_len &&
	       (!sq || !memcmp(a->sendq, b->sendq, sq)) &&
	       (!a->recv_len || !memcmp(a->recvq, b->recvq, a->recv_len)) &&
	       (!a->app_len || !memcmp(a->app, b->app, a->app_len));
}

static uint8_t *encode(const struct tch_state *st, size_t *len)
{
	size_t cap = tch_state_encoded_len(st);
	uint8_t *buf = malloc(cap);
	char why[160];

	if (tch_state_encode(st, buf, cap, len, why, sizeof(why)) != TCH_OK) {
		printf("# encode failed: %s\n", why);
		free(buf);
		return NULL;
	}
	return buf;
}

static enum tch_err decode(const uint8_t *buf, size_t len)
{
	struct tch_state st;
	char why[160] = "";
	enum tch_err e = tch_state_decode(buf, len, &st, why, sizeof(why));

	if (e == TCH_OK)
		tch_state_free(&st);
	else if (!why[0])
		printf("# error %s without a message\n", tch_err_name(e));
	return e;
}

static void round_trip(const char *what, struct tch_state *st)
{
	struct tch_state back;
	size_t len;
	char why[160];
	uint8_t *buf = encode(st, &len);

	CHECK(buf && len == tch_state_encoded_len(st), "%s: encodes to tch_state_encoded_len bytes", what);
	if (!buf)
		return;
	enum tch_err e = tch_state_decode(buf, len, &back, why, sizeof(why));
	CHECK(e == TCH_OK, "%s: decodes (%s)", what, e == TCH_OK ? "ok" : why);
	if (e == TCH_OK) {
		CHECK(same(st, &back), "%s: decoded state equals the original", what);
		tch_state_free(&back);
	}
	free(buf);
}

/* Offset of the first record of type t in an encoding (its header). */
static size_t find_rec(const uint8_t *buf, size_t len, uint16_t t)
{
	size_t off = TCH_HDR_LEN, at;
	uint16_t type, vlen;
	const uint8_t *v;

	for (at = off; wire_tlv_next(buf, len, &off, &type, &v, &vlen) == 1; at = off)
		if (type == t)
			return at;
	return 0;
}

/* Corrupt a copy of good with fn, decode, expect want. */
struct corrupt {
	const char *what;
	uint16_t rec;		/* record to patch, 0 = header */
	size_t at;		/* offset in the record's value (or header) */
	int width;		/* 1, 2 or 4 bytes */
	uint32_t val;
	enum tch_err want;
};

static void put(uint8_t *p, int width, uint32_t v)
{
	if (width == 1)
		*p = (uint8_t)v;
	else if (width == 2)
		wire_put16(p, (uint16_t)v);
	else
		wire_put32(p, v);
}

static void corruptions(const uint8_t *good, size_t len)
{
	static const struct corrupt c[] = {
		{ "magic", 0, 0, 4, 0x54434854, TCH_E_MAGIC },
		{ "version 2", 0, 4, 2, 2, TCH_E_VERSION },
		{ "version 0", 0, 4, 2, 0, TCH_E_VERSION },
		{ "header flags", 0, 6, 2, 1, TCH_E_FLAGS },
		{ "total_len - 1", 0, 8, 4, 0, TCH_E_LENGTH },	/* val patched below */
		{ "total_len huge", 0, 8, 4, 0xffffffffu, TCH_E_LENGTH },
		{ "family 5", TCH_R_ADDR, 0, 1, 5, TCH_E_VALUE },
		{ "family 0", TCH_R_ADDR, 0, 1, 0, TCH_E_VALUE },
		{ "ADDR padding byte", TCH_R_ADDR, 2, 1, 1, TCH_E_VALUE },
		{ "IPv4 local address padding", TCH_R_ADDR, 4 + 8, 1, 1, TCH_E_VALUE },
		{ "IPv4 remote address padding", TCH_R_ADDR, 20 + 15, 1, 1, TCH_E_VALUE },
		{ "local address 0", TCH_R_ADDR, 4, 4, 0, TCH_E_VALUE },
		{ "remote address 0", TCH_R_ADDR, 20, 4, 0, TCH_E_VALUE },
		{ "local port 0", TCH_R_ADDR, 36, 2, 0, TCH_E_VALUE },
		{ "remote port 0", TCH_R_ADDR, 38, 2, 0, TCH_E_VALUE },
		{ "unacked_len + 1", TCH_R_QUEUES, 0, 4, 70001, TCH_E_QUEUE },
		{ "unsent_len - 1", TCH_R_QUEUES, 4, 4, 99999, TCH_E_QUEUE },
		{ "unacked_len 2^32-1", TCH_R_QUEUES, 0, 4, 0xffffffffu, TCH_E_QUEUE },
		{ "recv_len + 1", TCH_R_QUEUES, 8, 4, 131079, TCH_E_QUEUE },
		{ "recv_len 0", TCH_R_QUEUES, 8, 4, 0, TCH_E_QUEUE },
		{ "app_len - 1", TCH_R_QUEUES, 12, 4, 999, TCH_E_QUEUE },
		{ "app_len 2^32-1", TCH_R_QUEUES, 12, 4, 0xffffffffu, TCH_E_QUEUE },
		{ "max_window < snd_wnd", TCH_R_WINDOW, 8, 4, 1000, TCH_E_VALUE },
		{ "rcv_wup after rcv_nxt", TCH_R_WINDOW, 16, 4, 123456790, TCH_E_VALUE },
		{ "snd_wl1 after rcv_nxt + rcv_wnd", TCH_R_WINDOW, 0, 4, 123456789 + 3000001, TCH_E_VALUE },
		{ "rcv_wnd > 65535 << 14", TCH_R_WINDOW, 12, 4, 0xffffffffu, TCH_E_VALUE },
		{ "mss 0", TCH_R_OPTIONS, 0, 2, 0, TCH_E_VALUE },
		{ "snd_wscale 15", TCH_R_OPTIONS, 2, 1, 15, TCH_E_VALUE },
		{ "rcv_wscale 255", TCH_R_OPTIONS, 3, 1, 255, TCH_E_VALUE },
		{ "wscale without WSCALE flag", TCH_R_OPTIONS, 4, 4, TCH_OPT_SACK, TCH_E_VALUE },
		{ "unknown option flag", TCH_R_OPTIONS, 4, 4, TCH_OPT_ALL | 0x100, TCH_E_VALUE },
		{ "unknown socket flag", TCH_R_SOCKET, 8, 4, 0x2, TCH_E_VALUE },
		{ "sndbuf > 2^31", TCH_R_SOCKET, 0, 4, 0x80000000u, TCH_E_VALUE },
	};
	uint8_t *b = malloc(len);

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t off = 0;
		uint32_t val = c[i].val;
		memcpy(b, good, len);
		if (c[i].rec) {
			off = find_rec(b, len, c[i].rec);
			if (!off) {
				CHECK(0, "corrupt %s: record %u present", c[i].what, c[i].rec);
				continue;
			}
			off += 4;
		}
		if (!c[i].rec && c[i].at == 8 && val == 0)
			val = (uint32_t)len - 1;
		put(b + off + c[i].at, c[i].width, val);
		enum tch_err e = decode(b, len);
		CHECK(e == c[i].want, "corrupt %s: refused as %s (got %s)", c[i].what,
		      tch_err_name(c[i].want), tch_err_name(e));
	}

	/* Record-level damage. */
	size_t q = find_rec(good, len, TCH_R_QUEUES);
	memcpy(b, good, len);
	wire_put16(b + q, 99);		/* QUEUES becomes an unknown type */
	CHECK(decode(b, len) == TCH_E_TYPE, "unknown record type refused");
	memcpy(b, good, len);
	wire_put16(b + q, 0x8000 | TCH_R_QUEUES);	/* an extension: skipped, QUEUES then missing */
	CHECK(decode(b, len) == TCH_E_MISSING, "missing fixed record refused");
	memcpy(b, good, len);
	wire_put16(b + q, TCH_R_SEQ);	/* SEQ is 8 bytes, QUEUES 16 */
	CHECK(decode(b, len) == TCH_E_RECLEN, "fixed record with a wrong length refused");
	memcpy(b, good, len);
	wire_put16(b + q + 2, 17);	/* QUEUES value 1 byte longer: shifts everything */
	enum tch_err e = decode(b, len);
	CHECK(e == TCH_E_RECLEN, "QUEUES length 17 refused (got %s)", tch_err_name(e));
	memcpy(b, good, len);
	wire_put16(b + q + 2, 0xffff);	/* a length past the end */
	e = decode(b, len);
	CHECK(e == TCH_E_RECLEN || e == TCH_E_TRUNC, "record length past the end refused (got %s)",
	      tch_err_name(e));
	size_t s = find_rec(good, len, TCH_R_SENDQ);
	memcpy(b, good, len);
	wire_put16(b + s, TCH_R_RECVQ);	/* a send chunk counted as receive data */
	CHECK(decode(b, len) == TCH_E_QUEUE, "chunk of the wrong queue refused");
	memcpy(b, good, len);
	wire_put16(b + s, TCH_R_APP);	/* 65535 bytes of app state: sum mismatch */
	CHECK(decode(b, len) == TCH_E_QUEUE, "send chunk relabelled as app state refused");
	free(b);
}

/* Hand-built encodings for what an encoder never emits. */
static void handmade(void)
{
	struct tch_state st;
	size_t len;
	uint8_t *good, *b;

	make_state(&st, 10, 0, 0, 0);
	good = encode(&st, &len);
	tch_state_free(&st);
	if (!good)
		return;

	/* Duplicate TIMESTAMP record appended (total_len adjusted). */
	size_t t = find_rec(good, len, TCH_R_TIMESTAMP);
	b = malloc(len + 8);
	memcpy(b, good, len);
	memcpy(b + len, good + t, 8);
	wire_put32(b + 8, (uint32_t)len + 8);
	CHECK(decode(b, len + 8) == TCH_E_DUP, "duplicate record refused");
	/* An extension record appended: skipped, the rest decodes. */
	wire_put16(b + len, 0x8001);
	wire_put16(b + len + 2, 4);
	CHECK(decode(b, len + 8) == TCH_OK, "extension record (type 0x8001) skipped");
	/* An empty chunk appended. */
	wire_put16(b + len, TCH_R_APP);
	wire_put16(b + len + 2, 0);
	wire_put32(b + 8, (uint32_t)len + 4);
	CHECK(decode(b, len + 4) == TCH_E_RECLEN, "empty chunk refused");
	/* A dangling half record header. */
	wire_put32(b + 8, (uint32_t)len + 2);
	CHECK(decode(b, len + 2) == TCH_E_TRUNC, "trailing partial record header refused");
	free(b);

	/* Chunks claiming more than the bound: 257 chunks of 65535 bytes of
	 * receive queue exceed 16 MiB before any allocation happens. */
	size_t big = len + 257 * (4 + 65535ul);
	b = calloc(1, big);
	memcpy(b, good, len);
	for (int i = 0; i < 257; i++) {
		wire_put16(b + len + (size_t)i * (4 + 65535), TCH_R_RECVQ);
		wire_put16(b + len + (size_t)i * (4 + 65535) + 2, 65535);
	}
	wire_put32(b + 8, (uint32_t)big);
	enum tch_err e = decode(b, big);
	CHECK(e == TCH_E_QUEUE, "receive chunks over 16 MiB refused (got %s)", tch_err_name(e));
	free(b);
	free(good);
}

static void truncations(const char *what, const struct tch_state *st)
{
	size_t len, bad_plain = 0, bad_patched = 0;
	uint8_t *good = encode(st, &len), *b;

	if (!good)
		return;
	b = malloc(len);
	for (size_t cut = 0; cut < len; cut++) {
		memcpy(b, good, cut);
		if (decode(b, cut) == TCH_OK)
			bad_plain++;
		if (cut >= TCH_HDR_LEN) {
			wire_put32(b + 8, (uint32_t)cut);	/* the header agrees with the cut */
			if (decode(b, cut) == TCH_OK)
				bad_patched++;
		}
	}
	CHECK(bad_plain == 0, "%s: all %zu truncations refused (%zu accepted)", what, len, bad_plain);
	CHECK(bad_patched == 0, "%s: all truncations with total_len patched refused (%zu accepted)",
	      what, bad_patched);
	free(b);
	free(good);
}

/* Random byte flips: never a crash; what decodes must re-encode and decode. */
static void flips(const uint8_t *good, size_t len)
{
	uint8_t *b = malloc(len);
	uint32_t x = 12345;
	int ok = 0, reenc_bad = 0;

	for (int i = 0; i < 20000; i++) {
		memcpy(b, good, len);
		for (int j = 0; j < 1 + i % 3; j++) {
			x = x * 1103515245 + 12345;
			b[(x >> 8) % len] ^= (uint8_t)(1 + (x >> 24) % 255);
		}
		struct tch_state st;
		char why[160];
		if (tch_state_decode(b, len, &st, why, sizeof(why)) == TCH_OK) {
			ok++;
			size_t n;
			uint8_t *again = encode(&st, &n);
			if (!again || decode(again, n) != TCH_OK)
				reenc_bad++;
			free(again);
			tch_state_free(&st);
		}
	}
	CHECK(reenc_bad == 0, "20000 random corruptions: %d decoded (payload bytes), all re-encode", ok);
	free(b);
}

/* The TCP checksum over the pseudo-header of st (VIP -> client) and seg,
 * checksum field included: 0 when the segment's checksum is right. */
static uint16_t verify_csum(const struct tch_state *st, const uint8_t *seg, size_t len)
{
	size_t alen = st->family == 4 ? 4 : 16;
	uint32_t sum = IPPROTO_TCP + (uint32_t)len;

	for (size_t i = 0; i < alen; i += 2)
		sum += (uint32_t)(st->local_addr[i] << 8 | st->local_addr[i + 1]) +
		       (uint32_t)(st->remote_addr[i] << 8 | st->remote_addr[i + 1]);
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)(seg[i] << 8 | (i + 1 < len ? seg[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* tch_kick_segment (the kick's segments, storage/tch/tch_kick.c): header
 * fields, the timestamp option, the window counted from the offered right
 * edge and scaled, a checksum that verifies (odd data length included),
 * IPv6, and a buffer too small. */
static void kick_segments(void)
{
	struct tch_state st;
	uint8_t seg[1300];
	size_t n;

	make_state(&st, 1001, 0, 0, 0);
	n = tch_kick_segment(&st, 4242, st.sendq, 1001, 77, seg, sizeof(seg));
	CHECK(n == 20 + 12 + 1001, "kick segment: header, timestamp option, 1001 bytes (%zu)", n);
	CHECK(wire_get16(seg) == 5201 && wire_get16(seg + 2) == 40001 && wire_get32(seg + 4) == 4242 &&
	      wire_get32(seg + 8) == st.rcv_seq && seg[12] == 8 << 4 && seg[13] == 0x18,
	      "kick segment: ports, seq, ack = rcv_nxt, data offset, ACK|PSH");
	CHECK(wire_get16(seg + 14) == (3000000 - 100) >> 9,
	      "kick segment: the window from the offered right edge, scaled (%u)", wire_get16(seg + 14));
	CHECK(seg[20] == 1 && seg[21] == 1 && seg[22] == 8 && seg[23] == 10 && wire_get32(seg + 24) == 77 &&
	      wire_get32(seg + 28) == 0, "kick segment: NOP NOP TS tsval, tsecr 0");
	CHECK(!memcmp(seg + 32, st.sendq, 1001), "kick segment: the data");
	CHECK(verify_csum(&st, seg, n) == 0, "kick segment: checksum verifies (odd length)");
	n = tch_kick_segment(&st, 4242, NULL, 0, 77, seg, sizeof(seg));
	CHECK(n == 32 && seg[13] == 0x10 && verify_csum(&st, seg, n) == 0, "kick ACK: 32 bytes, ACK, checksum");
	st.opts = TCH_OPT_SACK;
	st.rcv_wscale = 0;
	st.rcv_wup = st.rcv_seq;	/* 3000000 unscaled: capped */
	n = tch_kick_segment(&st, 1, NULL, 0, 77, seg, sizeof(seg));
	CHECK(n == 20 && seg[12] == 5 << 4 && wire_get16(seg + 14) == 65535 && verify_csum(&st, seg, n) == 0,
	      "kick ACK without timestamps or scaling: 20 bytes, window capped at 65535");
	st.family = 6;
	inet_pton(AF_INET6, "2001:db8::100", st.local_addr);
	inet_pton(AF_INET6, "2001:db8::10", st.remote_addr);
	n = tch_kick_segment(&st, 9, st.sendq, 999, 5, seg, sizeof(seg));
	CHECK(n == 20 + 999 && verify_csum(&st, seg, n) == 0, "kick segment, IPv6: checksum verifies");
	CHECK(tch_kick_segment(&st, 9, st.sendq, 1001, 5, seg, 1000) == 0, "kick segment: buffer too small");
	tch_state_free(&st);
}

/* The held packets' codec (tch_held.h): a round trip, every truncation,
 * lengths out of range. */
static void held_codec(void)
{
	struct flowdrop_pkt *a = calloc(1, sizeof(*a) + 60), *b = calloc(1, sizeof(*b) + 1500), *got;
	uint8_t buf[2000];
	char why[160];
	size_t n;
	int bad = 0;

	a->len = 60;
	b->len = 1500;
	memset(a->data, 0x45, a->len);
	memset(b->data, 0x60, b->len);
	a->next = b;
	n = tch_held_encoded_len(a);
	CHECK(n == 4 + 60 + 4 + 1500 && tch_held_encoded_len(NULL) == 0, "held: encoded length %zu", n);
	tch_held_encode(a, buf);
	CHECK(tch_held_decode(buf, n, &got, why, sizeof(why)) == 0 && got && got->len == 60 && got->next &&
	      got->next->len == 1500 && !got->next->next && !memcmp(got->next->data, b->data, 1500),
	      "held: round trip, in order");
	flowdrop_pkts_free(got);
	CHECK(tch_held_decode(buf, 0, &got, why, sizeof(why)) == 0 && !got, "held: nothing is an empty list");
	for (size_t cut = 1; cut < n; cut++)
		if (cut != 64 && tch_held_decode(buf, cut, &got, why, sizeof(why)) == 0)
			bad++;
	CHECK(bad == 0, "held: every cut but the packet boundary refused");
	wire_put32(buf, 39);
	CHECK(tch_held_decode(buf, n, &got, why, sizeof(why)) < 0 && !got && strstr(why, "length 39"),
	      "held: a packet shorter than an IP + TCP header refused (%s)", why);
	wire_put32(buf, FLOWDROP_HOLD_PKT_MAX + 1);
	CHECK(tch_held_decode(buf, n, &got, why, sizeof(why)) < 0, "held: a packet over the maximum refused");
	flowdrop_pkts_free(a);
}

int main(void)
{
	struct tch_state st, v6;
	char why[160];
	size_t len;

	kick_segments();
	held_codec();

	/* Round trips. */
	make_state(&st, 0, 0, 0, 0);
	round_trip("IPv4, empty queues", &st);
	truncations("IPv4, empty queues", &st);
	tch_state_free(&st);

	make_state(&st, 70000, 100000, 2 * 65535 + 8, 1000);	/* several chunks each */
	round_trip("IPv4, multi-chunk queues", &st);
	{
		uint8_t *good = encode(&st, &len);
		if (good) {
			corruptions(good, len);
			free(good);
		}
	}
	tch_state_free(&st);

	make_state(&st, 100, 50, 30, 20);
	truncations("IPv4, small queues", &st);
	{
		uint8_t *good = encode(&st, &len);
		if (good) {
			flips(good, len);
			free(good);
		}
	}
	tch_state_free(&st);

	make_state(&v6, 3, 4, 5, TCH_APP_MAX);
	v6.family = 6;
	inet_pton(AF_INET6, "fd77:1::100", v6.local_addr);
	inet_pton(AF_INET6, "fd77:1::10", v6.remote_addr);
	v6.opts = TCH_OPT_SACK;	/* no wscale, no timestamps */
	v6.snd_wscale = v6.rcv_wscale = 0;
	v6.snd_wnd = v6.max_window = 65535;
	v6.rcv_wnd = 65535;
	round_trip("IPv6, 64 KiB app state, no wscale", &v6);
	truncations("IPv6", &v6);

	/* The encoder refuses what the decoder would. */
	struct tch_state bad = v6;
	bad.snd_wscale = 1;
	CHECK(tch_state_encode(&bad, NULL, 0, &len, why, sizeof(why)) == TCH_E_VALUE,
	      "encode refuses wscale without the flag (%s)", why);
	bad = v6;
	bad.app_len = TCH_APP_MAX + 1;
	CHECK(tch_state_check(&bad, why, sizeof(why)) == TCH_E_QUEUE, "check refuses app state > 64 KiB");
	bad = v6;
	bad.recvq = NULL;
	CHECK(tch_state_check(&bad, why, sizeof(why)) == TCH_E_QUEUE, "check refuses a length without buffer");
	bad = v6;
	bad.unsent_len = TCH_QUEUE_MAX;
	CHECK(tch_state_check(&bad, why, sizeof(why)) == TCH_E_QUEUE, "check refuses send queue > 16 MiB");
	uint8_t small[64];
	CHECK(tch_state_encode(&v6, small, sizeof(small), &len, why, sizeof(why)) == TCH_E_SPACE,
	      "encode into a short buffer: TCH_E_SPACE");

	/* Bounds: the largest valid state fits TCH_STATE_MAX. */
	struct tch_state max = v6;
	max.unacked_len = TCH_QUEUE_MAX / 2;
	max.unsent_len = TCH_QUEUE_MAX / 2;
	max.recv_len = TCH_QUEUE_MAX;
	max.app_len = TCH_APP_MAX;
	CHECK(tch_state_encoded_len(&max) <= TCH_STATE_MAX, "largest state (%zu bytes) <= TCH_STATE_MAX (%zu)",
	      tch_state_encoded_len(&max), (size_t)TCH_STATE_MAX);

	/* peek_len for stream framing. */
	uint8_t *enc = encode(&v6, &len);
	uint32_t total = 0;
	CHECK(enc && tch_state_peek_len(enc, TCH_HDR_LEN, &total) == TCH_OK && total == len,
	      "peek_len reads the total from the header");
	CHECK(tch_state_peek_len(enc, TCH_HDR_LEN - 1, &total) == TCH_E_SHORT, "peek_len wants 12 bytes");
	free(enc);

	/* App helper. */
	CHECK(tch_state_set_app(&v6, "abc", 3) == 0 && v6.app_len == 3 && !memcmp(v6.app, "abc", 3),
	      "set_app copies");
	errno = 0;
	CHECK(tch_state_set_app(&v6, "abc", TCH_APP_MAX + 1) < 0 && errno == EMSGSIZE && v6.app_len == 3,
	      "set_app refuses > 64 KiB (EMSGSIZE), state unchanged");

	/* Flow key: as the client sends it. */
	struct lb_flow_key k;
	make_state(&st, 0, 0, 0, 0);
	tch_state_flow_key(&st, &k);
	CHECK(k.family == 4 && k.proto == 6 && !memcmp(k.saddr, st.remote_addr, 4) &&
	      !memcmp(k.daddr, st.local_addr, 4) && k.sport == htons(40001) && k.dport == htons(5201) &&
	      !k.saddr[1] && !k.daddr[3] && !k.pad[0] && !k.pad[1],
	      "flow key: saddr client, daddr VIP, network-order ports, zero padding");
	tch_state_free(&st);
	tch_state_flow_key(&v6, &k);
	CHECK(k.family == 6 && !memcmp(k.saddr, v6.remote_addr, 16), "IPv6 flow key");
	tch_state_free(&v6);

	handmade();
	CHECK(!strcmp(tch_err_name(TCH_E_QUEUE), "bad_queue") && !strcmp(tch_err_name(TCH_E_MAX), "unknown"),
	      "error names");
	return check_done();
}
