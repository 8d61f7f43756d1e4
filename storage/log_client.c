/* log_client.c - rate and address of client-caused log lines (log_client.h). */
#include "log_client.h"

#include <stdio.h>

#include "lib/addr.h"
#include "lib/loop.h"

#define LOG_RATE_EVERY_MS 1000

int log_rate_allow(struct log_rate *r, char *not_logged, size_t len)
{
	uint64_t now = loop_now_ms(), add = (now - r->at_ms) / LOG_RATE_EVERY_MS;

	if (add) {	/* refill: one a second, at most the burst */
		uint64_t t = r->tokens + add;
		r->tokens = t > LOG_RATE_BURST ? LOG_RATE_BURST : (unsigned)t;
		r->at_ms = now;
	}
	if (!r->tokens) {
		r->suppressed++;
		return 0;
	}
	r->tokens--;
	not_logged[0] = '\0';
	if (r->suppressed)
		snprintf(not_logged, len, "%llu", (unsigned long long)r->suppressed);
	r->suppressed = 0;
	return 1;
}

void log_client(const struct sockaddr_storage *ss, char *addr, uint16_t *port)
{
	struct taddr a;

	if (taddr_from_sockaddr(ss, &a, port) < 0)
		*port = 0;
	taddr_fmt(&a, addr, TADDR_STRLEN);
}
