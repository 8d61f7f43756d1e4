/*
 * http_resp.c - HTTP/1.1 response head parser (see http_resp.h).
 */
#include "http_resp.h"

#include <string.h>
#include <strings.h>

/*
 * Digits of base 10 or 16 (lower-case a-f: the ETags this parses are made
 * by http_etag()) in [p, e) -> *v; 0, or -1 (empty, not digits, more than
 * 19 decimal or 16 hex digits: so no value can overflow).
 */
static int digits(const char *p, const char *e, unsigned base, uint64_t *v)
{
	uint64_t x = 0;

	if (p == e || e - p > (base == 16 ? 16 : 19))
		return -1;
	for (; p < e; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0'
			: base == 16 && *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
		if (d < 0)
			return -1;
		x = x * base + (uint64_t)d;
	}
	*v = x;
	return 0;
}

static const char *trim_l(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *trim_r(const char *p, const char *e)
{
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	return e;
}

/* "bytes A-B/T" (T may not be '*': we only fetch ranges of whole files). */
static int content_range(const char *p, const char *e, struct http_resp_head *h)
{
	const char *dash, *slash;

	if (e - p < 6 || strncasecmp(p, "bytes ", 6))
		return -1;
	p += 6;
	dash = memchr(p, '-', (size_t)(e - p));
	slash = dash ? memchr(dash, '/', (size_t)(e - dash)) : NULL;
	if (!dash || !slash || digits(p, dash, 10, &h->first) < 0 ||
	    digits(dash + 1, slash, 10, &h->last) < 0 || digits(slash + 1, e, 10, &h->total) < 0 ||
	    h->first > h->last || h->last >= h->total)
		return -1;
	h->has_range = 1;
	return 0;
}

static int field(const char *p, const char *e, struct http_resp_head *h, const char **why)
{
	const char *colon = memchr(p, ':', (size_t)(e - p)), *v;
	size_t nl;
	uint64_t n;

	if (!colon || colon == p || colon[-1] == ' ' || colon[-1] == '\t') {
		*why = "bad header field";
		return -1;
	}
	nl = (size_t)(colon - p);
	v = trim_l(colon + 1, e);
	e = trim_r(v, e);
	if (nl == 14 && !strncasecmp(p, "Content-Length", 14)) {
		if (digits(v, e, 10, &n) < 0 || (h->has_length && n != h->length)) {
			*why = "bad Content-Length";
			return -1;
		}
		h->has_length = 1;
		h->length = n;
	} else if (nl == 13 && !strncasecmp(p, "Content-Range", 13)) {
		if (content_range(v, e, h) < 0) {
			*why = "bad Content-Range";
			return -1;
		}
	} else if (nl == 4 && !strncasecmp(p, "ETag", 4)) {
		if ((size_t)(e - v) >= sizeof(h->etag)) {
			*why = "ETag too long";
			return -1;
		}
		memcpy(h->etag, v, (size_t)(e - v));
		h->etag[e - v] = '\0';
	} else if (nl == 17 && !strncasecmp(p, "Transfer-Encoding", 17)) {
		*why = "Transfer-Encoding in a response we did not ask it for";
		return -1;
	}
	return 0;
}

int http_resp_parse(const char *buf, size_t len, struct http_resp_head *h, const char **why)
{
	const char *p = buf, *end = buf + len;
	int line = 0;

	memset(h, 0, sizeof(*h));
	*why = "";
	for (;;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			if (len >= HTTP_RESP_MAX_HEAD) {
				*why = "head too long";
				return -1;
			}
			return 0;
		}
		if ((size_t)(nl + 1 - buf) > HTTP_RESP_MAX_HEAD) {
			*why = "head too long";
			return -1;
		}
		const char *le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (memchr(p, '\r', (size_t)(le - p))) {
			*why = "bare CR";
			return -1;
		}
		if (line == 0) {
			/* HTTP/1.x SP 3DIGIT [SP reason] */
			if (le - p < 12 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1') ||
			    p[8] != ' ' || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
			    p[11] < '0' || p[11] > '9' || (le - p > 12 && p[12] != ' ')) {
				*why = "bad status line";
				return -1;
			}
			h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
		} else if (le == p) {
			return (int)(nl + 1 - buf);
		} else if (field(p, le, h, why) < 0) {
			return -1;
		}
		line++;
		p = nl + 1;
	}
}

int http_resp_etag_split(const char *etag, uint64_t *size, uint64_t *mtime_ns)
{
	size_t n = strlen(etag);
	const char *dash;

	if (n < 5 || etag[0] != '"' || etag[n - 1] != '"')
		return -1;
	dash = memchr(etag + 1, '-', n - 2);
	if (!dash || digits(etag + 1, dash, 16, size) < 0 ||
	    digits(dash + 1, etag + n - 1, 16, mtime_ns) < 0)
		return -1;
	return 0;
}
