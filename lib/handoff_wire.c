#include "handoff_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const state_names[] = {
	"idle", "open", "active", "half-active", "wait", "done", "fail"
};

const char *ho_state_name(enum ho_state s)
{
	return (unsigned)s <= HO_S_FAIL ? state_names[s] : "?";
}

static const char *const err_names[HO_E_MAX] = {
	[HO_OK] = "ok", [HO_E_SHORT] = "short", [HO_E_LENGTH] = "bad_length",
	[HO_E_MAGIC] = "bad_magic", [HO_E_VERSION] = "bad_version", [HO_E_TYPE] = "bad_type",
	[HO_E_MAC] = "bad_mac", [HO_E_SEQ] = "bad_seq", [HO_E_RECORD] = "bad_record",
};

const char *ho_err_name(enum ho_err e)
{
	return e < HO_E_MAX ? err_names[e] : "?";
}

/* ---- channel frames ---- */

enum ho_err ho_parse(const uint8_t *buf, size_t len, const struct ho_key *key, uint64_t expect_seq,
		     size_t max_frame, struct ho_hdr *h, const uint8_t **body, size_t *frame_total)
{
	if (len < 4)
		return HO_E_SHORT;
	uint32_t flen = wire_get32(buf);
	if (flen < HO_HDR_LEN + WIRE_MAC_LEN || flen > HO_MAX_FRAME || flen > max_frame)
		return HO_E_LENGTH;
	if (len - 4 < flen)
		return HO_E_SHORT;
	const uint8_t *f = buf + 4;
	h->body_len = wire_get32(f + 16);
	if ((uint64_t)h->body_len + HO_HDR_LEN + WIRE_MAC_LEN != flen)
		return HO_E_LENGTH;
	if (!wire_mac_ok(key->k, key->len, f, flen))
		return HO_E_MAC;
	if (wire_get16(f) != HO_MAGIC)
		return HO_E_MAGIC;
	if (f[2] != HO_VERSION)
		return HO_E_VERSION;
	h->type = f[3];
	if (h->type == 0 || h->type >= HO_T_MAX)
		return HO_E_TYPE;
	h->txid = wire_get32(f + 4);
	h->seq = wire_get64(f + 8);
	if (h->seq != expect_seq)
		return HO_E_SEQ;
	/* every record must be whole */
	size_t off = 0;
	uint16_t rt, rl;
	const uint8_t *v;
	int rc;
	while ((rc = wire_tlv_next(f + HO_HDR_LEN, h->body_len, &off, &rt, &v, &rl)) == 1)
		;
	if (rc < 0)
		return HO_E_RECORD;
	*body = f + HO_HDR_LEN;
	*frame_total = 4 + (size_t)flen;
	return HO_OK;
}

enum ho_err ho_hello_name(const uint8_t *buf, size_t len, char *name, size_t cap)
{
	if (len < 4)
		return HO_E_SHORT;
	uint32_t flen = wire_get32(buf);
	if (flen < HO_HDR_LEN + WIRE_MAC_LEN || flen > HO_HELLO_MAX)
		return HO_E_LENGTH;
	if (len - 4 < flen)
		return HO_E_SHORT;
	const uint8_t *f = buf + 4;
	uint32_t blen = wire_get32(f + 16);
	if ((uint64_t)blen + HO_HDR_LEN + WIRE_MAC_LEN != flen)
		return HO_E_LENGTH;
	if (wire_get16(f) != HO_MAGIC)
		return HO_E_MAGIC;
	if (f[2] != HO_VERSION)
		return HO_E_VERSION;
	if (f[3] != HO_T_HELLO)
		return HO_E_TYPE;
	size_t off = 0, got = 0;
	uint16_t rt, rl;
	const uint8_t *v;
	int rc;
	while ((rc = wire_tlv_next(f + HO_HDR_LEN, blen, &off, &rt, &v, &rl)) == 1) {
		if (rt != HO_R_NODE)
			continue;
		if (got || !rl || rl >= cap || memchr(v, '\0', rl))
			return HO_E_RECORD;	/* one name, whole in one record */
		memcpy(name, v, rl);
		name[rl] = '\0';
		got = 1;
	}
	return rc < 0 || !got ? HO_E_RECORD : HO_OK;
}

