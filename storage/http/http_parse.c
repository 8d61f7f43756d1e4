/*
 * http_parse.c - see http_parse.h.  Two stages: a byte scan that finds the
 * end of the head (incremental, with the size limits), then one pass over
 * the complete head that parses the request line and the fields.
 */
#include "http_parse.h"

#include <string.h>

const struct http_limits http_default_limits = {
	.max_head = HTTP_MAX_HEAD,
	.max_target = HTTP_MAX_TARGET,
	.max_headers = HTTP_MAX_HEADERS,
	.max_body = UINT64_MAX,
};

#define LINE_MAX_FIELD 8192	/* one field line */

void http_req_init(struct http_req *r)
{
	memset(r, 0, sizeof(*r));
}

static int fail(struct http_req *r, int status, const char *why)
{
	r->status = status;
	r->error = why;
	return -1;
}

/* RFC 9110 5.6.2 tchar */
static int is_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int mem_ieq(const char *a, size_t alen, const char *word)
{
	size_t wl = strlen(word);

	if (alen != wl)
		return 0;
	for (size_t i = 0; i < wl; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)word[i]))
			return 0;
	return 1;
}

int http_slice_ieq(struct http_slice s, const char *word)
{
	return s.p && mem_ieq(s.p, s.len, word);
}

static struct http_slice trim(const char *p, size_t len)
{
	while (len && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	return (struct http_slice){ p, len };
}

/* Decimal digits to u64, saturating.  -1 if not 1*DIGIT. */
static int parse_u64(const char *p, size_t len, uint64_t *out, int *overflow)
{
	uint64_t v = 0;

	*overflow = 0;
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		unsigned d = (unsigned)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10) {
			v = UINT64_MAX;
			*overflow = 1;
		} else if (!*overflow) {
			v = v * 10 + d;
		}
	}
	*out = v;
	return 0;
}

/* ---- Range ---- */

int http_parse_range(const char *v, size_t len, struct http_range *out)
{
	struct http_slice s = trim(v, len);
	const char *dash;
	int ovf;

	memset(out, 0, sizeof(*out));
	if (s.len < 7 || !mem_ieq(s.p, 6, "bytes="))
		return -1;
	s.p += 6;
	s.len -= 6;
	/* a set of several ranges: valid, but we serve the whole file instead */
	if (memchr(s.p, ',', s.len)) {
		for (size_t i = 0; i < s.len; i++)
			if (!strchr("0123456789-, \t", s.p[i]))
				return -1;
		return 0;
	}
	s = trim(s.p, s.len);
	dash = memchr(s.p, '-', s.len);
	if (!dash)
		return -1;
	size_t l1 = (size_t)(dash - s.p), l2 = s.len - l1 - 1;
	if (l1 == 0) {
		if (parse_u64(dash + 1, l2, &out->last, &ovf) < 0)
			return -1;
		out->kind = HTTP_RANGE_SUFFIX;
		return 0;
	}
	if (parse_u64(s.p, l1, &out->first, &ovf) < 0)
		return -1;
	if (l2 == 0) {
		out->kind = HTTP_RANGE_FROM;
		return 0;
	}
	if (parse_u64(dash + 1, l2, &out->last, &ovf) < 0 || out->last < out->first) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	out->kind = HTTP_RANGE_SPAN;
	return 0;
}

int http_range_resolve(const struct http_range *r, uint64_t size, uint64_t *first,
		       uint64_t *last)
{
	switch (r->kind) {
	case HTTP_RANGE_SPAN:
	case HTTP_RANGE_FROM:
		if (r->first >= size)
			return -1;
		*first = r->first;
		*last = (r->kind == HTTP_RANGE_FROM || r->last >= size) ? size - 1 : r->last;
		return 1;
	case HTTP_RANGE_SUFFIX:
		if (r->last == 0 || size == 0)
			return -1;
		*first = r->last >= size ? 0 : size - r->last;
		*last = size - 1;
		return 1;
	default:
		return 0;
	}
}

