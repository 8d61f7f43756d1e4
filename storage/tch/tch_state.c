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

/* Record value lengths of the fixed records (index: type). */
#define FIXED_MAX 8
static const uint16_t fixed_len[FIXED_MAX] = {
	[TCH_R_ADDR] = 40, [TCH_R_SEQ] = 8, [TCH_R_QUEUES] = 16, [TCH_R_WINDOW] = 20,
	[TCH_R_OPTIONS] = 8, [TCH_R_TIMESTAMP] = 4, [TCH_R_SOCKET] = 12,
};
static const char *const rec_names[FIXED_MAX] = {
	[TCH_R_ADDR] = "ADDR", [TCH_R_SEQ] = "SEQ", [TCH_R_QUEUES] = "QUEUES",
	[TCH_R_WINDOW] = "WINDOW", [TCH_R_OPTIONS] = "OPTIONS", [TCH_R_TIMESTAMP] = "TIMESTAMP",
	[TCH_R_SOCKET] = "SOCKET",
};

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

	p = rec(p, TCH_R_ADDR, 40);
	p[0] = st->family;
	p[1] = p[2] = p[3] = 0;
	memcpy(p + 4, st->local_addr, 16);
	memcpy(p + 20, st->remote_addr, 16);
	wire_put16(p + 36, st->local_port);
	wire_put16(p + 38, st->remote_port);
	p += 40;

	p = rec(p, TCH_R_SEQ, 8);
	wire_put32(p, st->snd_seq);
	wire_put32(p + 4, st->rcv_seq);
	p += 8;

	p = rec(p, TCH_R_QUEUES, 16);
	wire_put32(p, (uint32_t)st->unacked_len);
	wire_put32(p + 4, (uint32_t)st->unsent_len);
	wire_put32(p + 8, (uint32_t)st->recv_len);
	wire_put32(p + 12, (uint32_t)st->app_len);
	p += 16;

	p = rec(p, TCH_R_WINDOW, 20);
	wire_put32(p, st->snd_wl1);
	wire_put32(p + 4, st->snd_wnd);
	wire_put32(p + 8, st->max_window);
	wire_put32(p + 12, st->rcv_wnd);
	wire_put32(p + 16, st->rcv_wup);
	p += 20;

	p = rec(p, TCH_R_OPTIONS, 8);
	wire_put16(p, st->mss);
	p[2] = st->snd_wscale;
	p[3] = st->rcv_wscale;
	wire_put32(p + 4, st->opts);
	p += 8;

	p = rec(p, TCH_R_TIMESTAMP, 4);
	wire_put32(p, st->ts_val);
	p += 4;

	p = rec(p, TCH_R_SOCKET, 12);
	wire_put32(p, st->sndbuf);
	wire_put32(p + 4, st->rcvbuf);
	wire_put32(p + 8, st->sock_flags);
	p += 12;

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

/* Fixed record value -> st (lengths already checked). */
static void take_fixed(struct tch_state *st, uint16_t type, const uint8_t *v)
{
	switch (type) {
	case TCH_R_ADDR:
		st->family = v[0];
		memcpy(st->local_addr, v + 4, 16);
		memcpy(st->remote_addr, v + 20, 16);
		st->local_port = wire_get16(v + 36);
		st->remote_port = wire_get16(v + 38);
		break;
	case TCH_R_SEQ:
		st->snd_seq = wire_get32(v);
		st->rcv_seq = wire_get32(v + 4);
		break;
	case TCH_R_QUEUES:
		st->unacked_len = wire_get32(v);
		st->unsent_len = wire_get32(v + 4);
		st->recv_len = wire_get32(v + 8);
		st->app_len = wire_get32(v + 12);
		break;
	case TCH_R_WINDOW:
		st->snd_wl1 = wire_get32(v);
		st->snd_wnd = wire_get32(v + 4);
		st->max_window = wire_get32(v + 8);
		st->rcv_wnd = wire_get32(v + 12);
		st->rcv_wup = wire_get32(v + 16);
		break;
	case TCH_R_OPTIONS:
		st->mss = wire_get16(v);
		st->snd_wscale = v[2];
		st->rcv_wscale = v[3];
		st->opts = wire_get32(v + 4);
		break;
	case TCH_R_TIMESTAMP:
		st->ts_val = wire_get32(v);
		break;
	case TCH_R_SOCKET:
		st->sndbuf = wire_get32(v);
		st->rcvbuf = wire_get32(v + 4);
		st->sock_flags = wire_get32(v + 8);
		break;
	}
}

