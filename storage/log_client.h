/*
 * log_client.h - what tandem-nasd logs about its clients (doc/logs.md): a
 * client chooses how many refused MNTs, connections and requests it sends,
 * so those lines are rate-limited; and its address goes into the client
 * and client_port fields of an event.
 */
#ifndef TANDEM_STORAGE_LOG_CLIENT_H
#define TANDEM_STORAGE_LOG_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A token bucket of log lines; all zero is a full one. */
struct log_rate {
	uint64_t at_ms, suppressed;
	unsigned tokens;
};

/*
 * Whether one more client-caused line may go out now: a burst of
 * LOG_RATE_BURST, then one a second.  1, with the count of lines left out
 * before it as decimal text in not_logged ("" if none: the not_logged
 * field of the event), or 0 (left out, counted).
 */
#define LOG_RATE_BURST 10
int log_rate_allow(struct log_rate *r, char *not_logged, size_t len);

/* The address (into addr, TADDR_STRLEN bytes; "-" if ss is neither IPv4
 * nor IPv6) and port of a client's socket address. */
void log_client(const struct sockaddr_storage *ss, char *addr, uint16_t *port);

#endif
