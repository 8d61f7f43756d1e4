/* libFuzzer target: storage/http/http_parse must handle any bytes: no crash, no read
 * outside the input, the same answer whether a head arrives at once or in
 * pieces, and clean paths that really are clean (no "..", idempotent). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/http/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_slice(struct http_slice s, const char *buf, size_t len)
{
	if (s.p && (s.p < buf || s.p + s.len > buf + len))
		abort();
}

static void check_path(const char *t, size_t tlen)
{
	char out[HTTP_MAX_TARGET + 1], again[HTTP_MAX_TARGET + 1];
	int st = 0, n = http_path_clean(t, tlen, out, sizeof(out), &st);

	if (n < 0) {
		if (st != 400 && st != 403 && st != 414)
			abort();
		return;
	}
	if ((size_t)n != strlen(out) || out[0] != '/')
		abort();
	/* no dot segments survive (a decoded '/' inside a name is impossible) */
	for (int i = 0; i < n; i++) {
		if (out[i] != '/')
			continue;
		if ((i + 2 <= n && out[i + 1] == '.' && (i + 2 == n || out[i + 2] == '/')) ||
		    (i + 3 <= n && out[i + 1] == '.' && out[i + 2] == '.' &&
		     (i + 3 == n || out[i + 3] == '/')))
			abort();
		if (i + 1 < n && out[i + 1] == '/')
			abort();
	}
	/* cleaning a clean path (without characters that decode or end it) changes nothing */
	if (!memchr(out, '%', (size_t)n) && !memchr(out, '?', (size_t)n)) {
		int m = http_path_clean(out, (size_t)n, again, sizeof(again), &st);
		if (m != n || memcmp(out, again, (size_t)n) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct http_req one, inc;
	struct http_limits lim = http_default_limits;
	int rc1, rc2 = 0;

	/* small limits now and then, from the first byte */
	if (size && (data[0] & 0x80)) {
		lim.max_headers = data[0] & 7;
		lim.max_target = 16u << (data[0] & 3);
		lim.max_body = 1000;
	}
	http_req_init(&one);
	rc1 = http_parse_request(&one, &lim, buf, size);
	if (rc1 > 0) {
		if ((size_t)rc1 > size)
			abort();
		check_slice(one.method_str, buf, size);
		check_slice(one.target, buf, size);
		check_slice(one.host, buf, size);
		check_slice(one.if_range, buf, size);
		if (one.has_length && one.content_length > lim.max_body)
			abort();
		if (one.target.p)
			check_path(one.target.p, one.target.len);
	} else if (rc1 < 0) {
		if (!one.error || one.status < 400 || one.status > 505)
			abort();
	}

	/* the same bytes in pieces whose sizes come from the data */
	http_req_init(&inc);
	size_t have = 0, k = 0;
	while (have < size) {
		size_t step = 1 + (size ? data[k++ % size] % 97 : 0);
		have = have + step > size ? size : have + step;
		rc2 = http_parse_request(&inc, &lim, buf, have);
		if (rc2 != 0)
			break;
	}
	if (rc1 != rc2 || (rc1 < 0 && one.status != inc.status))
		abort();
	if (rc1 > 0 && (one.method != inc.method || one.target.p != inc.target.p ||
			one.target.len != inc.target.len || one.keep_alive != inc.keep_alive ||
			one.content_length != inc.content_length || one.range.kind != inc.range.kind))
		abort();

	/* the helpers on the raw bytes */
	struct http_range r;
	uint64_t first, last, fsize = size ? (uint64_t)data[size - 1] * 1000 : 0;
	if (http_parse_range(buf, size, &r) == 0) {
		int x = http_range_resolve(&r, fsize, &first, &last);
		if (x == 1 && !(first <= last && last < fsize))
			abort();
	}
	char v[64];
	int q = http_query_param(buf, size, "bps", v, sizeof(v));
	if (q >= 0 && ((size_t)q >= sizeof(v) || strlen(v) > (size_t)q))
		abort();
	check_path(buf, size);
	(void)http_reason(size ? data[0] * 3 : 0);
	return 0;
}
