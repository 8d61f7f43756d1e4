/*
 * api_guard.c - pure header checks against cross-site use, and the rate
 * limit key of a client address; see api_guard.h.
 */
#include "api_guard.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

int api_json_content_type(const char *ct)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (!ct)
		return 0;
	while (is_ows(*ct))
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (is_ows(*ct))
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* Length of the authority a[0..n) without the scheme's default port. */
static size_t without_default_port(const char *a, size_t n, int tls)
{
	const char *port = tls ? ":443" : ":80";
	size_t pl = strlen(port);

	if (n > pl && !memcmp(a + n - pl, port, pl))
		return n - pl;
	return n;
}

int api_origin_ok(const char *origin, const char *host, int tls)
{
	const char *scheme = tls ? "https://" : "http://";
	size_t sl = strlen(scheme), ol, hl;

	if (!origin || !host || !host[0])
		return 0;
	if (strncasecmp(origin, scheme, sl) != 0)
		return 0;	/* also "null" (sandboxed frames, file:, some redirects) */
	origin += sl;
	for (const char *p = host; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == '/' || *p == '@' || *p == 0x7f)
			return 0;
	ol = without_default_port(origin, strlen(origin), tls);
	hl = without_default_port(host, strlen(host), tls);
	return ol == hl && ol > 0 && strncasecmp(origin, host, ol) == 0;
}

int api_client_key(int family, const void *addr, char *out, size_t outlen)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	char txt[INET6_ADDRSTRLEN];
	const uint8_t *a = addr;
	uint8_t net[16] = { 0 };
	int n;

	if (family == AF_INET6 && !memcmp(a, mapped, sizeof(mapped))) {
		family = AF_INET;
		a += 12;
	}
	if (family == AF_INET) {
		inet_ntop(AF_INET, a, txt, sizeof(txt));
		n = snprintf(out, outlen, "a:%s", txt);
	} else if (family == AF_INET6) {
		memcpy(net, a, 8);	/* the /64 */
		inet_ntop(AF_INET6, net, txt, sizeof(txt));
		n = snprintf(out, outlen, "a:%s/64", txt);
	} else {
		return -1;
	}
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}

int api_user_key(const char *user, char *out, size_t outlen)
{
	size_t o = 0;
	int space = 0;

	if (!outlen)
		return -1;
	for (; *user; user++) {
		char c = *user;
		if (c == ' ') {
			space = o > 0;
			continue;
		}
		if (o + space + 1 >= outlen)
			return -1;
		if (space)
			out[o++] = ' ';
		space = 0;
		out[o++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[o] = '\0';
	return (int)o;
}
