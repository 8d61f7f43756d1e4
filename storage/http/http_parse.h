/*
 * http_parse.h - a pure, incremental HTTP/1.1 request-head parser (RFC 9110,
 * RFC 9112) and the helpers a file server needs around it: Range, the
 * request path (percent-decoding, dot segments), query parameters, reasons.
 *
 * No I/O, no allocation: everything works on the caller's bytes, so it is
 * fuzzed (tests/fuzz/fuzz_http.c) and unit-tested (tests/unit/test_http_parse.c).
 *
 * Incremental use: http_req_init(), then call http_parse_request() with the
 * whole buffer received so far (the same prefix, longer each time).  The
 * parser remembers how far it scanned, so a head arriving one byte at a time
 * costs O(n), not O(n^2).  Once it returns the head length, the slices in
 * struct http_req point into that buffer: copy what you need before moving
 * or reusing it.
 *
 * Strictness (the reasons are request smuggling and simple handoff state):
 * CRLF or a bare LF ends a line, a bare CR is an error; no whitespace between
 * a field name and ':'; no obs-fold; one Host (required in HTTP/1.1);
 * Content-Length is one decimal number (repeats must agree); any
 * Transfer-Encoding is refused: chunked with 411 (the client may resend with
 * a Content-Length), anything else with 501, and TE together with
 * Content-Length, or in HTTP/1.0, with 400.  See doc/nasd.md.
 */
#ifndef TANDEM_HTTP_PARSE_H
#define TANDEM_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEAD (16 * 1024)	/* request line + fields + empty line */
#define HTTP_MAX_TARGET 8192		/* request-target bytes */
#define HTTP_MAX_HEADERS 100		/* header fields */
#define HTTP_MAX_LEAD 64		/* empty lines tolerated before a request line */

struct http_limits {
	size_t max_head;	/* <= HTTP_MAX_HEAD */
	size_t max_target;
	unsigned max_headers;
	uint64_t max_body;	/* a larger Content-Length is refused with 413 */
};

/* HTTP_MAX_* and max_body = UINT64_MAX. */
extern const struct http_limits http_default_limits;

struct http_slice {
	const char *p;		/* NULL when absent */
	size_t len;
};

enum http_method {
	HTTP_M_OTHER = 0,	/* a valid token we do not know */
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_PUT,
	HTTP_M_POST,
	HTTP_M_DELETE,
	HTTP_M_OPTIONS,
	HTTP_M_TRACE,
	HTTP_M_CONNECT,
	HTTP_M_PATCH,
};

enum http_range_kind {
	HTTP_RANGE_NONE = 0,	/* no Range, or one we ignore (several ranges, bad syntax) */
	HTTP_RANGE_SPAN,	/* bytes=first-last */
	HTTP_RANGE_FROM,	/* bytes=first- */
	HTTP_RANGE_SUFFIX,	/* bytes=-last (the last `last` bytes) */
};

struct http_range {
	int kind;		/* enum http_range_kind */
	uint64_t first, last;	/* numbers as sent (saturated at UINT64_MAX) */
};

struct http_req {
	/* scan progress: private to the parser */
	size_t scan, line_start, lead;
	unsigned lines;

	/* the request, valid after http_parse_request() returned > 0 */
	int method;			/* enum http_method */
	struct http_slice method_str;
	struct http_slice target;	/* origin-form path[?query]; for an absolute-form
					 * target, its path part ("/" if it has none) */
	struct http_slice host;		/* Host field value (absent: p == NULL) */
	struct http_slice if_range;	/* If-Range field value */
	struct http_slice authorization;	/* Authorization field value (one at most) */
	int minor;			/* HTTP/1.minor: 0 or 1 (1.2+ counts as 1) */
	int keep_alive;			/* after Connection and the version's default */
	int expect_continue;		/* Expect: 100-continue (HTTP/1.1 only) */
	int has_length;
	uint64_t content_length;	/* 0 unless has_length */
	struct http_range range;
	unsigned nheaders;

	/* after -1: the status to answer (400, 411, 413, 414, 417, 431, 501,
	 * 505) and a one-line reason naming the offending field */
	int status;
	const char *error;
};

void http_req_init(struct http_req *r);

/*
 * Parse the request head at buf[0..len).  Returns the head's length in bytes
 * (> 0: the request line, fields and the empty line, plus any empty lines
 * before the request line) when it is complete, 0 when more bytes are
 * needed, -1 when the head is bad (r->status, r->error).  After 0, call again
 * with the same bytes and more; after > 0 or -1, http_req_init() before the
 * next request.  lim NULL means http_default_limits.
 */
int http_parse_request(struct http_req *r, const struct http_limits *lim,
		       const char *buf, size_t len);

/*
 * Parse a Range field value.  0 with *out set (kind NONE for a valid but
 * multi-range set, which a server may ignore), -1 if it is not a valid
 * bytes range (out->kind NONE: ignore the field, RFC 9110 14.2).
 */
int http_parse_range(const char *v, size_t len, struct http_range *out);

/*
 * Apply a range to a representation of `size` bytes.  Returns 1 with the
 * inclusive byte span [*first, *last] (answer 206), 0 when the whole
 * representation is to be sent (no range: 200), -1 when the range is not
 * satisfiable (416).
 */
int http_range_resolve(const struct http_range *r, uint64_t size, uint64_t *first,
		       uint64_t *last);

/*
 * The path of a request target (before '?'), percent-decoded and normalised
 * into out: "//" collapsed, "." and ".." resolved, a trailing '/' kept (the
 * target names a directory).  out is NUL-terminated and starts with '/'.
 * Returns its length, or -1 with *status: 400 (not starting with '/', bad
 * %-escape, a NUL byte), 403 (a ".." above the root), 414 (does not fit in
 * outlen).
 */
int http_path_clean(const char *target, size_t len, char *out, size_t outlen, int *status);

/*
 * Value of query parameter `name` of a target ("/x?bps=100&y" -> "100"),
 * raw (not decoded), NUL-terminated into out.  Returns its length, -1 when
 * absent or longer than outlen - 1.
 */
int http_query_param(const char *target, size_t len, const char *name, char *out,
		     size_t outlen);

/* Reason phrase of a status code ("Not Found"); "Unknown" for others. */
const char *http_reason(int status);

/* Case-insensitive comparison of a slice with a NUL-terminated ASCII word. */
int http_slice_ieq(struct http_slice s, const char *word);

#endif
