/*
 * connrate.c - HTTP connection-rate load generator for `make bench`.
 *
 * Keeps C connections in flight (one epoll loop, non-blocking sockets); each
 * one is a new TCP connection: connect, send "GET PATH HTTP/1.0", read until
 * the server closes, close, start the next one.  Destinations are used round
 * robin.  Runs for T seconds and prints one JSON object on stdout:
 *   {"completed":N,"errors":N,"bad_status":N,"seconds":S,"cps":R}
 * completed: connections that got a full response whose status line says 200
 * before the deadline; cps = completed / seconds.  Connections still in flight
 * at the deadline are not counted.
 *
 * Usage: connrate [-c CONCURRENCY] [-t SECONDS] [-p PORT] [-u PATH] ADDR...
 * (each ADDR IPv4 or IPv6)
 * Exit: 0 after a run (even one with errors), 2 on usage, 1 on setup errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONC 1024
#define MAX_DST  16

enum cstate { C_IDLE, C_CONNECTING, C_READING };

struct conn {
	int fd;
	enum cstate st;
	size_t got;		/* response bytes read so far */
	char head[16];		/* first bytes of the response */
};

struct run {
	struct sockaddr_storage dst[MAX_DST];
	socklen_t dstlen[MAX_DST];
	int ndst, next_dst;
	int ep;
	char req[256];
	size_t req_len;
	unsigned long completed, errors, bad_status;
	struct conn c[MAX_CONC];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void conn_close(struct run *r, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->st = C_IDLE;
}

/* Starts a new connection in slot c.  Returns 0, or -1 (counted as error). */
static int conn_start(struct run *r, struct conn *c)
{
	struct epoll_event ev;
	int fd;

	fd = socket(r->dst[r->next_dst].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	c->fd = fd;
	c->got = 0;
	memset(c->head, 0, sizeof(c->head));
	if (connect(fd, (struct sockaddr *)&r->dst[r->next_dst], r->dstlen[r->next_dst]) < 0 &&
	    errno != EINPROGRESS) {
		conn_close(r, c);
		return -1;
	}
	r->next_dst = (r->next_dst + 1) % r->ndst;
	c->st = C_CONNECTING;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		conn_close(r, c);
		return -1;
	}
	return 0;
}

/* Handles readiness of c.  Returns 1 when the connection is finished (ok or
 * not: counters updated, slot idle), 0 to keep waiting. */
static int conn_event(struct run *r, struct conn *c, unsigned events)
{
	struct epoll_event ev;
	char buf[4096];
	ssize_t n;
	int err = 0;
	socklen_t elen = sizeof(err);

	if (c->st == C_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)
			goto fail;
		n = send(c->fd, r->req, r->req_len, MSG_NOSIGNAL);
		if (n != (ssize_t)r->req_len)
			goto fail;
		c->st = C_READING;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			goto fail;
		return 0;
	}
	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n > 0) {
			if (c->got < sizeof(c->head)) {
				size_t k = sizeof(c->head) - c->got;

				if (k > (size_t)n)
					k = (size_t)n;
				memcpy(c->head + c->got, buf, k);
			}
			c->got += (size_t)n;
			continue;
		}
		if (n == 0)
			break;
		if ((errno == EAGAIN || errno == EWOULDBLOCK) && !(events & EPOLLERR))
			return 0;
		goto fail;
	}
	/* "HTTP/1.x 200" */
	if (c->got >= 12 && memcmp(c->head, "HTTP/1.", 7) == 0 && memcmp(c->head + 9, "200", 3) == 0)
		r->completed++;
	else
		r->bad_status++;
	conn_close(r, c);
	return 1;
fail:
	r->errors++;
	conn_close(r, c);
	return 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: connrate [-c CONCURRENCY] [-t SECONDS] [-p PORT] [-u PATH] ADDR...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct run r;
	struct epoll_event evs[256];
	double secs = 5, t0, t1, deadline;
	int conc = 32, port = 80, opt, i, n;
	const char *path = "/node";

	while ((opt = getopt(argc, argv, "c:t:p:u:")) != -1) {
		switch (opt) {
		case 'c': conc = atoi(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'p': port = atoi(optarg); break;
		case 'u': path = optarg; break;
		default: usage();
		}
	}
	if (conc < 1 || conc > MAX_CONC || secs <= 0 || port < 1 || port > 65535 ||
	    optind >= argc || argc - optind > MAX_DST || strlen(path) > 100)
		usage();
	for (i = optind; i < argc; i++, r.ndst++) {
		struct sockaddr_in *a = (struct sockaddr_in *)&r.dst[r.ndst];
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&r.dst[r.ndst];

		if (inet_pton(AF_INET, argv[i], &a->sin_addr) == 1) {
			a->sin_family = AF_INET;
			a->sin_port = htons((uint16_t)port);
			r.dstlen[r.ndst] = sizeof(*a);
		} else if (inet_pton(AF_INET6, argv[i], &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)port);
			r.dstlen[r.ndst] = sizeof(*a6);
		} else {
			fprintf(stderr, "connrate: bad IPv4 or IPv6 address '%s'\n", argv[i]);
			return 2;
		}
	}
	r.req_len = (size_t)snprintf(r.req, sizeof(r.req),
				     "GET %s HTTP/1.0\r\nHost: bench\r\nUser-Agent: connrate\r\n\r\n",
				     path);
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (r.ep < 0) {
		perror("connrate: epoll_create1");
		return 1;
	}
	for (i = 0; i < conc; i++)
		r.c[i].fd = -1;

	t0 = now_s();
	deadline = t0 + secs;
	for (i = 0; i < conc; i++)
		if (conn_start(&r, &r.c[i]) < 0)
			r.errors++;
	for (;;) {
		double t = now_s();
		int ms;

		if (t >= deadline)
			break;
		ms = (int)((deadline - t) * 1000) + 1;
		n = epoll_wait(r.ep, evs, 256, ms > 100 ? 100 : ms);
		if (n < 0 && errno != EINTR) {
			perror("connrate: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (conn_event(&r, c, evs[i].events) && now_s() < deadline &&
			    conn_start(&r, c) < 0)
				r.errors++;
		}
		/* Slots whose restart failed (e.g. no free port): retry now. */
		for (i = 0; i < conc; i++)
			if (r.c[i].st == C_IDLE && conn_start(&r, &r.c[i]) < 0)
				r.errors++;
	}
	t1 = now_s();
	for (i = 0; i < conc; i++)
		conn_close(&r, &r.c[i]);
	printf("{\"completed\":%lu,\"errors\":%lu,\"bad_status\":%lu,\"seconds\":%.3f,\"cps\":%.1f}\n",
	       r.completed, r.errors, r.bad_status, t1 - t0, (double)r.completed / (t1 - t0));
	return 0;
}
