/*
 * tch_state.c - encoder and decoder of the frozen-connection state (format
 * in tch_state.h).  The decoder makes two passes: the first walks the
 * records and checks structure, sizes and fields without allocating; the
 * second allocates the queues (their sizes are then known and bounded) and
 * copies the chunks.  So a hostile buffer can never make it allocate more
 * than it declared and proved it carries.
 */
#include "tch_state.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/wire.h"

static const char *const err_names[TCH_E_MAX] = {
	[TCH_OK] = "ok", [TCH_E_SHORT] = "short", [TCH_E_MAGIC] = "bad_magic",
	[TCH_E_VERSION] = "bad_version", [TCH_E_FLAGS] = "bad_flags",
	[TCH_E_LENGTH] = "bad_length", [TCH_E_TRUNC] = "truncated_record",
	[TCH_E_TYPE] = "unknown_record", [TCH_E_DUP] = "duplicate_record",
	[TCH_E_MISSING] = "missing_record", [TCH_E_RECLEN] = "bad_record_length",
	[TCH_E_VALUE] = "bad_value", [TCH_E_QUEUE] = "bad_queue", [TCH_E_NOMEM] = "no_memory",
	[TCH_E_SPACE] = "no_space",
};

const char *tch_err_name(enum tch_err e)
{
	return (unsigned)e < TCH_E_MAX ? err_names[e] : "unknown";
}

/* Set why (if given) and return e. */
#define bad(e, why, whylen, ...) (err_set((why), (whylen), __VA_ARGS__), (e))

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* seq a is after b (RFC 793 arithmetic, as the kernel's after()). */
static int seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(b - a) < 0;
}

enum tch_err tch_state_check(const struct tch_state *st, char *why, size_t whylen)
{
	size_t alen = st->family == 4 ? 4 : 16;

	if (st->family != 4 && st->family != 6)
		return bad(TCH_E_VALUE, why, whylen, "ADDR family %u (want 4 or 6)", st->family);
	if (st->family == 4 && (!all_zero(st->local_addr + 4, 12) || !all_zero(st->remote_addr + 4, 12)))
		return bad(TCH_E_VALUE, why, whylen, "ADDR IPv4 address with non-zero padding");
	if (all_zero(st->local_addr, alen) || all_zero(st->remote_addr, alen))
		return bad(TCH_E_VALUE, why, whylen, "ADDR unspecified %s address",
			   all_zero(st->local_addr, alen) ? "local" : "remote");
	if (!st->local_port || !st->remote_port)
		return bad(TCH_E_VALUE, why, whylen, "ADDR %s port 0", !st->local_port ? "local" : "remote");
	if (st->unacked_len > TCH_QUEUE_MAX || st->unsent_len > TCH_QUEUE_MAX ||
	    st->unacked_len + st->unsent_len > TCH_QUEUE_MAX)
		return bad(TCH_E_QUEUE, why, whylen, "QUEUES send queue %zu + %zu bytes > %u",
			   st->unacked_len, st->unsent_len, TCH_QUEUE_MAX);
	if (st->recv_len > TCH_QUEUE_MAX)
		return bad(TCH_E_QUEUE, why, whylen, "QUEUES receive queue %zu bytes > %u",
			   st->recv_len, TCH_QUEUE_MAX);
	if (st->app_len > TCH_APP_MAX)
		return bad(TCH_E_QUEUE, why, whylen, "APP state %zu bytes > %u", st->app_len, TCH_APP_MAX);
	if ((st->unacked_len + st->unsent_len && !st->sendq) || (st->recv_len && !st->recvq) ||
	    (st->app_len && !st->app))
		return bad(TCH_E_QUEUE, why, whylen, "queue length without a buffer");
	/* The kernel's own checks of TCP_REPAIR_WINDOW (tcp_repair_set_window). */
	if (st->max_window < st->snd_wnd)
		return bad(TCH_E_VALUE, why, whylen, "WINDOW max_window %u < snd_wnd %u",
			   st->max_window, st->snd_wnd);
	if (seq_after(st->snd_wl1, st->rcv_seq + st->rcv_wnd))
		return bad(TCH_E_VALUE, why, whylen, "WINDOW snd_wl1 %u after rcv_nxt %u + rcv_wnd %u",
			   st->snd_wl1, st->rcv_seq, st->rcv_wnd);
	if (seq_after(st->rcv_wup, st->rcv_seq))
		return bad(TCH_E_VALUE, why, whylen, "WINDOW rcv_wup %u after rcv_nxt %u",
			   st->rcv_wup, st->rcv_seq);
	/* A received window can never exceed 65535 << 14. */
	if (st->snd_wnd > (65535u << TCH_MAX_WSCALE) || st->rcv_wnd > (65535u << TCH_MAX_WSCALE))
		return bad(TCH_E_VALUE, why, whylen, "WINDOW window larger than 65535 << 14");
	if (!st->mss)
		return bad(TCH_E_VALUE, why, whylen, "OPTIONS mss 0");
	if (st->opts & ~TCH_OPT_ALL)
		return bad(TCH_E_VALUE, why, whylen, "OPTIONS unknown flags 0x%x", st->opts);
	if (st->snd_wscale > TCH_MAX_WSCALE || st->rcv_wscale > TCH_MAX_WSCALE)
		return bad(TCH_E_VALUE, why, whylen, "OPTIONS window scale %u/%u > %d",
			   st->snd_wscale, st->rcv_wscale, TCH_MAX_WSCALE);
	if (!(st->opts & TCH_OPT_WSCALE) && (st->snd_wscale || st->rcv_wscale))
		return bad(TCH_E_VALUE, why, whylen, "OPTIONS window scale without the WSCALE flag");
	if (st->sock_flags & ~TCH_SOCK_ALL)
		return bad(TCH_E_VALUE, why, whylen, "SOCKET unknown flags 0x%x", st->sock_flags);
	if (st->sndbuf > INT32_MAX || st->rcvbuf > INT32_MAX)
		return bad(TCH_E_VALUE, why, whylen, "SOCKET buffer size > 2^31");
	return TCH_OK;
}

