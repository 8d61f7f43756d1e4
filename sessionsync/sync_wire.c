#include "sync_wire.h"

#include <string.h>

#include "lib/keyfile.h"
#include "lib/wire.h"

static const char *const err_names[SYNC_E_MAX] = {
	[SYNC_OK] = "ok", [SYNC_E_SHORT] = "short", [SYNC_E_MAGIC] = "bad_magic",
	[SYNC_E_VERSION] = "bad_version", [SYNC_E_TYPE] = "bad_type",
	[SYNC_E_LENGTH] = "bad_length", [SYNC_E_FLAGS] = "bad_flags", [SYNC_E_MAC] = "bad_mac",
	[SYNC_E_RECORD] = "bad_record", [SYNC_E_REPLAY] = "replay",
	[SYNC_E_SESSION] = "stale_session",
};

const char *sync_err_name(enum sync_err e)
{
	return e < SYNC_E_MAX ? err_names[e] : "unknown";
}

/* The MAC is lib/wire's: checked with wire_mac_ok in sync_parse. */
_Static_assert(SYNC_MAC_LEN == WIRE_MAC_LEN, "sync MAC is an HMAC-SHA256");

static void mac(const struct sync_key *key, const uint8_t *data, size_t len, uint8_t out[SYNC_MAC_LEN])
{
	wire_hmac(key->k, key->len, data, len, out);
}

enum sync_err sync_parse(const uint8_t *buf, size_t len, const struct sync_key *key,
			 struct sync_hdr *h, const uint8_t **body, size_t *body_len)
{
	if (len < SYNC_HDR_LEN + SYNC_MAC_LEN)
		return SYNC_E_SHORT;
	if (wire_get16(buf) != SYNC_MAGIC)
		return SYNC_E_MAGIC;
	if (buf[2] != SYNC_VERSION)
		return SYNC_E_VERSION;
	h->type = buf[3];
	h->body_len = wire_get16(buf + 6);
	if ((size_t)h->body_len + SYNC_HDR_LEN + SYNC_MAC_LEN != len)
		return SYNC_E_LENGTH;
	/* Authenticate before trusting anything else in the message. */
	if (!wire_mac_ok(key->k, key->len, buf, len))
		return SYNC_E_MAC;
	if (h->type == 0 || h->type >= SYNC_T_MAX)
		return SYNC_E_TYPE;
	if (wire_get16(buf + 4) != 0)
		return SYNC_E_FLAGS;
	h->sender = wire_get32(buf + 8);
	h->epoch = wire_get32(buf + 12);
	h->seq = wire_get64(buf + 16);
	h->dseq = wire_get64(buf + 24);
	h->ack = wire_get64(buf + 32);
	h->peer_epoch = wire_get32(buf + 40);
	if (h->seq == 0)
		return SYNC_E_REPLAY;	/* seq 0 is never sent */
	int reliable = h->type == SYNC_T_DATA || h->type == SYNC_T_RESYNC_BEGIN ||
		       h->type == SYNC_T_RESYNC_END;
	if (reliable != (h->dseq != 0))
		return SYNC_E_LENGTH;	/* dseq present exactly on reliable types */
	*body = buf + SYNC_HDR_LEN;
	*body_len = h->body_len;
	return SYNC_OK;
}

int sync_next_record(const uint8_t *body, size_t body_len, size_t *off, uint16_t *type,
		     const uint8_t **val, uint16_t *len)
{
	return wire_tlv_next(body, body_len, off, type, val, len);
}

/*
 * Flow record value (72 bytes):
 *   0 u8 op, 1 u8 family (4|6), 2 u8 proto, 3 u8 zero,
 *   4 saddr[16], 20 daddr[16] (network order as in the packet),
 *  36 u16 sport, 38 u16 dport (network order, copied as is),
 *  40 u32 node_key, 44 u32 flags, 48 u64 packets, 56 u64 bytes, 64 u64 zero
 */
