/*
 * udpsink.c - UDP datagram counter for `make bench`.
 *
 * Binds 0.0.0.0:PORT (so datagrams to the node's own address and to a VIP on
 * lo both count), reads with recvmmsg until SIGTERM/SIGINT or T seconds, and
 * prints one JSON object on stdout:
 *   {"received":N,"drops":N,"span":S}
 * received: datagrams read; drops: datagrams the kernel dropped at this
 * socket (receive buffer full, SO_MEMINFO); span: seconds between the first
 * and the last datagram.  received + drops is what reached the node's UDP
 * layer for this port.
 *
 * Usage: udpsink [-t SECONDS] PORT      (default: until signalled, max 600 s)
 * Exit: 0 after a run, 2 on usage, 1 on setup errors.
 */
#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

#define BATCH 256

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct mmsghdr msgs[BATCH];
	static struct iovec iov[BATCH];
	static char bufs[BATCH][64];
	struct sockaddr_in a;
	struct sigaction sa;
	struct timeval tv = { 0, 100000 };
	unsigned long received = 0;
	__u32 mem[SK_MEMINFO_VARS];
	socklen_t mlen = sizeof(mem);
	double secs = 600, deadline, first = 0, last = 0;
	int opt, fd, i, port, rcvbuf = 64 << 20;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			goto usage;
		secs = atof(optarg);
	}
	if (argc - optind != 1 || secs <= 0)
		goto usage;
	port = atoi(argv[optind]);
	if (port < 1 || port > 65535)
		goto usage;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: recvmmsg returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("udpsink: socket");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("udpsink: bind");
		return 1;
	}
	for (i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	deadline = now_s() + secs;
	while (!stop && now_s() < deadline) {
		int n = recvmmsg(fd, msgs, BATCH, 0, NULL);

		if (n > 0) {
			last = now_s();
			if (received == 0)
				first = last;
			received += (unsigned long)n;
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			perror("udpsink: recvmmsg");
			break;
		}
	}
	memset(mem, 0, sizeof(mem));
	getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &mlen);
	close(fd);
	printf("{\"received\":%lu,\"drops\":%u,\"span\":%.3f}\n", received,
	       mem[SK_MEMINFO_DROPS], last - first);
	return 0;
usage:
	fprintf(stderr, "usage: udpsink [-t SECONDS] PORT\n");
	return 2;
}