/* ---- path and query ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int http_path_clean(const char *target, size_t len, char *out, size_t outlen, int *status)
{
	const char *q = memchr(target, '?', len);
	size_t n = 0, w;

	if (q)
		len = (size_t)(q - target);
	if (outlen < 2) {
		*status = 414;
		return -1;
	}
	if (len == 0 || target[0] != '/') {
		*status = 400;
		return -1;
	}
	/* 1: percent-decode into out */
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)target[i];
		if (c == '%') {
			int h, l;
			if (len - i < 3) {
				*status = 400;
				return -1;
			}
			h = hexval((unsigned char)target[i + 1]);
			l = hexval((unsigned char)target[i + 2]);
			if (h < 0 || l < 0) {
				*status = 400;
				return -1;
			}
			c = h << 4 | l;
			i += 2;
		}
		if (c == 0) {
			*status = 400;
			return -1;
		}
		if (n + 1 >= outlen) {
			*status = 414;
			return -1;
		}
		out[n++] = (char)c;
	}
	/* 2: resolve segments in place; w <= read position always */
	int trailing = n > 0 && out[n - 1] == '/';
	w = 0;
	for (size_t i = 0; i < n;) {
		while (i < n && out[i] == '/')
			i++;
		size_t s = i;
		while (i < n && out[i] != '/')
			i++;
		size_t sl = i - s;
		if (sl == 0 || (sl == 1 && out[s] == '.')) {
			if (i >= n)
				trailing = 1;
			continue;
		}
		if (sl == 2 && out[s] == '.' && out[s + 1] == '.') {
			if (w == 0) {
				*status = 403;
				return -1;
			}
			while (w > 0 && out[w - 1] != '/')
				w--;
			w--;	/* the '/' before the segment */
			if (i >= n)
				trailing = 1;
			continue;
		}
		out[w++] = '/';
		memmove(out + w, out + s, sl);
		w += sl;
	}
	if (w == 0 || trailing)
		out[w++] = '/';
	out[w] = '\0';
	return (int)w;
}

int http_query_param(const char *target, size_t len, const char *name, char *out,
		     size_t outlen)
{
	const char *q = memchr(target, '?', len);
	size_t nl = strlen(name);

	if (!q)
		return -1;
	q++;
	const char *end = target + len;
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *pe = amp ? amp : end;
		const char *eq = memchr(q, '=', (size_t)(pe - q));
		const char *ke = eq ? eq : pe;
		if ((size_t)(ke - q) == nl && memcmp(q, name, nl) == 0) {
			const char *v = eq ? eq + 1 : pe;
			size_t vl = (size_t)(pe - v);
			if (vl + 1 > outlen)
				return -1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return (int)vl;
		}
		q = pe + 1;
	}
	return -1;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	default: return "Unknown";
	}
}

/* ---- the request head ---- */

static const struct {
	const char *name;
	int m;
} methods[] = {
	{ "GET", HTTP_M_GET }, { "HEAD", HTTP_M_HEAD }, { "PUT", HTTP_M_PUT },
	{ "POST", HTTP_M_POST }, { "DELETE", HTTP_M_DELETE }, { "OPTIONS", HTTP_M_OPTIONS },
	{ "TRACE", HTTP_M_TRACE }, { "CONNECT", HTTP_M_CONNECT }, { "PATCH", HTTP_M_PATCH },
};

/* The request line [p, p+len) (no line terminator). */
static int parse_request_line(struct http_req *r, const struct http_limits *lim,
			      const char *p, size_t len)
{
	const char *sp1 = memchr(p, ' ', len), *sp2;

	if (!sp1 || sp1 == p)
		return fail(r, 400, "request line: no method");
	size_t ml = (size_t)(sp1 - p);
	if (ml > 32)
		return fail(r, 501, "request line: method too long");
	for (size_t i = 0; i < ml; i++)
		if (!is_tchar((unsigned char)p[i]))
			return fail(r, 400, "request line: bad character in method");
	r->method_str = (struct http_slice){ p, ml };
	r->method = HTTP_M_OTHER;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == ml && memcmp(methods[i].name, p, ml) == 0)
			r->method = methods[i].m;

	const char *t = sp1 + 1, *end = p + len;
	sp2 = memchr(t, ' ', (size_t)(end - t));
	if (!sp2)
		return fail(r, 400, "request line: no HTTP version");
	size_t tl = (size_t)(sp2 - t);
	if (tl == 0)
		return fail(r, 400, "request line: empty target (two spaces?)");
	if (tl > lim->max_target)
		return fail(r, 414, "request target too long");
	for (size_t i = 0; i < tl; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c <= 0x20 || c >= 0x7f)
			return fail(r, 400, "request target: bad character");
	}

	const char *v = sp2 + 1;
	size_t vl = (size_t)(end - v);
	if (vl != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
	    v[6] != '.' || v[7] < '0' || v[7] > '9')
		return fail(r, 400, "request line: bad HTTP version");
	if (v[5] != '1')
		return fail(r, 505, "HTTP version not supported (only HTTP/1.x)");
	r->minor = v[7] == '0' ? 0 : 1;

	/* target forms: origin ("/p"), absolute ("http://h/p"), asterisk ("*") */
	if (t[0] == '/') {
		r->target = (struct http_slice){ t, tl };
	} else if (tl == 1 && t[0] == '*') {
		if (r->method != HTTP_M_OPTIONS)
			return fail(r, 400, "request target: '*' is for OPTIONS only");
		r->target = (struct http_slice){ t, tl };
	} else {
		size_t sl;
		if (tl > 7 && mem_ieq(t, 7, "http://"))
			sl = 7;
		else if (tl > 8 && mem_ieq(t, 8, "https://"))
			sl = 8;
		else
			return fail(r, 400, "request target: not a path or absolute URI");
		const char *a = t + sl, *te = t + tl;
		const char *path = a;
		while (path < te && *path != '/' && *path != '?')
			path++;
		if (path == a)
			return fail(r, 400, "request target: absolute URI without host");
		if (path == te || *path == '?') {
			/* no path: "/" (a query after it is dropped); the slice stays
			 * in the caller's buffer: the last '/' of "http://" */
			r->target = (struct http_slice){ t + sl - 1, 1 };
		} else {
			r->target = (struct http_slice){ path, (size_t)(te - path) };
		}
	}
	return 0;
}

