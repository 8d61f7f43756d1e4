/*
 * session_state.c - the session blob codec; see session_state.h.
 */
#include "session_state.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/wire.h"

const char *session_state_phase_name(int phase)
{
	switch (phase) {
	case SST_PH_HEAD: return "head";
	case SST_PH_SEND: return "send";
	case SST_PH_BODY: return "body";
	default: return "?";
	}
}

/* A canonical export path, as http_path_clean() leaves it for a file: "/"
 * then segments separated by single '/', none empty, "." or "..", no NUL,
 * no trailing '/'.  (Names may contain any other byte, '%' and '?' too:
 * they are decoded already.) */
static int path_ok(struct sst_bytes b)
{
	size_t i = 0;

	if (b.len == 0 || b.len > SST_MAX_PATH || b.p[0] != '/' || memchr(b.p, '\0', b.len))
		return 0;
	while (i < b.len) {
		size_t s = ++i;	/* past the '/' */
		while (i < b.len && b.p[i] != '/')
			i++;
		size_t l = i - s;
		if (l == 0 || (l == 1 && b.p[s] == '.') || (l == 2 && b.p[s] == '.' && b.p[s + 1] == '.'))
			return 0;
	}
	return 1;
}

static int tmp_ok(struct sst_bytes b)
{
	size_t pl = strlen(SST_TMP_PREFIX);

	return b.len > pl && b.len <= SST_MAX_NAME && memcmp(b.p, SST_TMP_PREFIX, pl) == 0 &&
	       !memchr(b.p, '/', b.len) && !memchr(b.p, '\0', b.len);
}

/* The invariants, shared by encode (refuses) and decode (rejects). */
static int check(const struct session_state *st, char *err, size_t errlen)
{
	if (st->phase < SST_PH_HEAD || st->phase > SST_PH_BODY)
		return err_set(err, errlen, "bad phase %u", st->phase);
	if (st->after < SST_AFTER_NEXT || st->after > SST_AFTER_CLOSE)
		return err_set(err, errlen, "CONN: bad 'after' %u", st->after);
	if (st->flags & ~SST_F_ALL)
		return err_set(err, errlen, "CONN: unknown flags 0x%x", st->flags);
	if (st->in.len > SST_MAX_IN || st->out.len > SST_MAX_OUT)
		return err_set(err, errlen, "IN/OUT too long");
	if (st->has_file) {
		if (!(st->file_off <= st->file_end && st->file_end <= st->file_size))
			return err_set(err, errlen, "FILE: offset %llu, end %llu, size %llu out of order",
				   (unsigned long long)st->file_off, (unsigned long long)st->file_end,
				   (unsigned long long)st->file_size);
		if (!path_ok(st->file_path))
			return err_set(err, errlen, "FILE_PATH missing or not canonical");
	}
	if (st->has_upload) {
		if (st->up_received > st->up_length)
			return err_set(err, errlen, "UPLOAD: received %llu > length %llu",
				   (unsigned long long)st->up_received,
				   (unsigned long long)st->up_length);
		if (st->up_flags & ~SST_UP_ALL)
			return err_set(err, errlen, "UPLOAD: unknown flags 0x%x", st->up_flags);
		if (!path_ok(st->up_path))
			return err_set(err, errlen, "UPLOAD_PATH missing or not canonical");
		if (!tmp_ok(st->up_tmp))
			return err_set(err, errlen, "UPLOAD_TMP missing or not a temp file name");
	}
	switch (st->phase) {
	case SST_PH_HEAD:
		if (st->has_file || st->has_upload || st->out.len)
			return err_set(err, errlen, "phase head with a response or upload");
		break;
	case SST_PH_SEND:
		if (!st->out.len && !st->has_file)
			return err_set(err, errlen, "phase send with nothing to send");
		if ((st->after == SST_AFTER_BODY) != !!st->has_upload)
			return err_set(err, errlen, "phase send: UPLOAD iff 'after' is body");
		if (st->after == SST_AFTER_BODY && st->has_file)
			return err_set(err, errlen, "phase send: FILE before an upload body");
		break;
	case SST_PH_BODY:
		if (!st->has_upload || st->has_file || st->out.len)
			return err_set(err, errlen, "phase body needs UPLOAD only");
		if (st->after == SST_AFTER_BODY)
			return err_set(err, errlen, "phase body: 'after' cannot be body");
		break;
	}
	return 0;
}

