/*
 * netio.h - writing a whole buffer to a descriptor: the one loop every
 * daemon uses for control replies, handoff frames, uploads into files and
 * libtch's queue refills.
 */
#ifndef TANDEM_NETIO_H
#define TANDEM_NETIO_H

#include <stddef.h>

/*
 * Send all of p[0..n) on socket fd with send(MSG_NOSIGNAL | flags): a peer
 * that reset never raises SIGPIPE.  EINTR is retried.  When the socket
 * would block (EAGAIN: a non-blocking socket, MSG_DONTWAIT in flags, or a
 * send timeout), wait until it is writable for at most timeout_ms in all;
 * timeout_ms 0 gives up at once.  Returns 0 when everything went out, else
 * -1 with errno (ETIMEDOUT when the time ran out, EIO when send wrote
 * nothing); *done (if given) is the number of bytes sent either way.
 */
int send_all(int fd, const void *p, size_t n, int flags, int timeout_ms, size_t *done);

/* The same for a file (or pipe): write(2), EINTR retried, no waiting. */
int write_all(int fd, const void *p, size_t n, size_t *done);

#endif
