/* storage/http/http_resp: response heads as tandem-nasd's data-location fetch sees
 * them, and the ones it must refuse. */
#include <string.h>

#include "check.h"
#include "storage/http/http_resp.h"

static int parse(const char *s, struct http_resp_head *h, const char **why)
{
	return http_resp_parse(s, strlen(s), h, why);
}

int main(void)
{
	struct http_resp_head h;
	const char *why;
	uint64_t sz, mt;
	const char *ok206 = "HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\n"
			    "Content-Range: bytes 90-99/100\r\nETag: \"64-1a2b\"\r\n\r\nBODY";

	int n = parse(ok206, &h, &why);
	CHECK(n == (int)(strlen(ok206) - 4), "206 head length %d", n);
	CHECK(h.status == 206 && h.has_length && h.length == 10 && h.has_range && h.first == 90 &&
	      h.last == 99 && h.total == 100 && !strcmp(h.etag, "\"64-1a2b\""), "206 fields");
	CHECK(http_resp_etag_split(h.etag, &sz, &mt) == 0 && sz == 100 && mt == 0x1a2b, "etag split");
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", &h, &why) == 0, "incomplete: 0");
	CHECK(parse("HTTP/1.0 404 Not Found\nContent-Length: 0\n\n", &h, &why) > 0 && h.status == 404,
	      "bare LF lines, HTTP/1.0");
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &h, &why) < 0,
	      "disagreeing Content-Length refused (%s)", why);
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &h, &why) > 0,
	      "repeated equal Content-Length taken");
	CHECK(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", &h, &why) < 0,
	      "Transfer-Encoding refused (%s)", why);
	CHECK(parse("HTTP/1.1 206 X\r\nContent-Range: bytes 9-5/100\r\n\r\n", &h, &why) < 0,
	      "backwards range refused");
	CHECK(parse("HTTP/1.1 206 X\r\nContent-Range: bytes 0-100/100\r\n\r\n", &h, &why) < 0,
	      "range past the end refused");
	CHECK(parse("HTTP/1.1 206 X\r\nContent-Range: bytes 0-1/*\r\n\r\n", &h, &why) < 0,
	      "unknown total refused");
	CHECK(parse("HTTP/1.1 20 OK\r\n\r\n", &h, &why) < 0, "two-digit status refused");
	CHECK(parse("HTTP/2 200 OK\r\n\r\n", &h, &why) < 0, "not HTTP/1.x refused");
	CHECK(parse("HTTP/1.1 200 OK\r\nX\rY: 1\r\n\r\n", &h, &why) < 0, "bare CR refused");
	CHECK(parse("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", &h, &why) < 0, "field without ':' refused");
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n", &h, &why) < 0,
	      "space before ':' refused");
	CHECK(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", &h, &why) < 0,
	      "Content-Length overflow refused");
	char big[HTTP_RESP_MAX_HEAD + 64];
	memset(big, 'a', sizeof(big));
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	CHECK(http_resp_parse(big, sizeof(big), &h, &why) < 0, "head over the limit refused");
	CHECK(http_resp_etag_split("\"64\"", &sz, &mt) < 0 && http_resp_etag_split("64-1", &sz, &mt) < 0 &&
	      http_resp_etag_split("\"6g-1\"", &sz, &mt) < 0, "foreign ETags not split");
	return check_done();
}
