/*
 * http_response.c - response heads.  Every response carries Date, Server,
 * Content-Length (except 204), and X-Tandem-Node when the node has a name;
 * files add Last-Modified, ETag and Accept-Ranges.
 *
 * The ETag is "size-mtime" (hex): the same on every node that holds the
 * same version of a file (inode numbers would differ), so a client moved to
 * another node, or a handed-off session, sees one validator.
 */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct app {
	char *buf;
	size_t cap, len;
	int overflow;
};

static void add(struct app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct app *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(a->buf + a->len, a->cap - a->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= a->cap - a->len)
		a->overflow = 1;
	else
		a->len += (size_t)n;
}

void http_date(uint64_t t_ns, char *buf, size_t cap)
{
	time_t t = (time_t)(t_ns / 1000000000ull);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int http_etag(uint64_t size, uint64_t mtime_ns, char *buf, size_t cap)
{
	return snprintf(buf, cap, "\"%llx-%llx\"", (unsigned long long)size,
			(unsigned long long)mtime_ns);
}

int http_response_head(const struct nasd *n, const struct resp_hdr *h, char *buf, size_t cap)
{
	struct app a = { buf, cap, 0, 0 };
	struct timespec now;
	char d[64];

	clock_gettime(CLOCK_REALTIME, &now);
	http_date((uint64_t)now.tv_sec * 1000000000ull, d, sizeof(d));
	add(&a, "HTTP/1.1 %d %s\r\nServer: tandem-nasd\r\nDate: %s\r\n", h->status,
	    http_reason(h->status), d);
	if (n->cfg.node_name[0])
		add(&a, "X-Tandem-Node: %s\r\n", n->cfg.node_name);
	if (h->content_type)
		add(&a, "Content-Type: %s\r\n", h->content_type);
	if (h->status != 204 && h->status >= 200)
		add(&a, "Content-Length: %llu\r\n", (unsigned long long)h->length);
	if (h->has_validators) {
		http_date(h->mtime_ns, d, sizeof(d));
		add(&a, "Last-Modified: %s\r\n", d);
		http_etag(h->size, h->mtime_ns, d, sizeof(d));
		add(&a, "ETag: %s\r\nAccept-Ranges: bytes\r\n", d);
	}
	if (h->has_range)
		add(&a, "Content-Range: bytes %llu-%llu/%llu\r\n", (unsigned long long)h->first,
		    (unsigned long long)h->last, (unsigned long long)h->total);
	else if (h->unsatisfied)
		add(&a, "Content-Range: bytes */%llu\r\n", (unsigned long long)h->total);
	if (h->allow)
		add(&a, "Allow: %s\r\n", h->allow);
	if (h->authenticate)
		add(&a, "WWW-Authenticate: %s\r\n", h->authenticate);
	if (!h->keepalive)
		add(&a, "Connection: close\r\n");
	else if (h->http10)
		add(&a, "Connection: keep-alive\r\n");
	add(&a, "\r\n");
	return a.overflow ? -1 : (int)a.len;
}