/*
 * The fixed records (format in tch_state.h), one row per type: the value's
 * length, the name messages use, and the two halves of its layout - put()
 * writes st's fields into the value, take() reads them back.  Callers
 * check the length against the row before either runs.
 */
static void put_addr(const struct tch_state *st, uint8_t *v)
{
	v[0] = st->family;
	v[1] = v[2] = v[3] = 0;
	memcpy(v + 4, st->local_addr, 16);
	memcpy(v + 20, st->remote_addr, 16);
	wire_put16(v + 36, st->local_port);
	wire_put16(v + 38, st->remote_port);
}

static void take_addr(struct tch_state *st, const uint8_t *v)
{
	st->family = v[0];
	memcpy(st->local_addr, v + 4, 16);
	memcpy(st->remote_addr, v + 20, 16);
	st->local_port = wire_get16(v + 36);
	st->remote_port = wire_get16(v + 38);
}

static void put_seq(const struct tch_state *st, uint8_t *v)
{
	wire_put32(v, st->snd_seq);
	wire_put32(v + 4, st->rcv_seq);
}

static void take_seq(struct tch_state *st, const uint8_t *v)
{
	st->snd_seq = wire_get32(v);
	st->rcv_seq = wire_get32(v + 4);
}

static void put_queues(const struct tch_state *st, uint8_t *v)
{
	wire_put32(v, (uint32_t)st->unacked_len);
	wire_put32(v + 4, (uint32_t)st->unsent_len);
	wire_put32(v + 8, (uint32_t)st->recv_len);
	wire_put32(v + 12, (uint32_t)st->app_len);
}

static void take_queues(struct tch_state *st, const uint8_t *v)
{
	st->unacked_len = wire_get32(v);
	st->unsent_len = wire_get32(v + 4);
	st->recv_len = wire_get32(v + 8);
	st->app_len = wire_get32(v + 12);
}

static void put_window(const struct tch_state *st, uint8_t *v)
{
	wire_put32(v, st->snd_wl1);
	wire_put32(v + 4, st->snd_wnd);
	wire_put32(v + 8, st->max_window);
	wire_put32(v + 12, st->rcv_wnd);
	wire_put32(v + 16, st->rcv_wup);
}

static void take_window(struct tch_state *st, const uint8_t *v)
{
	st->snd_wl1 = wire_get32(v);
	st->snd_wnd = wire_get32(v + 4);
	st->max_window = wire_get32(v + 8);
	st->rcv_wnd = wire_get32(v + 12);
	st->rcv_wup = wire_get32(v + 16);
}

static void put_options(const struct tch_state *st, uint8_t *v)
{
	wire_put16(v, st->mss);
	v[2] = st->snd_wscale;
	v[3] = st->rcv_wscale;
	wire_put32(v + 4, st->opts);
}

static void take_options(struct tch_state *st, const uint8_t *v)
{
	st->mss = wire_get16(v);
	st->snd_wscale = v[2];
	st->rcv_wscale = v[3];
	st->opts = wire_get32(v + 4);
}

