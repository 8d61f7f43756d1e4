#include "listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

/* A non-blocking, close-on-exec socket of type bound to a:port, with
 * IP_FREEBIND, IPV6_V6ONLY for IPv6, and (reuse) SO_REUSEADDR.  The
 * descriptor, or -1 with errno. */
static int bound_socket(const struct taddr *a, uint16_t port, int type, int reuse)
{
	struct sockaddr_storage ss;
	socklen_t sl = taddr_sockaddr(a, port, &ss);
	int one = 1, fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if ((ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int tcp_listen(const struct taddr *a, uint16_t port, int backlog)
{
	int fd = bound_socket(a, port, SOCK_STREAM, 1);

	if (fd >= 0 && listen(fd, backlog) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int tcp_listen_io(struct loop_io *io, const struct taddr *a, uint16_t port, int backlog,
		  loop_io_cb cb, void *arg)
{
	int fd = tcp_listen(a, port, backlog);

	if (fd < 0)
		return -1;
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
	return 0;
}

int udp_bind(const struct taddr *a, uint16_t port)
{
	return bound_socket(a, port, SOCK_DGRAM, 0);
}

int tcp_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