int sync_decode_flow(const uint8_t *v, uint16_t len, struct sync_flow *f)
{
	if (len != SYNC_FLOW_LEN)
		return -1;
	memset(f, 0, sizeof(*f));
	f->op = v[0];
	f->key.family = v[1];
	f->key.proto = v[2];
	if ((f->op != SYNC_FLOW_ADD && f->op != SYNC_FLOW_DEL) ||
	    (f->key.family != 4 && f->key.family != 6) || v[3] != 0)
		return -1;
	memcpy(f->key.saddr, v + 4, 16);
	memcpy(f->key.daddr, v + 20, 16);
	if (f->key.family == 4) {	/* IPv4: the rest of the address must be zero */
		static const uint8_t zero[12];
		if (memcmp(v + 8, zero, 12) || memcmp(v + 24, zero, 12))
			return -1;
	}
	memcpy(&f->key.sport, v + 36, 2);
	memcpy(&f->key.dport, v + 38, 2);
	f->node_key = wire_get32(v + 40);
	f->flags = wire_get32(v + 44);
	f->packets = wire_get64(v + 48);
	f->bytes = wire_get64(v + 56);
	return wire_get64(v + 64) == 0 ? 0 : -1;
}

int sync_decode_hello(const uint8_t *v, uint16_t len, struct sync_hello *h)
{
	if (len != SYNC_HELLO_LEN || v[0] > 3 || v[1] > 1)
		return -1;
	h->role = v[0];
	h->synced = v[1];
	h->heard = wire_get16(v + 2);
	h->flows = wire_get32(v + 4);
	h->resyncs = wire_get64(v + 8);
	return 0;
}

int sync_decode_range(const uint8_t *v, uint16_t len, struct sync_range *r)
{
	if (len != SYNC_RANGE_LEN)
		return -1;
	r->from = wire_get64(v);
	r->to = wire_get64(v + 8);
	return r->from && r->from <= r->to ? 0 : -1;
}

int sync_decode_resync(const uint8_t *v, uint16_t len, struct sync_resync *r)
{
	if (len != SYNC_RESYNC_LEN)
		return -1;
	r->id = wire_get64(v);
	r->count = wire_get64(v + 8);
	return 0;
}

int sync_body_valid(uint8_t type, const uint8_t *body, size_t len)
{
	size_t off = 0;
	uint16_t rt, rl;
	const uint8_t *v;
	int rc;

	while ((rc = sync_next_record(body, len, &off, &rt, &v, &rl)) == 1) {
		struct sync_flow f;
		struct sync_hello h;
		struct sync_range r;
		struct sync_resync x;
		int ok;
		switch (rt) {
		case SYNC_R_FLOW: ok = type == SYNC_T_DATA && sync_decode_flow(v, rl, &f) == 0; break;
		case SYNC_R_HELLO:
			ok = (type == SYNC_T_HELLO || type == SYNC_T_RESYNC_REQ) &&
			     sync_decode_hello(v, rl, &h) == 0;
			break;
		case SYNC_R_RANGE: ok = type == SYNC_T_NACK && sync_decode_range(v, rl, &r) == 0; break;
		case SYNC_R_RESYNC:
			ok = (type == SYNC_T_RESYNC_BEGIN || type == SYNC_T_RESYNC_END) &&
			     sync_decode_resync(v, rl, &x) == 0;
			break;
		default: ok = 0;
		}
		if (!ok)
			return 0;
	}
	return rc == 0;
}

void sync_begin(struct sync_builder *b, const struct sync_hdr *h)
{
	memset(b->buf, 0, SYNC_HDR_LEN);
	wire_put16(b->buf, SYNC_MAGIC);
	b->buf[2] = SYNC_VERSION;
	b->buf[3] = h->type;
	wire_put32(b->buf + 8, h->sender);
	wire_put32(b->buf + 12, h->epoch);
	wire_put64(b->buf + 24, h->dseq);
	b->len = SYNC_HDR_LEN;
}

size_t sync_records_room(const struct sync_builder *b)
{
	return SYNC_MAX_MSG - SYNC_MAC_LEN - b->len;
}