static void put_timestamp(const struct tch_state *st, uint8_t *v)
{
	wire_put32(v, st->ts_val);
}

static void take_timestamp(struct tch_state *st, const uint8_t *v)
{
	st->ts_val = wire_get32(v);
}

static void put_socket(const struct tch_state *st, uint8_t *v)
{
	wire_put32(v, st->sndbuf);
	wire_put32(v + 4, st->rcvbuf);
	wire_put32(v + 8, st->sock_flags);
}

static void take_socket(struct tch_state *st, const uint8_t *v)
{
	st->sndbuf = wire_get32(v);
	st->rcvbuf = wire_get32(v + 4);
	st->sock_flags = wire_get32(v + 8);
}

#define FIXED_MAX 8	/* fixed record types are 1..7: index of fixed[] */
static const struct fixed_rec {
	uint16_t len;
	const char *name;
	void (*put)(const struct tch_state *st, uint8_t *v);
	void (*take)(struct tch_state *st, const uint8_t *v);
} fixed[FIXED_MAX] = {
	[TCH_R_ADDR] = { 40, "ADDR", put_addr, take_addr },
	[TCH_R_SEQ] = { 8, "SEQ", put_seq, take_seq },
	[TCH_R_QUEUES] = { 16, "QUEUES", put_queues, take_queues },
	[TCH_R_WINDOW] = { 20, "WINDOW", put_window, take_window },
	[TCH_R_OPTIONS] = { 8, "OPTIONS", put_options, take_options },
	[TCH_R_TIMESTAMP] = { 4, "TIMESTAMP", put_timestamp, take_timestamp },
	[TCH_R_SOCKET] = { 12, "SOCKET", put_socket, take_socket },
};

/* The chunked records, one row per kind (index: enum chunk_kind): type,
 * name, and the most bytes all its chunks together may carry. */
enum chunk_kind { CK_SENDQ, CK_RECVQ, CK_APP, CK_MAX };
static const struct chunk_rec {
	uint16_t type;
	const char *name;
	size_t max;
} chunks[CK_MAX] = {
	[CK_SENDQ] = { TCH_R_SENDQ, "SENDQ", TCH_QUEUE_MAX },
	[CK_RECVQ] = { TCH_R_RECVQ, "RECVQ", TCH_QUEUE_MAX },
	[CK_APP] = { TCH_R_APP, "APP", TCH_APP_MAX },
};

/* The chunk kind of a record type, or -1 if it is not a chunk. */
static int chunk_kind(uint16_t type)
{
	for (int k = 0; k < CK_MAX; k++)
		if (chunks[k].type == type)
			return k;
	return -1;
}

static size_t chunked_len(size_t n)
{
	return n + 4 * ((n + TCH_CHUNK_MAX - 1) / TCH_CHUNK_MAX);
}

size_t tch_state_encoded_len(const struct tch_state *st)
{
	return TCH_FIXED_LEN + chunked_len(st->unacked_len + st->unsent_len) +
	       chunked_len(st->recv_len) + chunked_len(st->app_len);
}

/* Encoder cursor: callers reserve the whole length first, so no bounds here. */
static uint8_t *rec(uint8_t *p, uint16_t type, uint16_t len)
{
	wire_put16(p, type);
	wire_put16(p + 2, len);
	return p + 4;
}

static uint8_t *put_chunks(uint8_t *p, uint16_t type, const uint8_t *data, size_t n)
{
	while (n) {
		uint16_t c = (uint16_t)(n > TCH_CHUNK_MAX ? TCH_CHUNK_MAX : n);
		p = rec(p, type, c);
		memcpy(p, data, c);
		p += c;
		data += c;
		n -= c;
	}
	return p;
}

enum tch_err tch_state_encode(const struct tch_state *st, uint8_t *buf, size_t cap, size_t *len,
			      char *why, size_t whylen)
{
	enum tch_err e = tch_state_check(st, why, whylen);
	size_t total = tch_state_encoded_len(st);
	uint8_t *p = buf;

	if (e != TCH_OK)
		return e;
	if (cap < total)
		return bad(TCH_E_SPACE, why, whylen, "encoding needs %zu bytes, buffer has %zu", total, cap);
	wire_put32(p, TCH_MAGIC);
	wire_put16(p + 4, TCH_VERSION);
	wire_put16(p + 6, 0);
	wire_put32(p + 8, (uint32_t)total);
	p += TCH_HDR_LEN;
	/* The fixed records in type order, then the chunks. */
	for (uint16_t t = 1; t < FIXED_MAX; t++) {
		p = rec(p, t, fixed[t].len);
		fixed[t].put(st, p);
		p += fixed[t].len;
	}
	p = put_chunks(p, TCH_R_SENDQ, st->sendq, st->unacked_len + st->unsent_len);
	p = put_chunks(p, TCH_R_RECVQ, st->recvq, st->recv_len);
	p = put_chunks(p, TCH_R_APP, st->app, st->app_len);
	*len = (size_t)(p - buf);
	return TCH_OK;
}

