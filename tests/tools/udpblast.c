/*
 * udpblast.c - small-packet UDP sender for `make bench`.
 *
 * Sends UDP datagrams of PAYLOAD bytes (default 18: with IPv4's 20-byte and
 * UDP's 8-byte headers that is a 46-byte IP packet, i.e. the minimum 64-byte
 * Ethernet frame incl. FCS) from one socket (one source port: one flow) to
 * ADDR:PORT as fast as sendmmsg allows, for T seconds.  Prints one JSON
 * object on stdout:
 *   {"sent":N,"send_errors":N,"seconds":S,"payload":B,"pps_sent":R}
 * Send errors (ENOBUFS, ECONNREFUSED after an ICMP error...) are counted and
 * the run goes on.
 *
 * Usage: udpblast [-t SECONDS] [-s PAYLOAD] [-b BATCH] ADDR PORT
 * Exit: 0 after a run, 2 on usage, 1 on setup errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BATCH 1024

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: udpblast [-t SECONDS] [-s PAYLOAD] [-b BATCH] ADDR PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct mmsghdr msgs[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	static char payload[1472];
	struct sockaddr_in dst;
	unsigned long sent = 0, errs = 0;
	double secs = 5, t0, t1, deadline;
	int size = 18, batch = 64, opt, fd, i, port, sndbuf = 4 << 20;

	while ((opt = getopt(argc, argv, "t:s:b:")) != -1) {
		switch (opt) {
		case 't': secs = atof(optarg); break;
		case 's': size = atoi(optarg); break;
		case 'b': batch = atoi(optarg); break;
		default: usage();
		}
	}
	if (argc - optind != 2 || secs <= 0 || size < 0 || size > (int)sizeof(payload) ||
	    batch < 1 || batch > MAX_BATCH)
		usage();
	port = atoi(argv[optind + 1]);
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (port < 1 || port > 65535 || inet_pton(AF_INET, argv[optind], &dst.sin_addr) != 1)
		usage();

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		perror("udpblast: socket/connect");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	for (i = 0; i < size; i++)
		payload[i] = (char)('a' + i % 26);
	for (i = 0; i < batch; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = (size_t)size;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	t0 = now_s();
	deadline = t0 + secs;
	do {
		int n = sendmmsg(fd, msgs, (unsigned)batch, 0);

		if (n > 0)
			sent += (unsigned long)n;
		else if (n < 0 && errno != EINTR)
			errs++;
		/* A short count means the next message failed: count it once. */
		if (n >= 0 && n < batch)
			errs++;
	} while (now_s() < deadline);
	t1 = now_s();
	close(fd);
	printf("{\"sent\":%lu,\"send_errors\":%lu,\"seconds\":%.3f,\"payload\":%d,\"pps_sent\":%.0f}\n",
	       sent, errs, t1 - t0, size, (double)sent / (t1 - t0));
	return 0;
}