static uint8_t *add_rec(struct sync_builder *b, uint16_t type, uint16_t len)
{
	if (sync_records_room(b) < 4u + len)
		return NULL;
	uint8_t *p = b->buf + b->len;
	wire_put16(p, type);
	wire_put16(p + 2, len);
	memset(p + 4, 0, len);
	b->len += 4u + len;
	return p + 4;
}

int sync_add_flow(struct sync_builder *b, const struct sync_flow *f)
{
	uint8_t *v = add_rec(b, SYNC_R_FLOW, SYNC_FLOW_LEN);

	if (!v)
		return -1;
	v[0] = f->op;
	v[1] = f->key.family;
	v[2] = f->key.proto;
	memcpy(v + 4, f->key.saddr, 16);
	memcpy(v + 20, f->key.daddr, 16);
	memcpy(v + 36, &f->key.sport, 2);
	memcpy(v + 38, &f->key.dport, 2);
	wire_put32(v + 40, f->node_key);
	wire_put32(v + 44, f->flags);
	wire_put64(v + 48, f->packets);
	wire_put64(v + 56, f->bytes);
	return 0;
}

int sync_add_hello(struct sync_builder *b, const struct sync_hello *h)
{
	uint8_t *v = add_rec(b, SYNC_R_HELLO, SYNC_HELLO_LEN);

	if (!v)
		return -1;
	v[0] = h->role;
	v[1] = h->synced;
	wire_put16(v + 2, h->heard);
	wire_put32(v + 4, h->flows);
	wire_put64(v + 8, h->resyncs);
	return 0;
}

int sync_add_range(struct sync_builder *b, const struct sync_range *r)
{
	uint8_t *v = add_rec(b, SYNC_R_RANGE, SYNC_RANGE_LEN);

	if (!v)
		return -1;
	wire_put64(v, r->from);
	wire_put64(v + 8, r->to);
	return 0;
}

int sync_add_resync(struct sync_builder *b, const struct sync_resync *r)
{
	uint8_t *v = add_rec(b, SYNC_R_RESYNC, SYNC_RESYNC_LEN);

	if (!v)
		return -1;
	wire_put64(v, r->id);
	wire_put64(v + 8, r->count);
	return 0;
}

size_t sync_seal(struct sync_builder *b, const struct sync_key *key, uint64_t seq, uint64_t ack,
		 uint32_t peer_epoch)
{
	wire_put16(b->buf + 6, (uint16_t)(b->len - SYNC_HDR_LEN));
	wire_put64(b->buf + 16, seq);
	wire_put64(b->buf + 32, ack);
	wire_put32(b->buf + 40, peer_epoch);
	mac(key, b->buf, b->len, b->buf + b->len);
	return b->len + SYNC_MAC_LEN;
}

enum sync_err sync_replay_check(const struct sync_replay *r, uint32_t epoch, uint64_t seq)
{
	if (epoch < r->epoch)
		return SYNC_E_REPLAY;
	if (epoch > r->epoch || seq > r->top)
		return SYNC_OK;
	if (r->top - seq >= SYNC_WINDOW)
		return SYNC_E_REPLAY;	/* too old to tell: refuse */
	return (r->bits[(seq % SYNC_WINDOW) / 64] >> (seq % 64)) & 1 ? SYNC_E_REPLAY : SYNC_OK;
}

void sync_replay_commit(struct sync_replay *r, uint32_t epoch, uint64_t seq)
{
	if (epoch > r->epoch) {
		r->epoch = epoch;
		r->top = 0;
		memset(r->bits, 0, sizeof(r->bits));
	}
	if (seq > r->top) {
		/* clear the slots the window slides over */
		uint64_t n = seq - r->top;
		if (n >= SYNC_WINDOW)
			memset(r->bits, 0, sizeof(r->bits));
		else
			for (uint64_t s = r->top + 1; s <= seq; s++)
				r->bits[(s % SYNC_WINDOW) / 64] &= ~(1ull << (s % 64));
		r->top = seq;
	}
	r->bits[(seq % SYNC_WINDOW) / 64] |= 1ull << (seq % 64);
}

int sync_key_from_hex(const char *hex, struct sync_key *k)
{
	return keyfile_parse_hex(hex, k->k, &k->len);
}