struct hdr_acc {
	int hosts, ranges, te, te_chunked_final, te_other, conn_close, conn_ka, expect_bad, auths;
};

/* Connection: comma-separated tokens. */
static void parse_connection(struct hdr_acc *a, struct http_slice v)
{
	const char *p = v.p, *end = v.p + v.len;

	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		const char *e = c ? c : end;
		struct http_slice tok = trim(p, (size_t)(e - p));
		if (mem_ieq(tok.p, tok.len, "close"))
			a->conn_close = 1;
		else if (mem_ieq(tok.p, tok.len, "keep-alive"))
			a->conn_ka = 1;
		p = e + 1;
	}
}

/* Transfer-Encoding: remember whether the last coding is chunked. */
static void parse_te(struct hdr_acc *a, struct http_slice v)
{
	const char *p = v.p, *end = v.p + v.len;

	a->te = 1;
	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		const char *e = c ? c : end;
		struct http_slice tok = trim(p, (size_t)(e - p));
		if (tok.len) {
			a->te_chunked_final = mem_ieq(tok.p, tok.len, "chunked");
			if (!a->te_chunked_final)
				a->te_other = 1;
		}
		p = e + 1;
	}
}

static int parse_field(struct http_req *r, const struct http_limits *lim, struct hdr_acc *a,
		       const char *p, size_t len)
{
	const char *colon = memchr(p, ':', len);

	if (p[0] == ' ' || p[0] == '\t')
		return fail(r, 400, "header: obsolete line folding");
	if (!colon || colon == p)
		return fail(r, 400, "header: no field name");
	size_t nl = (size_t)(colon - p);
	for (size_t i = 0; i < nl; i++)
		if (!is_tchar((unsigned char)p[i]))
			return fail(r, 400, "header: bad character in field name (space before ':'?)");
	struct http_slice v = trim(colon + 1, len - nl - 1);
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(r, 400, "header: control character in field value");
	}

	if (mem_ieq(p, nl, "host")) {
		if (++a->hosts > 1)
			return fail(r, 400, "header: more than one Host");
		for (size_t i = 0; i < v.len; i++)
			if (v.p[i] == ' ' || v.p[i] == '\t' || (unsigned char)v.p[i] >= 0x7f ||
			    v.p[i] == '/' || v.p[i] == '\\')
				return fail(r, 400, "header: bad Host");
		r->host = v;
	} else if (mem_ieq(p, nl, "content-length")) {
		uint64_t n;
		int ovf;
		if (parse_u64(v.p, v.len, &n, &ovf) < 0)
			return fail(r, 400, "header: Content-Length is not a number");
		if (r->has_length && n != r->content_length)
			return fail(r, 400, "header: conflicting Content-Length fields");
		r->has_length = 1;
		r->content_length = n;
		if (ovf || n > lim->max_body)
			return fail(r, 413, "request body larger than allowed");
	} else if (mem_ieq(p, nl, "transfer-encoding")) {
		parse_te(a, v);
	} else if (mem_ieq(p, nl, "connection")) {
		parse_connection(a, v);
	} else if (mem_ieq(p, nl, "expect")) {
		if (mem_ieq(v.p, v.len, "100-continue"))
			r->expect_continue = 1;
		else
			a->expect_bad = 1;
	} else if (mem_ieq(p, nl, "range")) {
		a->ranges++;
		if (http_parse_range(v.p, v.len, &r->range) < 0)
			r->range.kind = HTTP_RANGE_NONE;
	} else if (mem_ieq(p, nl, "if-range")) {
		r->if_range = v;
	} else if (mem_ieq(p, nl, "authorization")) {
		if (++a->auths > 1)
			return fail(r, 400, "header: more than one Authorization");
		r->authorization = v;
	}
	return 0;
}