static void grow(struct ho_frame *f, size_t need)
{
	if (f->oom || f->cap - f->len >= need)
		return;
	size_t ncap = f->cap ? f->cap : 4096;
	while (ncap - f->len < need)
		ncap *= 2;
	if (ncap > HO_MAX_FRAME + 4) {
		f->oom = 1;
		return;
	}
	uint8_t *nb = realloc(f->buf, ncap);
	if (!nb) {
		f->oom = 1;
		return;
	}
	f->buf = nb;
	f->cap = ncap;
}

void ho_begin(struct ho_frame *f, uint8_t type, uint32_t txid)
{
	f->len = 0;
	f->oom = 0;
	grow(f, 4 + HO_HDR_LEN);
	if (f->oom)
		return;
	memset(f->buf, 0, 4 + HO_HDR_LEN);
	wire_put16(f->buf + 4, HO_MAGIC);
	f->buf[6] = HO_VERSION;
	f->buf[7] = type;
	wire_put32(f->buf + 8, txid);
	f->len = 4 + HO_HDR_LEN;
}

void ho_add(struct ho_frame *f, uint16_t rtype, const void *val, size_t len)
{
	const uint8_t *p = val;

	do {	/* at least one record, even for an empty value */
		size_t n = len > 65535 ? 65535 : len;
		grow(f, 4 + n);
		if (f->oom)
			return;
		wire_put16(f->buf + f->len, rtype);
		wire_put16(f->buf + f->len + 2, (uint16_t)n);
		if (n)
			memcpy(f->buf + f->len + 4, p, n);
		f->len += 4 + n;
		p += n;
		len -= n;
	} while (len);
}

void ho_add_u64(struct ho_frame *f, uint16_t rtype, uint64_t v)
{
	uint8_t b[8];

	wire_put64(b, v);
	ho_add(f, rtype, b, 8);
}

/* Flow key on the wire: addresses and ports as in the packet (they are
 * network order already), proto, family, two zero bytes: 40 bytes. */
void ho_add_flow(struct ho_frame *f, const struct lb_flow_key *k)
{
	uint8_t b[40];

	memcpy(b, k->saddr, 16);
	memcpy(b + 16, k->daddr, 16);
	memcpy(b + 32, &k->sport, 2);
	memcpy(b + 34, &k->dport, 2);
	b[36] = k->proto;
	b[37] = k->family;
	b[38] = b[39] = 0;
	ho_add(f, HO_R_FLOW, b, sizeof(b));
}

int ho_decode_flow(const uint8_t *v, uint16_t len, struct lb_flow_key *k)
{
	static const uint8_t zero[12];

	if (len != 40 || (v[37] != 4 && v[37] != 6) || v[38] || v[39])
		return -1;
	memset(k, 0, sizeof(*k));
	memcpy(k->saddr, v, 16);
	memcpy(k->daddr, v + 16, 16);
	memcpy(&k->sport, v + 32, 2);
	memcpy(&k->dport, v + 34, 2);
	k->proto = v[36];
	k->family = v[37];
	if (k->family == 4 && (memcmp(v + 4, zero, 12) || memcmp(v + 20, zero, 12)))
		return -1;
	return 0;
}

void ho_add_reason(struct ho_frame *f, uint16_t code, const char *text)
{
	uint8_t b[2 + 200];
	size_t n = strlen(text);

	if (n > 200)
		n = 200;
	wire_put16(b, code);
	memcpy(b + 2, text, n);
	ho_add(f, HO_R_REASON, b, 2 + n);
}

