/*
 * listen.h - tandem-nasd's TCP listeners (HTTP, NFS and its portmapper and
 * MOUNT, the handoff channels) all open the same way.
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

#endif
