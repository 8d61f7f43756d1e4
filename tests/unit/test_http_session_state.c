/* Unit tests: storage/http/session_state (the session blob of tandem-nasd):
 * round trips at every freeze point, refusal of bad states and blobs, and a
 * bounded mutation run (the codec lives in storage/, outside the fuzz build). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "storage/http/session_state.h"
#include "lib/wire.h"

static uint8_t buf[SST_MAX_BLOB], buf2[SST_MAX_BLOB];

static struct sst_bytes B(const char *s)
{
	return (struct sst_bytes){ (const uint8_t *)s, strlen(s) };
}

static int bytes_eq(struct sst_bytes a, struct sst_bytes b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int state_eq(const struct session_state *a, const struct session_state *b)
{
	return a->phase == b->phase && a->after == b->after && a->flags == b->flags &&
	       a->rate == b->rate && a->requests == b->requests && a->bytes_in == b->bytes_in &&
	       a->bytes_out == b->bytes_out && bytes_eq(a->in, b->in) && bytes_eq(a->out, b->out) &&
	       a->has_file == b->has_file && a->file_off == b->file_off &&
	       a->file_end == b->file_end && a->file_size == b->file_size &&
	       a->file_mtime_ns == b->file_mtime_ns && bytes_eq(a->file_path, b->file_path) &&
	       a->has_upload == b->has_upload && a->up_received == b->up_received &&
	       a->up_length == b->up_length && a->up_flags == b->up_flags &&
	       bytes_eq(a->up_path, b->up_path) && bytes_eq(a->up_tmp, b->up_tmp);
}

/* The four kinds of freeze point. */
static struct session_state st_head(void)
{
	return (struct session_state){
		.phase = SST_PH_HEAD, .after = SST_AFTER_NEXT, .flags = SST_F_KEEPALIVE,
		.requests = 3, .bytes_in = 300, .bytes_out = 123456,
		.in = B("GET /a HTTP/1.1\r\nHo"),
	};
}

static struct session_state st_send(void)
{
	return (struct session_state){
		.phase = SST_PH_SEND, .after = SST_AFTER_NEXT, .flags = SST_F_KEEPALIVE,
		.rate = 1048576, .requests = 1, .bytes_in = 80, .bytes_out = 4000,
		.in = B("GET /next HTTP/1.1\r\nHost: h\r\n\r\n"),
		.out = B("ETag: \"x\"\r\n\r\n"),
		.has_file = 1, .file_off = 100, .file_end = 10485760, .file_size = 10485760,
		.file_mtime_ns = 1764000000123456789ull, .file_path = B("/dir/10m.bin"),
	};
}

static struct session_state st_continue(void)
{
	return (struct session_state){
		.phase = SST_PH_SEND, .after = SST_AFTER_BODY, .flags = SST_F_HTTP10,
		.out = B("HTTP/1.1 100 Continue\r\n\r\n"),
		.has_upload = 1, .up_received = 0, .up_length = 5000000, .up_flags = SST_UP_EXISTED,
		.up_path = B("/up/big.bin"), .up_tmp = B(SST_TMP_PREFIX "1f.0123456789abcdef"),
	};
}

static struct session_state st_body(void)
{
	return (struct session_state){
		.phase = SST_PH_BODY, .after = SST_AFTER_CLOSE,
		.has_upload = 1, .up_received = 1234567, .up_length = 5000000,
		.up_path = B("/up/big.bin"), .up_tmp = B(SST_TMP_PREFIX "2.x"),
	};
}

static void round_trip(const char *what, struct session_state in)
{
	struct session_state out;
	char err[128] = "";
	ssize_t n = session_state_encode(&in, buf, sizeof(buf));

	CHECK(n > 0 && (size_t)n == session_state_size(&in), "%s: encodes (%zd bytes)", what, n);
	CHECK(session_state_decode(buf, (size_t)n, &out, err, sizeof(err)) == 0 && state_eq(&in, &out),
	      "%s: decodes to the same state %s", what, err);
	/* every truncation is refused */
	int bad = 0;
	for (ssize_t l = 0; l < n; l++)
		if (session_state_decode(buf, (size_t)l, &out, NULL, 0) == 0)
			bad++;
	CHECK(bad == 0, "%s: no truncation decodes (%d did)", what, bad);
	errno = 0;
	CHECK(session_state_encode(&in, buf2, (size_t)n - 1) == -1 && errno == EMSGSIZE,
	      "%s: one byte short: EMSGSIZE", what);
}

static void refuse(const char *what, struct session_state st)
{
	errno = 0;
	CHECK(session_state_encode(&st, buf, sizeof(buf)) == -1 && errno == EINVAL,
	      "encode refuses %s", what);
}