enum tch_err tch_state_peek_len(const uint8_t *buf, size_t len, uint32_t *total)
{
	if (len < TCH_HDR_LEN)
		return TCH_E_SHORT;
	if (wire_get32(buf) != TCH_MAGIC)
		return TCH_E_MAGIC;
	if (wire_get16(buf + 4) != TCH_VERSION)
		return TCH_E_VERSION;
	if (wire_get16(buf + 6) != 0)
		return TCH_E_FLAGS;
	*total = wire_get32(buf + 8);
	if (*total < TCH_FIXED_LEN || *total > TCH_STATE_MAX)
		return TCH_E_LENGTH;
	return TCH_OK;
}

/* What pass 1 of the decoder learns besides the fixed fields. */
struct walk {
	unsigned seen;		/* fixed record types met, bit (1 << type) */
	size_t sum[CK_MAX];	/* bytes each chunk kind carries */
};

/* Pass 1, one record: a fixed record checked against its row and taken
 * into st, a chunk counted against its kind's bound, an extension
 * skipped.  TCH_OK or the error (why set). */
static enum tch_err walk_record(struct walk *w, struct tch_state *st, uint16_t type,
				const uint8_t *v, uint16_t vlen, char *why, size_t whylen)
{
	if (type < FIXED_MAX && fixed[type].len) {
		if (vlen != fixed[type].len)
			return bad(TCH_E_RECLEN, why, whylen, "%s record of %u bytes (want %u)",
				   fixed[type].name, vlen, fixed[type].len);
		if (w->seen & (1u << type))
			return bad(TCH_E_DUP, why, whylen, "%s record twice", fixed[type].name);
		/* the one reserved field of a fixed record (take_addr skips it) */
		if (type == TCH_R_ADDR && (v[1] | v[2] | v[3]))
			return bad(TCH_E_VALUE, why, whylen, "ADDR padding not zero");
		w->seen |= 1u << type;
		fixed[type].take(st, v);
		return TCH_OK;
	}
	int k = chunk_kind(type);
	if (k < 0) {
		if (type & TCH_R_EXTENSION)
			return TCH_OK;
		return bad(TCH_E_TYPE, why, whylen, "unknown record type %u", type);
	}
	if (vlen == 0)
		return bad(TCH_E_RECLEN, why, whylen, "empty %s chunk", chunks[k].name);
	w->sum[k] += vlen;
	if (w->sum[k] > chunks[k].max)
		return bad(TCH_E_QUEUE, why, whylen, "%s chunks exceed %zu bytes", chunks[k].name,
			   chunks[k].max);
	return TCH_OK;
}

/* Pass 1: structure, fixed records, chunk totals; allocates nothing. */
static enum tch_err walk_records(const uint8_t *buf, size_t len, struct tch_state *st,
				 struct walk *w, char *why, size_t whylen)
{
	size_t off = TCH_HDR_LEN;
	uint16_t type, vlen;
	const uint8_t *v;
	enum tch_err e;
	int rc;

	while ((rc = wire_tlv_next(buf, len, &off, &type, &v, &vlen)) == 1)
		if ((e = walk_record(w, st, type, v, vlen, why, whylen)) != TCH_OK)
			return e;
	if (rc < 0)
		return bad(TCH_E_TRUNC, why, whylen, "record at offset %zu runs past the end", off);
	for (unsigned t = 1; t < FIXED_MAX; t++)
		if (!(w->seen & (1u << t)))
			return bad(TCH_E_MISSING, why, whylen, "no %s record", fixed[t].name);
	return TCH_OK;
}

/* After pass 1: the QUEUES lengths came from the wire, so they are checked
 * before the sums (a sum can only equal a bounded declared length), then
 * every field as the encoder would - with stand-ins for the buffers pass 2
 * allocates, whose presence tch_state_check() looks at. */