int ho_decode_reason(const uint8_t *v, uint16_t len, uint16_t *code, char *text, size_t textlen)
{
	if (len < 2 || len > 202 || textlen == 0)
		return -1;
	*code = wire_get16(v);
	size_t n = len - 2u < textlen - 1 ? len - 2u : textlen - 1;
	for (size_t i = 0; i < n; i++)	/* printable only: it ends up in logs */
		text[i] = (v[2 + i] >= 0x20 && v[2 + i] < 0x7f) ? (char)v[2 + i] : '?';
	text[n] = '\0';
	return 0;
}

int ho_decode_u64(const uint8_t *v, uint16_t len, uint64_t *out)
{
	if (len != 8)
		return -1;
	*out = wire_get64(v);
	return 0;
}

int ho_collect(const uint8_t *body, size_t len, uint16_t rtype, size_t max,
	       uint8_t **out, size_t *out_len)
{
	size_t off = 0, total = 0;
	uint16_t rt, rl;
	const uint8_t *v;
	int rc;

	*out = NULL;
	*out_len = 0;
	while ((rc = wire_tlv_next(body, len, &off, &rt, &v, &rl)) == 1)
		if (rt == rtype)
			total += rl;
	if (rc < 0 || total > max)
		return -1;
	if (!total)
		return 0;
	uint8_t *b = malloc(total);
	if (!b)
		return -1;
	size_t at = 0;
	off = 0;
	while (wire_tlv_next(body, len, &off, &rt, &v, &rl) == 1)
		if (rt == rtype) {
			memcpy(b + at, v, rl);
			at += rl;
		}
	*out = b;
	*out_len = total;
	return 0;
}

size_t ho_seal(struct ho_frame *f, const struct ho_key *key, uint64_t seq)
{
	grow(f, WIRE_MAC_LEN);
	if (f->oom || f->len < 4 + HO_HDR_LEN)
		return 0;
	size_t body = f->len - 4 - HO_HDR_LEN;
	wire_put32(f->buf, (uint32_t)(HO_HDR_LEN + body + WIRE_MAC_LEN));
	wire_put64(f->buf + 4 + 8, seq);
	wire_put32(f->buf + 4 + 16, (uint32_t)body);
	wire_hmac(key->k, key->len, f->buf + 4, HO_HDR_LEN + body, f->buf + f->len);
	f->len += WIRE_MAC_LEN;
	return f->len;
}

void ho_frame_free(struct ho_frame *f)
{
	free(f->buf);
	f->buf = NULL;
	f->len = f->cap = 0;
}

void ho_channel_key(const struct ho_key *pair, const uint8_t nonce_connect[HO_NONCE_LEN],
		    const uint8_t nonce_accept[HO_NONCE_LEN], struct ho_key *out)
{
	uint8_t in[10 + 2 * HO_NONCE_LEN];

	memcpy(in, "tandem-ho2", 10);
	memcpy(in + 10, nonce_connect, HO_NONCE_LEN);
	memcpy(in + 10 + HO_NONCE_LEN, nonce_accept, HO_NONCE_LEN);
	wire_hmac(pair->k, pair->len, in, sizeof(in), out->k);
	out->len = WIRE_MAC_LEN;
}

/* ---- node -> switch report ---- */

size_t ho_report_encode(const struct ho_report *r, const uint8_t *key, size_t keylen, uint8_t *buf)
{
	size_t alen = r->key.family == 6 ? 16 : 4, n;

	buf[0] = (uint8_t)(HO_REPORT_VERSION << 4 | (r->op & 0xf));
	wire_put24(buf + 1, r->nonce & 0xffffff);
	buf[4] = r->key.proto;
	memcpy(buf + 5, &r->key.sport, 2);	/* network order already */
	memcpy(buf + 7, &r->key.dport, 2);
	wire_put16(buf + 9, r->txid);
	wire_put32(buf + 11, r->cluster);
	buf[15] = r->key.family;
	memcpy(buf + 16, r->key.saddr, alen);
	memcpy(buf + 16 + alen, r->key.daddr, alen);
	n = 16 + 2 * alen;
	wire_put32(buf + n, r->node_key);
	buf[n + 4] = r->status;
	wire_put32(buf + n + 5, r->sender);
	wire_put32(buf + n + 9, r->switch_id);
	wire_put64(buf + n + 13, r->epoch);
	wire_put64(buf + n + 21, r->seq);
	wire_put64(buf + n + 29, r->peer_epoch);
	wire_put64(buf + n + 37, r->held);
	n += HO_REPORT_TAIL;
	wire_hmac(key, keylen, buf, n, buf + n);
	return n + WIRE_MAC_LEN;
}