static void test_encode_refuses(void)
{
	struct session_state s;

	s = st_head(); s.phase = 0; refuse("phase 0", s);
	s = st_head(); s.phase = 4; refuse("phase 4", s);
	s = st_head(); s.after = 0; refuse("after 0", s);
	s = st_head(); s.flags = 0x80; refuse("unknown flags", s);
	s = st_head(); s.out = B("x"); refuse("head with pending output", s);
	s = st_send(); s.file_off = s.file_end + 1; refuse("offset past end", s);
	s = st_send(); s.file_end = s.file_size + 1; refuse("end past size", s);
	s = st_send(); s.file_path = B("/dir/../10m.bin"); refuse("dot-dot file path", s);
	s = st_send(); s.file_path = B("dir/x"); refuse("relative file path", s);
	s = st_send(); s.file_path = B("/dir//x"); refuse("non-canonical file path", s);
	s = st_send(); s.file_path = B("/dir/"); refuse("directory file path", s);
	s = st_send(); s.file_path = B("/a/./b"); refuse("'.' segment", s);
	s = st_send(); s.file_path = B("/"); refuse("the root as a file", s);
	s = st_send(); s.has_file = 0; s.out.len = 0; refuse("send with nothing to send", s);
	s = st_continue(); s.has_upload = 0; refuse("after=body without upload", s);
	s = st_continue(); s.up_tmp = B("x.tmp"); refuse("temp name without the prefix", s);
	s = st_continue(); s.up_tmp = B(SST_TMP_PREFIX "a/b"); refuse("temp name with '/'", s);
	s = st_body(); s.up_received = s.up_length + 1; refuse("received > length", s);
	s = st_body(); s.after = SST_AFTER_BODY; refuse("body phase with after=body", s);
	s = st_body(); s.has_file = 1; s.file_path = B("/x"); refuse("body phase with a file", s);
	s = st_body(); s.up_flags = 0x10; refuse("unknown upload flags", s);
	{
		static char big[SST_MAX_IN + 2];
		memset(big, 'a', sizeof(big) - 1);
		s = st_head(); s.in = B(big); refuse("IN over SST_MAX_IN", s);
	}
}

/* Build a blob by hand: header + records given as (type, len, bytes). */
static size_t raw(uint8_t *b, uint8_t phase, const uint8_t *recs, size_t rlen)
{
	wire_put16(b, SST_MAGIC);
	b[2] = SST_VERSION;
	b[3] = phase;
	wire_put32(b + 4, (uint32_t)rlen);
	memcpy(b + SST_HDR_LEN, recs, rlen);
	return SST_HDR_LEN + rlen;
}

static void test_decode_refuses(void)
{
	struct session_state st, s = st_head();
	char err[128];
	ssize_t n = session_state_encode(&s, buf, sizeof(buf));
	uint8_t recs[256], b[512];
	size_t l;

	memcpy(buf2, buf, (size_t)n);
	buf2[0] ^= 1;
	CHECK(session_state_decode(buf2, (size_t)n, &st, err, sizeof(err)) < 0, "bad magic: %s", err);
	memcpy(buf2, buf, (size_t)n);
	buf2[2] = 2;
	CHECK(session_state_decode(buf2, (size_t)n, &st, err, sizeof(err)) < 0, "version 2: %s", err);
	memcpy(buf2, buf, (size_t)n);
	buf2[n] = 0;
	CHECK(session_state_decode(buf2, (size_t)n + 1, &st, err, sizeof(err)) < 0,
	      "trailing byte: %s", err);

	/* CONN record: after=1, flags=0, rate 0, counters 0 */
	uint8_t conn[36] = { 0, SST_T_CONN, 0, 32, SST_AFTER_NEXT };
	l = raw(b, SST_PH_HEAD, conn, 36);
	CHECK(session_state_decode(b, l, &st, err, sizeof(err)) == 0, "minimal head blob: %s", err);
	memcpy(recs, conn, 36);
	memcpy(recs + 36, conn, 36);
	l = raw(b, SST_PH_HEAD, recs, 72);
	CHECK(session_state_decode(b, l, &st, err, sizeof(err)) < 0, "duplicate CONN: %s", err);
	l = raw(b, SST_PH_HEAD, recs, 0);
	CHECK(session_state_decode(b, l, &st, err, sizeof(err)) < 0, "no CONN: %s", err);
	memcpy(recs, conn, 36);
	uint8_t unk[5] = { 0, 42, 0, 1, 7 };
	memcpy(recs + 36, unk, 5);
	l = raw(b, SST_PH_HEAD, recs, 41);
	CHECK(session_state_decode(b, l, &st, err, sizeof(err)) < 0, "unknown type 42: %s", err);
	recs[36] = 0x80;
	l = raw(b, SST_PH_HEAD, recs, 41);
	CHECK(session_state_decode(b, l, &st, err, sizeof(err)) == 0, "optional type 0x802a skipped");
	uint8_t shortconn[35] = { 0, SST_T_CONN, 0, 31, SST_AFTER_NEXT };
	l = raw(b, SST_PH_HEAD, shortconn, 35);
	CHECK(session_state_decode(b, l, &st, err, sizeof(err)) < 0, "CONN of 31 bytes: %s", err);
	memcpy(recs, conn, 36);
	recs[4 + 2] = 1;	/* reserved */
	l = raw(b, SST_PH_HEAD, recs, 36);
	CHECK(session_state_decode(b, l, &st, err, sizeof(err)) < 0, "CONN reserved byte: %s", err);
	/* FILE without FILE_PATH */
	memcpy(recs, conn, 36);
	uint8_t file[36] = { 0, SST_T_FILE, 0, 32 };
	memcpy(recs + 36, file, 36);
	l = raw(b, SST_PH_SEND, recs, 72);
	CHECK(session_state_decode(b, l, &st, err, sizeof(err)) < 0, "FILE without FILE_PATH: %s", err);
	/* UPLOAD_PATH without UPLOAD */
	memcpy(recs, conn, 36);
	uint8_t up[6] = { 0, SST_T_UPLOAD_PATH, 0, 2, '/', 'x' };
	memcpy(recs + 36, up, 6);
	l = raw(b, SST_PH_HEAD, recs, 42);
	CHECK(session_state_decode(b, l, &st, err, sizeof(err)) < 0, "UPLOAD_PATH alone: %s", err);
	/* a record running past the end */
	memcpy(recs, conn, 36);
	uint8_t cut[6] = { 0, SST_T_IN, 0, 10, 'a', 'b' };
	memcpy(recs + 36, cut, 6);
	l = raw(b, SST_PH_HEAD, recs, 42);
	CHECK(session_state_decode(b, l, &st, err, sizeof(err)) < 0, "record cut short: %s", err);
	/* an empty IN record is fine */
	memcpy(recs, conn, 36);
	uint8_t ein[4] = { 0, SST_T_IN, 0, 0 };
	memcpy(recs + 36, ein, 4);
	l = raw(b, SST_PH_HEAD, recs, 40);
	CHECK(session_state_decode(b, l, &st, err, sizeof(err)) == 0 && st.in.len == 0, "empty IN ok");
	CHECK(!strcmp(session_state_phase_name(SST_PH_BODY), "body") &&
	      !strcmp(session_state_phase_name(9), "?"), "phase names");
}