/* Parse the complete head buf[r->lead .. end) where end is the offset
 * just past the terminating empty line. */
static int parse_head(struct http_req *r, const struct http_limits *lim, const char *buf,
		      size_t end)
{
	struct hdr_acc a = { 0 };
	size_t pos = r->lead;
	int first = 1;

	for (;;) {
		const char *nl = memchr(buf + pos, '\n', end - pos);
		size_t ll = (size_t)(nl - (buf + pos));	/* the scan guarantees nl */
		const char *line = buf + pos;
		pos += ll + 1;
		if (ll && line[ll - 1] == '\r')
			ll--;
		if (memchr(line, '\r', ll))
			return fail(r, 400, "bare CR in the request head");
		if (ll == 0)
			break;
		if (memchr(line, '\0', ll))
			return fail(r, 400, "NUL byte in the request head");
		if (first) {
			if (parse_request_line(r, lim, line, ll) < 0)
				return -1;
			first = 0;
			continue;
		}
		r->nheaders++;
		if (parse_field(r, lim, &a, line, ll) < 0)
			return -1;
	}
	if (a.ranges > 1)
		r->range.kind = HTTP_RANGE_NONE;
	if (r->minor >= 1 && a.hosts == 0)
		return fail(r, 400, "header: HTTP/1.1 request without Host");
	if (a.te) {
		if (r->minor == 0)
			return fail(r, 400, "header: Transfer-Encoding in an HTTP/1.0 request");
		if (r->has_length)
			return fail(r, 400, "header: both Transfer-Encoding and Content-Length");
		if (!a.te_chunked_final)
			return fail(r, 400, "header: Transfer-Encoding does not end with chunked");
		if (a.te_other)
			return fail(r, 501, "header: transfer codings other than chunked are not supported");
		return fail(r, 411, "chunked request bodies are not supported: send Content-Length");
	}
	if (r->minor >= 1) {
		if (a.expect_bad)
			return fail(r, 417, "header: Expect other than 100-continue");
		r->keep_alive = !a.conn_close;
	} else {
		r->expect_continue = 0;		/* RFC 9110 10.1.1: ignore in 1.0 */
		r->keep_alive = a.conn_ka && !a.conn_close;
	}
	return 0;
}

int http_parse_request(struct http_req *r, const struct http_limits *lim, const char *buf,
		       size_t len)
{
	if (!lim)
		lim = &http_default_limits;
	size_t max_head = lim->max_head && lim->max_head < HTTP_MAX_HEAD ? lim->max_head : HTTP_MAX_HEAD;

	for (size_t i = r->scan; i < len; i++) {
		if (i - r->lead >= max_head) {
			r->scan = i;
			return r->lines == 0 ? fail(r, 414, "request line too long")
					     : fail(r, 431, "request head too large");
		}
		if (buf[i] != '\n') {
			if (r->lines == 0 && i - r->line_start > lim->max_target + 32)
				return fail(r, 414, "request line too long");
			if (r->lines > 0 && i - r->line_start > LINE_MAX_FIELD)
				return fail(r, 431, "header field too long");
			continue;
		}
		size_t ll = i - r->line_start;
		if (ll && buf[i - 1] == '\r')
			ll--;
		if (ll == 0) {
			if (r->lines == 0) {
				/* an empty line before the request line (RFC 9112 2.2) */
				r->line_start = r->lead = i + 1;
				if (r->lead > HTTP_MAX_LEAD)
					return fail(r, 400, "too many empty lines before the request");
				continue;
			}
			r->scan = i + 1;
			if (parse_head(r, lim, buf, i + 1) < 0)
				return -1;
			return (int)(i + 1);
		}
		if (++r->lines > lim->max_headers + 1)
			return fail(r, 431, "too many header fields");
		r->line_start = i + 1;
	}
	r->scan = len;
	return 0;
}