/*
 * The fixed records' layouts, put() and take() side by side.  take() may
 * refuse (-1 with a message) a value whose reserved bytes are not zero.
 */
static void put_conn(const struct session_state *st, uint8_t *v)
{
	memset(v, 0, 32);
	v[0] = st->after;
	v[1] = st->flags;
	wire_put32(v + 4, st->rate);
	wire_put64(v + 8, st->requests);
	wire_put64(v + 16, st->bytes_in);
	wire_put64(v + 24, st->bytes_out);
}

static int take_conn(struct session_state *st, const uint8_t *v, char *err, size_t errlen)
{
	st->after = v[0];
	st->flags = v[1];
	if (v[2] || v[3])
		return err_set(err, errlen, "CONN: reserved bytes not zero");
	st->rate = wire_get32(v + 4);
	st->requests = wire_get64(v + 8);
	st->bytes_in = wire_get64(v + 16);
	st->bytes_out = wire_get64(v + 24);
	return 0;
}

static void put_file(const struct session_state *st, uint8_t *v)
{
	wire_put64(v, st->file_off);
	wire_put64(v + 8, st->file_end);
	wire_put64(v + 16, st->file_size);
	wire_put64(v + 24, st->file_mtime_ns);
}

static int take_file(struct session_state *st, const uint8_t *v, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	st->has_file = 1;
	st->file_off = wire_get64(v);
	st->file_end = wire_get64(v + 8);
	st->file_size = wire_get64(v + 16);
	st->file_mtime_ns = wire_get64(v + 24);
	return 0;
}

static void put_upload(const struct session_state *st, uint8_t *v)
{
	memset(v, 0, 24);
	wire_put64(v, st->up_received);
	wire_put64(v + 8, st->up_length);
	v[16] = st->up_flags;
}

static int take_upload(struct session_state *st, const uint8_t *v, char *err, size_t errlen)
{
	st->has_upload = 1;
	st->up_received = wire_get64(v);
	st->up_length = wire_get64(v + 8);
	st->up_flags = v[16];
	for (int i = 17; i < 24; i++)
		if (v[i])
			return err_set(err, errlen, "UPLOAD: reserved bytes not zero");
	return 0;
}

/*
 * The records, by type: the value's size (fixed: min == max; bounded), and
 * where the decoder puts it - a fixed record through take(), a byte record
 * as a slice of the blob into the struct sst_bytes at offset `slice` of
 * struct session_state (take is NULL then).
 */
static const struct rec_def {
	uint16_t min, max;
	int (*take)(struct session_state *st, const uint8_t *v, char *err, size_t errlen);
	size_t slice;
} recs[SST_T_MAX] = {
	[SST_T_CONN] = { 32, 32, take_conn, 0 },
	[SST_T_IN] = { 0, SST_MAX_IN, NULL, offsetof(struct session_state, in) },
	[SST_T_OUT] = { 1, SST_MAX_OUT, NULL, offsetof(struct session_state, out) },
	[SST_T_FILE] = { 32, 32, take_file, 0 },
	[SST_T_FILE_PATH] = { 1, SST_MAX_PATH, NULL, offsetof(struct session_state, file_path) },
	[SST_T_UPLOAD] = { 24, 24, take_upload, 0 },
	[SST_T_UPLOAD_PATH] = { 1, SST_MAX_PATH, NULL, offsetof(struct session_state, up_path) },
	[SST_T_UPLOAD_TMP] = { sizeof(SST_TMP_PREFIX), SST_MAX_NAME, NULL,
			       offsetof(struct session_state, up_tmp) },
};

static size_t rec(size_t vlen)
{
	return 4 + vlen;
}

size_t session_state_size(const struct session_state *st)
{
	size_t n = SST_HDR_LEN + rec(32);

	if (st->in.len)
		n += rec(st->in.len);
	if (st->out.len)
		n += rec(st->out.len);
	if (st->has_file)
		n += rec(32) + rec(st->file_path.len);
	if (st->has_upload)
		n += rec(24) + rec(st->up_path.len) + rec(st->up_tmp.len);
	return n;
}

static uint8_t *put_rec(uint8_t *p, uint16_t type, const void *v, size_t len)
{
	wire_put16(p, type);
	wire_put16(p + 2, (uint16_t)len);
	if (len)
		memcpy(p + 4, v, len);
	return p + 4 + len;
}