static enum tch_err check_walked(const struct tch_state *st, const struct walk *w, char *why,
				 size_t whylen)
{
	static uint8_t dummy;	/* never read or written: only its address counts */
	struct tch_state chk = *st;

	if (st->unacked_len > TCH_QUEUE_MAX || st->unsent_len > TCH_QUEUE_MAX ||
	    st->unacked_len + st->unsent_len != w->sum[CK_SENDQ] ||
	    st->recv_len != w->sum[CK_RECVQ] || st->app_len != w->sum[CK_APP])
		return bad(TCH_E_QUEUE, why, whylen,
			   "QUEUES declares send %zu+%zu, receive %zu, app %zu bytes; "
			   "chunks carry %zu, %zu, %zu", st->unacked_len, st->unsent_len,
			   st->recv_len, st->app_len, w->sum[CK_SENDQ], w->sum[CK_RECVQ], w->sum[CK_APP]);
	chk.sendq = w->sum[CK_SENDQ] ? &dummy : NULL;
	chk.recvq = w->sum[CK_RECVQ] ? &dummy : NULL;
	chk.app = w->sum[CK_APP] ? &dummy : NULL;
	return tch_state_check(&chk, why, whylen);
}

/* Pass 2: allocate the buffers (sizes now known and bounded) and copy the
 * chunks in order.  On failure st is freed. */
static enum tch_err copy_chunks(const uint8_t *buf, size_t len, struct tch_state *st,
				const struct walk *w, char *why, size_t whylen)
{
	uint8_t **dst[CK_MAX] = { [CK_SENDQ] = &st->sendq, [CK_RECVQ] = &st->recvq,
				  [CK_APP] = &st->app };
	size_t at[CK_MAX] = { 0 }, off = TCH_HDR_LEN;
	uint16_t type, vlen;
	const uint8_t *v;
	int nomem = 0;

	for (int k = 0; k < CK_MAX; k++) {
		*dst[k] = w->sum[k] ? malloc(w->sum[k]) : NULL;
		nomem |= w->sum[k] && !*dst[k];
	}
	if (nomem) {
		tch_state_free(st);
		return bad(TCH_E_NOMEM, why, whylen, "cannot allocate %zu bytes",
			   w->sum[CK_SENDQ] + w->sum[CK_RECVQ] + w->sum[CK_APP]);
	}
	while (wire_tlv_next(buf, len, &off, &type, &v, &vlen) == 1) {
		int k = chunk_kind(type);
		if (k >= 0) {
			memcpy(*dst[k] + at[k], v, vlen);
			at[k] += vlen;
		}
	}
	return TCH_OK;
}

enum tch_err tch_state_decode(const uint8_t *buf, size_t len, struct tch_state *st,
			      char *why, size_t whylen)
{
	struct walk w = { 0 };
	uint32_t total;
	enum tch_err e;

	memset(st, 0, sizeof(*st));
	e = tch_state_peek_len(buf, len, &total);
	if (e == TCH_E_LENGTH)
		return bad(e, why, whylen, "header total_len %u outside [%u, %u]", total,
			   (unsigned)TCH_FIXED_LEN, (unsigned)TCH_STATE_MAX);
	if (e != TCH_OK)
		return bad(e, why, whylen, "header: %s", tch_err_name(e));
	if (total != len)
		return bad(TCH_E_LENGTH, why, whylen, "header total_len %u but %zu bytes", total, len);
	e = walk_records(buf, len, st, &w, why, whylen);
	if (e == TCH_OK)
		e = check_walked(st, &w, why, whylen);
	if (e != TCH_OK) {
		memset(st, 0, sizeof(*st));	/* no allocation yet: nothing to free */
		return e;
	}
	return copy_chunks(buf, len, st, &w, why, whylen);
}

void tch_state_free(struct tch_state *st)
{
	if (!st)
		return;
	free(st->sendq);
	free(st->recvq);
	free(st->app);
	memset(st, 0, sizeof(*st));
}

int tch_state_set_app(struct tch_state *st, const void *data, size_t len)
{
	uint8_t *p = NULL;

	if (len > TCH_APP_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	if (len) {
		p = malloc(len);
		if (!p)
			return -1;
		memcpy(p, data, len);
	}
	free(st->app);
	st->app = p;
	st->app_len = len;
	return 0;
}

void tch_state_flow_key(const struct tch_state *st, struct lb_flow_key *k)
{
	size_t alen = st->family == 4 ? 4 : 16;

	memset(k, 0, sizeof(*k));
	memcpy(k->saddr, st->remote_addr, alen);
	memcpy(k->daddr, st->local_addr, alen);
	k->sport = htons(st->remote_port);
	k->dport = htons(st->local_port);
	k->proto = IPPROTO_TCP;
	k->family = st->family;
}