enum tch_err tch_state_decode(const uint8_t *buf, size_t len, struct tch_state *st,
			      char *why, size_t whylen)
{
	size_t off = TCH_HDR_LEN, sendq = 0, recvq = 0, app = 0;
	unsigned seen = 0;
	uint32_t total;
	uint16_t type, vlen;
	const uint8_t *v;
	enum tch_err e;
	int rc;

	memset(st, 0, sizeof(*st));
	e = tch_state_peek_len(buf, len, &total);
	if (e == TCH_E_LENGTH)
		return bad(e, why, whylen, "header total_len %u outside [%u, %u]", total,
			   (unsigned)TCH_FIXED_LEN, (unsigned)TCH_STATE_MAX);
	if (e != TCH_OK)
		return bad(e, why, whylen, "header: %s", tch_err_name(e));
	if (total != len)
		return bad(TCH_E_LENGTH, why, whylen, "header total_len %u but %zu bytes", total, len);

	/* Pass 1: structure, fixed records, chunk totals. */
	while ((rc = wire_tlv_next(buf, len, &off, &type, &v, &vlen)) == 1) {
		if (type < FIXED_MAX && fixed_len[type]) {
			if (vlen != fixed_len[type])
				return bad(TCH_E_RECLEN, why, whylen, "%s record of %u bytes (want %u)",
					   rec_names[type], vlen, fixed_len[type]);
			if (seen & (1u << type))
				return bad(TCH_E_DUP, why, whylen, "%s record twice", rec_names[type]);
			if (type == TCH_R_ADDR && (v[1] | v[2] | v[3]))
				return bad(TCH_E_VALUE, why, whylen, "ADDR padding not zero");
			seen |= 1u << type;
			take_fixed(st, type, v);
			continue;
		}
		size_t *sum;
		size_t max;
		switch (type) {
		case TCH_R_SENDQ: sum = &sendq; max = TCH_QUEUE_MAX; break;
		case TCH_R_RECVQ: sum = &recvq; max = TCH_QUEUE_MAX; break;
		case TCH_R_APP: sum = &app; max = TCH_APP_MAX; break;
		default:
			if (type & TCH_R_EXTENSION)
				continue;
			memset(st, 0, sizeof(*st));
			return bad(TCH_E_TYPE, why, whylen, "unknown record type %u", type);
		}
		if (vlen == 0) {
			memset(st, 0, sizeof(*st));
			return bad(TCH_E_RECLEN, why, whylen, "empty %s chunk",
				   type == TCH_R_SENDQ ? "SENDQ" : type == TCH_R_RECVQ ? "RECVQ" : "APP");
		}
		*sum += vlen;
		if (*sum > max) {
			memset(st, 0, sizeof(*st));
			return bad(TCH_E_QUEUE, why, whylen, "%s chunks exceed %zu bytes",
				   type == TCH_R_SENDQ ? "SENDQ" : type == TCH_R_RECVQ ? "RECVQ" : "APP", max);
		}
	}
	if (rc < 0) {
		memset(st, 0, sizeof(*st));
		return bad(TCH_E_TRUNC, why, whylen, "record at offset %zu runs past the end", off);
	}
	for (unsigned t = 1; t < FIXED_MAX; t++)
		if (!(seen & (1u << t))) {
			memset(st, 0, sizeof(*st));
			return bad(TCH_E_MISSING, why, whylen, "no %s record", rec_names[t]);
		}
	/* The QUEUES lengths came from the wire: check them before the sums
	 * (a sum can only equal a bounded declared length). */
	if (st->unacked_len > TCH_QUEUE_MAX || st->unsent_len > TCH_QUEUE_MAX ||
	    st->unacked_len + st->unsent_len != sendq || st->recv_len != recvq || st->app_len != app) {
		enum tch_err qe = bad(TCH_E_QUEUE, why, whylen,
				      "QUEUES declares send %zu+%zu, receive %zu, app %zu bytes; "
				      "chunks carry %zu, %zu, %zu", st->unacked_len, st->unsent_len,
				      st->recv_len, st->app_len, sendq, recvq, app);
		memset(st, 0, sizeof(*st));
		return qe;
	}
	/* Field checks need the buffers' presence: pretend they exist (they will). */
	{
		struct tch_state chk = *st;
		static uint8_t dummy;
		chk.sendq = sendq ? &dummy : NULL;
		chk.recvq = recvq ? &dummy : NULL;
		chk.app = app ? &dummy : NULL;
		e = tch_state_check(&chk, why, whylen);
		if (e != TCH_OK) {
			memset(st, 0, sizeof(*st));
			return e;
		}
	}

	/* Pass 2: copy the chunks. */
	st->sendq = sendq ? malloc(sendq) : NULL;
	st->recvq = recvq ? malloc(recvq) : NULL;
	st->app = app ? malloc(app) : NULL;
	if ((sendq && !st->sendq) || (recvq && !st->recvq) || (app && !st->app)) {
		tch_state_free(st);
		return bad(TCH_E_NOMEM, why, whylen, "cannot allocate %zu bytes", sendq + recvq + app);
	}
	size_t ps = 0, pr = 0, pa = 0;
	off = TCH_HDR_LEN;
	while (wire_tlv_next(buf, len, &off, &type, &v, &vlen) == 1) {
		if (type == TCH_R_SENDQ) {
			memcpy(st->sendq + ps, v, vlen);
			ps += vlen;
		} else if (type == TCH_R_RECVQ) {
			memcpy(st->recvq + pr, v, vlen);
			pr += vlen;
		} else if (type == TCH_R_APP) {
			memcpy(st->app + pa, v, vlen);
			pa += vlen;
		}
	}
	return TCH_OK;
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