ssize_t session_state_encode(const struct session_state *st, uint8_t *buf, size_t cap)
{
	uint8_t v[32], *p;
	size_t n = session_state_size(st);

	if (check(st, NULL, 0) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (n > cap) {
		errno = EMSGSIZE;
		return -1;
	}
	wire_put16(buf, SST_MAGIC);
	buf[2] = SST_VERSION;
	buf[3] = st->phase;
	wire_put32(buf + 4, (uint32_t)(n - SST_HDR_LEN));
	p = buf + SST_HDR_LEN;

	put_conn(st, v);
	p = put_rec(p, SST_T_CONN, v, 32);
	if (st->in.len)
		p = put_rec(p, SST_T_IN, st->in.p, st->in.len);
	if (st->out.len)
		p = put_rec(p, SST_T_OUT, st->out.p, st->out.len);
	if (st->has_file) {
		put_file(st, v);
		p = put_rec(p, SST_T_FILE, v, 32);
		p = put_rec(p, SST_T_FILE_PATH, st->file_path.p, st->file_path.len);
	}
	if (st->has_upload) {
		put_upload(st, v);
		p = put_rec(p, SST_T_UPLOAD, v, 24);
		p = put_rec(p, SST_T_UPLOAD_PATH, st->up_path.p, st->up_path.len);
		p = put_rec(p, SST_T_UPLOAD_TMP, st->up_tmp.p, st->up_tmp.len);
	}
	return (ssize_t)(p - buf);
}

/* Which records came together, by the bits (1 << type) of seen. */
static int check_presence(uint32_t seen, char *err, size_t errlen)
{
	if (!(seen & (1u << SST_T_CONN)))
		return err_set(err, errlen, "no CONN record");
	if (!!(seen & (1u << SST_T_FILE)) != !!(seen & (1u << SST_T_FILE_PATH)))
		return err_set(err, errlen, "FILE and FILE_PATH go together");
	if ((seen & (1u << SST_T_UPLOAD)) &&
	    !(seen & (1u << SST_T_UPLOAD_PATH) && seen & (1u << SST_T_UPLOAD_TMP)))
		return err_set(err, errlen, "UPLOAD needs UPLOAD_PATH and UPLOAD_TMP");
	if (!(seen & (1u << SST_T_UPLOAD)) &&
	    (seen & ((1u << SST_T_UPLOAD_PATH) | (1u << SST_T_UPLOAD_TMP))))
		return err_set(err, errlen, "UPLOAD_PATH/UPLOAD_TMP without UPLOAD");
	return 0;
}

int session_state_decode(const uint8_t *buf, size_t len, struct session_state *st,
			 char *err, size_t errlen)
{
	uint32_t seen = 0;
	size_t off = 0;
	uint16_t type, vlen;
	const uint8_t *v;
	int rc;

	memset(st, 0, sizeof(*st));
	if (len < SST_HDR_LEN)
		return err_set(err, errlen, "blob shorter than its header (%zu bytes)", len);
	if (wire_get16(buf) != SST_MAGIC)
		return err_set(err, errlen, "bad magic 0x%04x", wire_get16(buf));
	if (buf[2] != SST_VERSION)
		return err_set(err, errlen, "unsupported version %u", buf[2]);
	if (wire_get32(buf + 4) != len - SST_HDR_LEN)
		return err_set(err, errlen, "body length %u, blob has %zu", wire_get32(buf + 4),
			   len - SST_HDR_LEN);
	st->phase = buf[3];
	while ((rc = wire_tlv_next(buf + SST_HDR_LEN, len - SST_HDR_LEN, &off, &type, &v,
				   &vlen)) == 1) {
		if (type >= 0x8000)
			continue;	/* optional record of a later version */
		if (type == 0 || type >= SST_T_MAX)
			return err_set(err, errlen, "unknown record type %u", type);
		if (seen & (1u << type))
			return err_set(err, errlen, "duplicate record type %u", type);
		seen |= 1u << type;
		const struct rec_def *d = &recs[type];
		if (vlen < d->min || vlen > d->max)
			return err_set(err, errlen, "record type %u: length %u", type, vlen);
		if (d->take && d->take(st, v, err, errlen) < 0)
			return -1;
		if (!d->take)
			*(struct sst_bytes *)((char *)st + d->slice) =
				(struct sst_bytes){ vlen ? v : NULL, vlen };
	}
	if (rc < 0)
		return err_set(err, errlen, "record cut short at offset %zu", off);
	if (check_presence(seen, err, errlen) < 0)
		return -1;
	return check(st, err, errlen);
}
