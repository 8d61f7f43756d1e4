/*
 * http_resp.h - a pure parser of HTTP/1.1 response heads, for tandem-nasd's
 * data-location fetches (a node reading a byte range of a file from the
 * file's home node).  Only what that client needs: the status, one
 * Content-Length, Content-Range "bytes A-B/T" and ETag.  Strict like the
 * request parser (http_parse.h): a bare CR, a field without ':', a
 * repeated Content-Length that disagrees, Transfer-Encoding (we never ask
 * for it) and heads over HTTP_RESP_MAX_HEAD are errors.  No I/O, no
 * allocation: fuzzed by tests/fuzz/fuzz_http_resp.c.
 */
#ifndef TANDEM_HTTP_RESP_H
#define TANDEM_HTTP_RESP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_RESP_MAX_HEAD 8192
#define HTTP_RESP_ETAG_MAX 64

struct http_resp_head {
	int status;			/* 100..599 */
	int has_length;
	uint64_t length;		/* Content-Length */
	int has_range;
	uint64_t first, last, total;	/* Content-Range: bytes first-last/total */
	char etag[HTTP_RESP_ETAG_MAX];	/* "" when absent; quotes kept */
};

/*
 * Parse the head at buf[0..len).  Returns the head's length (the body starts
 * there), 0 when the head is not complete yet, -1 when it is malformed
 * (*why says how).
 */
int http_resp_parse(const char *buf, size_t len, struct http_resp_head *h, const char **why);

/* An ETag as tandem-nasd makes it ("size-mtime_ns" in hex, quoted): 0 and the
 * two numbers, or -1. */
int http_resp_etag_split(const char *etag, uint64_t *size, uint64_t *mtime_ns);

#endif