/* The address length of a datagram of a report's length, or 0. */
static size_t report_alen(const uint8_t *buf, size_t len, const char **why)
{
	size_t alen;

	if (len < 16) {
		*why = "short";
		return 0;
	}
	alen = buf[15] == 6 ? 16 : buf[15] == 4 ? 4 : 0;
	if (!alen) {
		*why = "bad_family";
		return 0;
	}
	if (len != 16 + 2 * alen + HO_REPORT_TAIL + WIRE_MAC_LEN) {
		*why = "bad_length";
		return 0;
	}
	return alen;
}

int ho_report_sender(const uint8_t *buf, size_t len, uint32_t *sender)
{
	const char *why;
	size_t alen = report_alen(buf, len, &why);

	if (!alen)
		return -1;
	*sender = wire_get32(buf + 16 + 2 * alen + 5);
	return 0;
}

int ho_report_parse(const uint8_t *buf, size_t len, const uint8_t *key, size_t keylen,
		    struct ho_report *r, const char **why)
{
	size_t alen = report_alen(buf, len, why);

	if (!alen)
		return -1;
	if (!wire_mac_ok(key, keylen, buf, len)) {
		*why = "bad_mac";
		return -1;
	}
	if (buf[0] >> 4 != HO_REPORT_VERSION) {
		*why = "bad_version";
		return -1;
	}
	memset(r, 0, sizeof(*r));
	r->op = buf[0] & 0xf;
	if (r->op < HO_OP_QUERY || r->op > HO_OP_RECLAIM) {
		*why = "bad_op";
		return -1;
	}
	r->nonce = wire_get24(buf + 1);
	r->key.proto = buf[4];
	memcpy(&r->key.sport, buf + 5, 2);
	memcpy(&r->key.dport, buf + 7, 2);
	r->txid = wire_get16(buf + 9);
	r->cluster = wire_get32(buf + 11);
	r->key.family = buf[15];
	memcpy(r->key.saddr, buf + 16, alen);
	memcpy(r->key.daddr, buf + 16 + alen, alen);
	size_t n = 16 + 2 * alen;
	r->node_key = wire_get32(buf + n);
	r->status = buf[n + 4];
	r->sender = wire_get32(buf + n + 5);
	r->switch_id = wire_get32(buf + n + 9);
	r->epoch = wire_get64(buf + n + 13);
	r->seq = wire_get64(buf + n + 21);
	r->peer_epoch = wire_get64(buf + n + 29);
	r->held = wire_get64(buf + n + 37);
	if (r->op != HO_OP_LOAD && r->op != HO_OP_ACK && r->key.proto != 6 && r->key.proto != 17) {
		*why = "bad_protocol";	/* LOAD carries no flow, nor an ACK of a LOAD */
		return -1;
	}
	return 0;
}

int ho_fresh(struct ho_window *w, uint64_t epoch, uint64_t seq, int commit)
{
	if (!epoch)
		return 0;	/* no sender uses epoch 0 */
	if (epoch < w->epoch)
		return -1;
	if (epoch == w->epoch && seq <= w->seq)
		return 0;
	if (commit) {
		w->epoch = epoch;
		w->seq = seq;
	}
	return 1;
}

uint64_t ho_new_epoch(uint64_t floor)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t e = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return e > floor ? e : floor + 1;
}
