/*
 * listen.h - tandem-nasd's sockets all open the same way: TCP listeners
 * (HTTP, NFS and its portmapper and MOUNT, the handoff channels), UDP
 * sockets bound to a service address (the portmapper and MOUNT over UDP,
 * the switch's MOVEs), and TCP_NODELAY on every connection that carries
 * requests and replies.
 */
#ifndef TANDEM_NASD_LISTEN_H
#define TANDEM_NASD_LISTEN_H

#include <stdint.h>

#include "lib/addr.h"
#include "lib/loop.h"

/*
 * A non-blocking, close-on-exec TCP listener on a:port (host order) with
 * the given backlog.  SO_REUSEADDR: a restarted daemon binds while old
 * connections linger in TIME_WAIT; IP_FREEBIND: the VIP may appear on lo
 * after we start; IPv6 listeners are IPV6_V6ONLY (an IPv4 address gets its
 * own).  Returns the descriptor, or -1 with errno.
 */
int tcp_listen(const struct taddr *a, uint16_t port, int backlog);

/* The same, made the loop handler io (fd, cb, arg set; not yet added to a
 * loop).  0, or -1 with errno. */
int tcp_listen_io(struct loop_io *io, const struct taddr *a, uint16_t port, int backlog,
		  loop_io_cb cb, void *arg);

/*
 * A non-blocking, close-on-exec UDP socket bound to a:port (host order),
 * with IP_FREEBIND (the VIP may appear on lo after we start) and, for
 * IPv6, IPV6_V6ONLY.  Bound to the address itself, not the wildcard, so a
 * reply sent from it leaves from the address the request came to (the
 * VIP).  Returns the descriptor, or -1 with errno.
 */
int udp_bind(const struct taddr *a, uint16_t port);

/*
 * TCP_NODELAY on connection fd: every TCP connection of nasd carries
 * requests and replies (HTTP, RPC records, the handoff channels, calls
 * forwarded to other nodes), and with Nagle's algorithm a small reply
 * written while an earlier one is unacknowledged waits for that ACK, which
 * a client with delayed ACKs sends only after up to 40 ms: pipelined calls
 * then crawl (an NFS client writing a file with many WRITEs in flight ran
 * ten times slower).  0, or -1 with errno.
 */
int tcp_nodelay(int fd);

#endif
