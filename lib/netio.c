#include "netio.h"
#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

/* The loop behind send_all (sock) and write_all (!sock). */
static int put_all(int fd, const char *p, size_t n, int sock, int flags, int timeout_ms,
		   size_t *done)
{
	int64_t end = timeout_ms > 0 ? (int64_t)loop_now_ms() + timeout_ms : 0;
	size_t off = 0;
	int rc = 0;

	while (off < n) {
		ssize_t w = sock ? send(fd, p + off, n - off, MSG_NOSIGNAL | flags)
				 : write(fd, p + off, n - off);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0)
			errno = EIO;
		if (w == 0 || errno != EAGAIN || !sock || timeout_ms <= 0) {
			rc = -1;
			break;
		}
		int64_t left = end - (int64_t)loop_now_ms();
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0) {
			errno = ETIMEDOUT;
			rc = -1;
			break;
		}
	}
	if (done)
		*done = off;
	return rc;
}

int send_all(int fd, const void *p, size_t n, int flags, int timeout_ms, size_t *done)
{
	return put_all(fd, p, n, 1, flags, timeout_ms, done);
}

int write_all(int fd, const void *p, size_t n, size_t *done)
{
	return put_all(fd, p, n, 0, 0, 0, done);
}
