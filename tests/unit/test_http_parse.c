/* Unit tests: storage/http/http_parse (request heads, Range, paths, query). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "storage/http/http_parse.h"

static struct http_req R;

/* Parse s in one go. */
static int parse(const char *s)
{
	http_req_init(&R);
	return http_parse_request(&R, NULL, s, strlen(s));
}

static int parse_lim(const char *s, const struct http_limits *lim)
{
	http_req_init(&R);
	return http_parse_request(&R, lim, s, strlen(s));
}

/* Parse s one byte more at a time, as a slow client would send it.
 * Returns the first non-zero result; *at gets the prefix length it came at. */
static int parse_bytewise(const char *s, size_t *at)
{
	size_t n = strlen(s);
	int rc = 0;

	http_req_init(&R);
	for (*at = 1; *at <= n; (*at)++) {
		rc = http_parse_request(&R, NULL, s, *at);
		if (rc != 0)
			return rc;
	}
	return rc;
}

static int slice_is(struct http_slice s, const char *want)
{
	return s.p && s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

/* Status of a request that must fail. */
static int status_of(const char *s)
{
	return parse(s) == -1 ? R.status : 0;
}

static void test_basic(void)
{
	const char *g = "GET /a/b.bin?x=1 HTTP/1.1\r\nHost: 10.0.0.1\r\nUser-Agent: t\r\n\r\n";
	int rc = parse(g);

	CHECK(rc == (int)strlen(g), "simple GET: head length %d", rc);
	CHECK(R.method == HTTP_M_GET && slice_is(R.method_str, "GET"), "method GET");
	CHECK(slice_is(R.target, "/a/b.bin?x=1"), "target");
	CHECK(slice_is(R.host, "10.0.0.1"), "host");
	CHECK(R.minor == 1 && R.keep_alive == 1, "HTTP/1.1 keeps alive by default");
	CHECK(R.nheaders == 2 && !R.has_length && R.range.kind == HTTP_RANGE_NONE, "2 fields, no length, no range");

	rc = parse("HEAD / HTTP/1.0\r\n\r\n");
	CHECK(rc > 0 && R.method == HTTP_M_HEAD && R.minor == 0 && !R.keep_alive,
	      "HTTP/1.0 without Host: ok, closes by default");
	rc = parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	CHECK(rc > 0 && R.keep_alive, "HTTP/1.0 Connection: keep-alive");
	rc = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, close\r\n\r\n");
	CHECK(rc > 0 && !R.keep_alive, "HTTP/1.1 Connection: foo, close");
	rc = parse("GET / HTTP/1.2\r\nHost: h\r\n\r\n");
	CHECK(rc > 0 && R.minor == 1, "HTTP/1.2 is treated as 1.1");
	rc = parse("PUT /up/x HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\nExpect: 100-Continue\r\n\r\n");
	CHECK(rc > 0 && R.method == HTTP_M_PUT && R.has_length && R.content_length == 42 &&
	      R.expect_continue, "PUT with Content-Length and Expect: 100-continue");
	rc = parse("PUT /x HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n");
	CHECK(rc > 0 && !R.expect_continue, "Expect ignored in HTTP/1.0");
	rc = parse("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n");
	CHECK(rc > 0 && R.content_length == 7, "repeated equal Content-Length accepted");
	rc = parse("GET / HTTP/1.1\nHost: h\n\n");
	CHECK(rc == 24, "bare LF line ends accepted (%d)", rc);
	rc = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(rc == 31 && slice_is(R.target, "/"), "empty lines before the request line skipped (%d)", rc);
	rc = parse("GET http://example.com:80/p/q?x HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(rc > 0 && slice_is(R.target, "/p/q?x"), "absolute-form target: its path");
	rc = parse("GET HTTP://example.com HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(rc > 0 && slice_is(R.target, "/"), "absolute-form without a path: /");
	rc = parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(rc > 0 && R.method == HTTP_M_OPTIONS && slice_is(R.target, "*"), "OPTIONS *");
	rc = parse("BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(rc > 0 && R.method == HTTP_M_OTHER && slice_is(R.method_str, "BREW"),
	      "unknown method parses (the server answers 501)");
	rc = parse("GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Tab: a\tb\r\nX-8bit: \xe9t\xe9\r\n\r\n");
	CHECK(rc > 0 && R.nheaders == 4, "empty value, tab and obs-text in values");
	rc = parse("GET / HTTP/1.1\r\nHost: h\r\nIf-Range: \"abc\"\r\nRange: bytes=1-2\r\n\r\n");
	CHECK(rc > 0 && slice_is(R.if_range, "\"abc\"") && R.range.kind == HTTP_RANGE_SPAN &&
	      R.range.first == 1 && R.range.last == 2, "If-Range and Range");
	rc = parse("GET / HTTP/1.1\r\nHost: h\r\nRange: bytes=1-2\r\nRange: bytes=3-4\r\n\r\n");
	CHECK(rc > 0 && R.range.kind == HTTP_RANGE_NONE, "two Range fields: ignored");
	rc = parse("GET / HTTP/1.1\r\nHost: h\r\nRange: bytes=5-1\r\n\r\n");
	CHECK(rc > 0 && R.range.kind == HTTP_RANGE_NONE, "invalid Range: ignored, request fine");
	rc = parse("PUT /x HTTP/1.1\r\nHost: h\r\nauthorization:  Bearer ab12 \r\nContent-Length: 0\r\n\r\n");
	CHECK(rc > 0 && slice_is(R.authorization, "Bearer ab12"), "Authorization, trimmed");
	rc = parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(rc > 0 && !R.authorization.p, "no Authorization: absent");
}

static void test_incomplete(void)
{
	size_t at;
	const char *g = "GET /x HTTP/1.1\r\nHost: h\r\nRange: bytes=-5\r\n\r\nGET /next";
	size_t hl = strlen("GET /x HTTP/1.1\r\nHost: h\r\nRange: bytes=-5\r\n\r\n");

	CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\n") == 0, "no empty line yet: 0");
	CHECK(parse("") == 0, "nothing: 0");
	CHECK(parse("\r\n") == 0, "only an empty line: 0");
	int rc = parse_bytewise(g, &at);
	CHECK(rc == (int)hl && at == hl, "byte by byte: complete exactly at the empty line (%d)", rc);
	CHECK(R.range.kind == HTTP_RANGE_SUFFIX && R.range.last == 5, "byte by byte: range parsed");
	rc = parse(g);
	CHECK(rc == (int)hl, "pipelined bytes after the head are not consumed");
	rc = parse_bytewise("GET / HTTP/1.1\r\nHost: h\r\nA: b\rc\r\n\r\n", &at);
	CHECK(rc == -1 && R.status == 400, "bare CR found byte by byte");
}

static void test_errors(void)
{
	char big[40000];
	struct http_limits lim = http_default_limits;

	CHECK(status_of("GARBAGE\r\n\r\n") == 400, "no spaces: 400");
	CHECK(status_of("PUT /x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer a\r\n"
			"Authorization: Bearer b\r\nContent-Length: 0\r\n\r\n") == 400,
	      "two Authorization fields: 400");
	CHECK(status_of("GET /\r\n\r\n") == 400, "HTTP/0.9 style: 400");
	CHECK(status_of("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == 400, "two spaces: 400");
	CHECK(status_of("GET / HTTP/1.1 \r\nHost: h\r\n\r\n") == 400, "trailing space: 400");
	CHECK(status_of("G@T / HTTP/1.1\r\nHost: h\r\n\r\n") == 400, "bad method char: 400");
	CHECK(status_of("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n") == 400, "space in target: 400");
	CHECK(status_of("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n") == 400, "control char in target: 400");
	CHECK(status_of("GET x HTTP/1.1\r\nHost: h\r\n\r\n") == 400, "relative target: 400");
	CHECK(status_of("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == 400, "* with GET: 400");
	CHECK(status_of("GET http:/// HTTP/1.1\r\nHost: h\r\n\r\n") == 400, "absolute URI without host: 400");
	CHECK(status_of("GET / HTTP/1.x\r\nHost: h\r\n\r\n") == 400, "bad version: 400");
	CHECK(status_of("GET / http/1.1\r\nHost: h\r\n\r\n") == 400, "lowercase version: 400");
	CHECK(status_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == 505, "HTTP/2.0: 505");
	CHECK(status_of("GET / HTTP/0.9\r\nHost: h\r\n\r\n") == 505, "HTTP/0.9: 505");
	CHECK(status_of("GET / HTTP/1.1\r\n\r\n") == 400, "1.1 without Host: 400");
	CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400, "two Hosts: 400");
	CHECK(status_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == 400, "space in Host: 400");
	CHECK(status_of("GET / HTTP/1.1\r\nHost : h\r\n\r\n") == 400, "space before colon: 400");
	CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n") == 400, "obs-fold: 400");
	CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n") == 400, "field without colon: 400");
	CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n") == 400, "empty field name: 400");
	CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nA: b\x01\r\n\r\n") == 400, "CTL in value: 400");
	CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nA: b\rc\r\n\r\n") == 400, "bare CR: 400");
	{
		static const char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nA: b\0c\r\n\r\n";
		http_req_init(&R);
		CHECK(http_parse_request(&R, NULL, nul, sizeof(nul) - 1) == -1 && R.status == 400,
		      "NUL in a field: 400");
	}
	CHECK(status_of("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n") == 400, "bad Content-Length: 400");
	CHECK(status_of("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n") == 400, "negative Content-Length: 400");
	CHECK(status_of("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n") == 400, "Content-Length list: 400");
	CHECK(status_of("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == 400,
	      "conflicting Content-Length: 400");
	CHECK(status_of("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n") == 413,
	      "overflowing Content-Length: 413");
	lim.max_body = 1000;
	CHECK(parse_lim("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001\r\n\r\n", &lim) == -1 &&
	      R.status == 413, "Content-Length above max_body: 413");
	CHECK(parse_lim("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n", &lim) > 0,
	      "Content-Length == max_body: ok");
	CHECK(status_of("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n") == 411,
	      "chunked upload: 411");
	CHECK(status_of("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n") == 501,
	      "gzip, chunked: 501");
	CHECK(status_of("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n") == 400,
	      "TE not ending in chunked: 400");
	CHECK(status_of("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") == 400,
	      "TE and Content-Length: 400");
	CHECK(status_of("PUT / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") == 400, "TE in 1.0: 400");
	CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n") == 417, "other Expect: 417");

	/* sizes */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	strcpy(big + 5 + HTTP_MAX_TARGET, " HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(status_of(big) == 414, "target > %d bytes: 414", HTTP_MAX_TARGET);
	big[5 + HTTP_MAX_TARGET + 40] = '\0';	/* still no end of line */
	memset(big + 5 + HTTP_MAX_TARGET, 'a', 40);
	CHECK(status_of(big) == 414, "overlong request line, incomplete: 414");
	strcpy(big, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
	memset(big + strlen(big), 'b', 9000);
	strcpy(big + 29 + 9000, "\r\n\r\n");
	CHECK(status_of(big) == 431, "a 9000-byte field: 431");
	big[0] = '\0';
	strcat(big, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		strcat(big, "X-A: b\r\n");
	strcat(big, "\r\n");
	CHECK(status_of(big) == 431, "%d fields: 431", HTTP_MAX_HEADERS + 2);
	strcpy(big, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (int i = 0; i < 30; i++) {
		size_t l = strlen(big);
		memcpy(big + l, "X-Long: ", 8);
		memset(big + l + 8, 'c', 600);
		strcpy(big + l + 608, "\r\n");
	}
	strcat(big, "\r\n");
	CHECK(status_of(big) == 431, "head > 16 KiB: 431");
	char lead[200];
	memset(lead, 0, sizeof(lead));
	for (int i = 0; i < 40; i++)
		strcat(lead, "\r\n");
	strcat(lead, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
	CHECK(status_of(lead) == 400, "40 empty lines before the request: 400");
	CHECK(R.error && *R.error, "errors carry a message (%s)", R.error ? R.error : "");
}

static void test_range(void)
{
	struct http_range r;
	uint64_t a, b;

	CHECK(http_parse_range("bytes=0-99", 10, &r) == 0 && r.kind == HTTP_RANGE_SPAN &&
	      r.first == 0 && r.last == 99, "bytes=0-99");
	CHECK(http_parse_range("Bytes=100-", 10, &r) == 0 && r.kind == HTTP_RANGE_FROM &&
	      r.first == 100, "Bytes=100- (unit case-insensitive)");
	CHECK(http_parse_range("bytes=-500", 10, &r) == 0 && r.kind == HTTP_RANGE_SUFFIX &&
	      r.last == 500, "bytes=-500");
	CHECK(http_parse_range(" bytes= 5-6 ", 12, &r) == 0 && r.kind == HTTP_RANGE_SPAN, "OWS around");
	CHECK(http_parse_range("bytes=0-1,5-6", 13, &r) == 0 && r.kind == HTTP_RANGE_NONE,
	      "several ranges: valid, served whole");
	CHECK(http_parse_range("bytes=5-1", 9, &r) == -1 && r.kind == HTTP_RANGE_NONE, "last < first: invalid");
	CHECK(http_parse_range("bytes=-", 7, &r) == -1, "bytes=-: invalid");
	CHECK(http_parse_range("bytes=a-b", 9, &r) == -1, "letters: invalid");
	CHECK(http_parse_range("items=0-1", 9, &r) == -1, "other unit: invalid");
	CHECK(http_parse_range("bytes=0-1-2", 11, &r) == -1, "two dashes: invalid");
	CHECK(http_parse_range("bytes=0-99999999999999999999999", 31, &r) == 0 &&
	      r.last == UINT64_MAX, "huge last saturates");

	r = (struct http_range){ HTTP_RANGE_SPAN, 0, 99 };
	CHECK(http_range_resolve(&r, 1000, &a, &b) == 1 && a == 0 && b == 99, "0-99 of 1000");
	r = (struct http_range){ HTTP_RANGE_SPAN, 990, 5000 };
	CHECK(http_range_resolve(&r, 1000, &a, &b) == 1 && a == 990 && b == 999, "990-5000 clipped");
	r = (struct http_range){ HTTP_RANGE_SPAN, 1000, 1001 };
	CHECK(http_range_resolve(&r, 1000, &a, &b) == -1, "first == size: 416");
	r = (struct http_range){ HTTP_RANGE_FROM, 999, 0 };
	CHECK(http_range_resolve(&r, 1000, &a, &b) == 1 && a == 999 && b == 999, "999- of 1000");
	r = (struct http_range){ HTTP_RANGE_FROM, 0, 0 };
	CHECK(http_range_resolve(&r, 0, &a, &b) == -1, "0- of an empty file: 416");
	r = (struct http_range){ HTTP_RANGE_SUFFIX, 0, 100 };
	CHECK(http_range_resolve(&r, 1000, &a, &b) == 1 && a == 900 && b == 999, "-100 of 1000");
	r = (struct http_range){ HTTP_RANGE_SUFFIX, 0, 5000 };
	CHECK(http_range_resolve(&r, 1000, &a, &b) == 1 && a == 0 && b == 999, "-5000 of 1000: all");
	r = (struct http_range){ HTTP_RANGE_SUFFIX, 0, 0 };
	CHECK(http_range_resolve(&r, 1000, &a, &b) == -1, "-0: 416");
	r = (struct http_range){ HTTP_RANGE_SUFFIX, 0, 10 };
	CHECK(http_range_resolve(&r, 0, &a, &b) == -1, "-10 of an empty file: 416");
	r = (struct http_range){ HTTP_RANGE_NONE, 0, 0 };
	CHECK(http_range_resolve(&r, 1000, &a, &b) == 0, "no range: whole");
}

static void path_case(const char *in, int want_rc_or_status, const char *want)
{
	char out[64];
	int st = 0;
	int rc = http_path_clean(in, strlen(in), out, sizeof(out), &st);

	if (want) {
		CHECK(rc == (int)strlen(want) && !strcmp(out, want), "path '%s' -> '%s' (got %d '%s')",
		      in, want, rc, rc >= 0 ? out : "");
	} else {
		CHECK(rc == -1 && st == want_rc_or_status, "path '%s' -> %d (got %d, status %d)", in,
		      want_rc_or_status, rc, st);
	}
}

static void test_path(void)
{
	char v[16];

	path_case("/", 0, "/");
	path_case("/a/b.bin", 0, "/a/b.bin");
	path_case("//a///b", 0, "/a/b");
	path_case("/a/./b/.", 0, "/a/b/");
	path_case("/a/b/", 0, "/a/b/");
	path_case("/a/../b", 0, "/b");
	path_case("/a/b/..", 0, "/a/");
	path_case("/a/..", 0, "/");
	path_case("/x?y=/../..", 0, "/x");
	path_case("/a%20b%2Fc", 0, "/a b/c");
	path_case("/..a/b..", 0, "/..a/b..");
	path_case("/..", 403, NULL);
	path_case("/../etc/passwd", 403, NULL);
	path_case("/a/../../b", 403, NULL);
	path_case("/%2e%2e/%2E%2E/etc/passwd", 403, NULL);
	path_case("/a%2f..%2f..%2fb", 403, NULL);
	path_case("/a%00b", 400, NULL);
	path_case("/a%zzb", 400, NULL);
	path_case("/a%2", 400, NULL);
	path_case("/a%", 400, NULL);
	path_case("a/b", 400, NULL);
	path_case("", 400, NULL);
	path_case("/0123456789012345678901234567890123456789012345678901234567890123456789", 414, NULL);

	CHECK(http_query_param("/x?bps=100&y=2", 14, "bps", v, sizeof(v)) == 3 && !strcmp(v, "100"),
	      "query bps=100");
	CHECK(http_query_param("/x?a=1&bps=7", 12, "bps", v, sizeof(v)) == 1 && !strcmp(v, "7"),
	      "query second parameter");
	CHECK(http_query_param("/x?bpsx=1", 9, "bps", v, sizeof(v)) == -1, "query: no prefix match");
	CHECK(http_query_param("/x", 2, "bps", v, sizeof(v)) == -1, "no query");
	CHECK(http_query_param("/x?bps", 6, "bps", v, sizeof(v)) == 0, "parameter without value");
	CHECK(!strcmp(http_reason(416), "Range Not Satisfiable") && !strcmp(http_reason(999), "Unknown"),
	      "reasons");
}

int main(void)
{
	test_basic();
	test_incomplete();
	test_errors();
	test_range();
	test_path();
	return check_done();
}