/* Random mutations of valid blobs: the decoder never reads out of bounds
 * (ASan in the sanitizer build) and whatever it accepts re-encodes to a blob
 * that decodes to the same state. */
static void test_mutations(void)
{
	struct session_state seeds[4] = { st_head(), st_send(), st_continue(), st_body() };
	static uint8_t m[SST_MAX_BLOB + 16];
	unsigned seed = 12345, accepted = 0, mismatched = 0;
	struct session_state st, st2;

	for (int it = 0; it < 200000; it++) {
		struct session_state *s = &seeds[it % 4];
		ssize_t n = session_state_encode(s, m, sizeof(m));
		size_t len = (size_t)n;
		int k = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 4;
		for (int j = 0; j < k; j++) {
			seed = seed * 1103515245 + 12345;
			unsigned r = seed >> 8;
			if (len == 0)
				break;
			switch (r % 4) {
			case 0: m[r / 4 % len] ^= (uint8_t)(1u << (r % 8)); break;	/* bit flip */
			case 1: m[r / 4 % len] = (uint8_t)(r >> 16); break;		/* byte */
			case 2: len = r / 4 % (len + 1); break;				/* cut */
			default:
				if (len + 4 < sizeof(m)) {				/* insert */
					memmove(m + r / 4 % len + 4, m + r / 4 % len, len - r / 4 % len);
					len += 4;
				}
			}
		}
		if (session_state_decode(m, len, &st, NULL, 0) < 0)
			continue;
		accepted++;
		ssize_t n2 = session_state_encode(&st, buf2, sizeof(buf2));
		if (n2 < 0 || session_state_decode(buf2, (size_t)n2, &st2, NULL, 0) < 0 ||
		    !state_eq(&st, &st2))
			mismatched++;
	}
	CHECK(mismatched == 0, "200000 mutated blobs: %u accepted, all re-encode identically (%u did not)",
	      accepted, mismatched);
}

int main(void)
{
	round_trip("between requests (partial head buffered)", st_head());
	round_trip("mid-response (file span + pending head bytes + pipelined input)", st_send());
	round_trip("100 Continue pending before an upload body", st_continue());
	round_trip("mid-upload", st_body());
	{
		struct session_state s = st_head();
		s.in.len = 0;
		s.in.p = NULL;
		round_trip("idle keep-alive connection", s);
		ssize_t n = session_state_encode(&s, buf, sizeof(buf));
		CHECK(n == SST_HDR_LEN + 36, "an idle session is %zd bytes", n);
	}
	{
		struct session_state s = st_send();
		s.file_path = B("/dir/a%20b?c d..e/.x");
		round_trip("file names with '%', '?', spaces and dots", s);
	}
	test_encode_refuses();
	test_decode_refuses();
	test_mutations();
	return check_done();
}
