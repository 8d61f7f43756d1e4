/*
 * tch_client.c - an ordinary TCP client for the handoff test: it streams a
 * deterministic byte sequence to an echo server and checks that what comes
 * back is exactly that sequence.  Nothing in it knows about handoffs: it is
 * the "unmodified client" whose session the storage nodes move around.
 *
 *   tch_client --connect ADDR:PORT [--rate BYTES_PER_S] [--chunk N]
 *              [--seed N] [--status FILE]
 *
 * Signals: SIGUSR1 stops reading (the client's receive window closes),
 * SIGUSR2 reads again, SIGTERM/SIGINT finish: stop sending, shut down the
 * sending side, read until every byte came back and the server closed,
 * then print a JSON summary and exit 0 only if the echo was byte-exact and
 * the connection ended cleanly (no reset, no error).
 *
 * --status FILE is rewritten (atomically) every 100 ms with the running
 * state: port, sent, recv, reading, max_gap_ms (the longest time it waited
 * for echo while reading), state, error.
 *
 * For a wait that should not have happened, the summary says when and in
 * which state: max_gap_at (UTC, HH:MM:SS.mmm like the servers' logs, when
 * the longest wait began) and long_gap, the socket's TCP_INFO one second
 * into the first wait over 1 s (which side was waiting on a timer: our
 * retransmissions and backoff, our zero-window probes and the window the
 * server last offered, bytes we could not send yet).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <linux/tcp.h>	/* struct tcp_info with tcpi_snd_wnd (glibc's lacks it) */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/addr.h"

struct client {
	int fd, sfd;
	uint16_t port;
	uint64_t seed;
	uint64_t sent, recv, hash;
	uint64_t rate, chunk;
	int reading, finishing, shut, eof;
	long mismatch;			/* first bad offset, -1 if none */
	char error[160];
	uint64_t t_start, last_progress, max_gap_ms, gaps_100, gaps_1000;
	int in_gap_100, in_gap_1000;	/* the current wait was counted */
	uint64_t max_gap_start_real;	/* CLOCK_REALTIME ms when the longest wait began */
	char long_gap[256];		/* JSON: TCP_INFO 1 s into the first wait over 1 s */
	const char *status;
	uint64_t last_status;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "HH:MM:SS.mmm" (UTC) of a CLOCK_REALTIME ms value, "" for 0. */
static void utc_ms(uint64_t ms, char *out, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !gmtime_r(&t, &tm)) {
		snprintf(out, len, "%s", "");
		return;
	}
	snprintf(out, len, "%02d:%02d:%02d.%03u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(ms % 1000));
}

/* The socket's TCP_INFO as a JSON object into c->long_gap (once). */
static void note_long_gap(struct client *c, uint64_t gap_ms)
{
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	char at[16];

	if (c->long_gap[0])
		return;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0)
		return;
	utc_ms(real_ms() - gap_ms, at, sizeof(at));
	snprintf(c->long_gap, sizeof(c->long_gap),
		 "{\"began\":\"%s\",\"retransmits\":%u,\"probes\":%u,\"backoff\":%u,"
		 "\"rto_ms\":%u,\"unacked\":%u,\"notsent_bytes\":%u,\"snd_wnd\":%u,"
		 "\"rcv_space\":%u,\"last_data_recv_ms\":%u,\"last_ack_recv_ms\":%u}",
		 at, ti.tcpi_retransmits, ti.tcpi_probes, ti.tcpi_backoff, ti.tcpi_rto / 1000,
		 ti.tcpi_unacked, ti.tcpi_notsent_bytes, ti.tcpi_snd_wnd, ti.tcpi_rcv_space,
		 ti.tcpi_last_data_recv, ti.tcpi_last_ack_recv);
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Bytes [off, off + n) of the stream. */
static void gen(uint64_t seed, uint64_t off, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t o = off + i;
		b[i] = (uint8_t)(mix(seed ^ (o >> 3)) >> ((o & 7) * 8));
	}
}

static void write_status(struct client *c, const char *state)
{
	char tmp[512];
	FILE *f;

	if (!c->status)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", c->status);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "{\"port\":%u,\"sent\":%" PRIu64 ",\"recv\":%" PRIu64 ",\"reading\":%s,"
		"\"max_gap_ms\":%" PRIu64 ",\"gaps_over_100ms\":%" PRIu64 ",\"state\":\"%s\","
		"\"error\":\"%s\"}\n", c->port, c->sent, c->recv, c->reading ? "true" : "false",
		c->max_gap_ms, c->gaps_100, state, c->error);
	fclose(f);
	rename(tmp, c->status);
}

static void fail(struct client *c, const char *what, int err)
{
	if (!c->error[0])
		snprintf(c->error, sizeof(c->error), "%s: %s", what, err ? strerror(err) : "unexpected");
}

static void do_send(struct client *c, uint64_t now)
{
	uint8_t buf[65536];
	uint64_t allowed = c->chunk;

	if (c->rate) {
		uint64_t budget = c->rate * (now - c->t_start) / 1000;
		allowed = budget > c->sent ? budget - c->sent : 0;
		if (allowed > c->chunk)
			allowed = c->chunk;
	}
	if (allowed > sizeof(buf))
		allowed = sizeof(buf);
	if (!allowed)
		return;
	gen(c->seed, c->sent, buf, allowed);
	ssize_t w = send(c->fd, buf, allowed, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w > 0) {
		for (ssize_t i = 0; i < w; i++) {
			c->hash ^= buf[i];
			c->hash *= 1099511628211ull;
		}
		c->sent += (uint64_t)w;
	} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
		fail(c, "send", errno);
	}
}

static void do_recv(struct client *c, uint64_t now)
{
	uint8_t buf[65536], want[65536];
	ssize_t r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (r > 0) {
		gen(c->seed, c->recv, want, (size_t)r);
		if (memcmp(buf, want, (size_t)r)) {
			for (ssize_t i = 0; i < r; i++)
				if (buf[i] != want[i]) {
					c->mismatch = (long)(c->recv + (uint64_t)i);
					break;
				}
			fail(c, "echo differs from what was sent", 0);
		}
		c->recv += (uint64_t)r;
		if (c->recv > c->sent)
			fail(c, "more echo than was sent", 0);
		c->last_progress = now;
		c->in_gap_100 = c->in_gap_1000 = 0;
	} else if (r == 0) {
		c->eof = 1;
		if (!c->finishing || c->recv != c->sent)
			fail(c, "server closed the connection", 0);
	} else if (errno != EAGAIN && errno != EINTR) {
		fail(c, "recv", errno);
	}
}

static void track_gap(struct client *c, uint64_t now)
{
	/* Waiting for echo: reading, and bytes out that have not come back. */
	if (!c->reading || c->recv >= c->sent) {
		c->last_progress = now;
		c->in_gap_100 = c->in_gap_1000 = 0;
		return;
	}
	uint64_t gap = now - c->last_progress;
	if (gap > c->max_gap_ms) {
		c->max_gap_ms = gap;
		c->max_gap_start_real = real_ms() - gap;
	}
	if (gap > 100 && !c->in_gap_100) {
		c->gaps_100++;
		c->in_gap_100 = 1;
	}
	if (gap > 1000 && !c->in_gap_1000) {
		c->gaps_1000++;
		c->in_gap_1000 = 1;
		note_long_gap(c, gap);
	}
}

/* Connect c->fd to target (ADDR:PORT, IPv6 as [ADDR]:PORT); c->port is our
 * port.  0, or -1 after fail(). */
static int client_connect(struct client *c, const struct taddr *a, uint16_t port)
{
	struct sockaddr_storage ss, me;
	socklen_t sl = taddr_sockaddr(a, port, &ss), ml = sizeof(me);
	struct taddr mine;

	c->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&ss, sl) < 0) {
		fail(c, "connect", errno);
		return -1;
	}
	getsockname(c->fd, (struct sockaddr *)&me, &ml);
	taddr_from_sockaddr(&me, &mine, &c->port);
	return 0;
}

/* SIGUSR1: stop reading; SIGUSR2: read again; SIGTERM/SIGINT: finish (send
 * no more, shut down our side, read the rest of the echo within 60 s). */
static void on_signals(struct client *c, uint64_t now, uint64_t *finish_deadline)
{
	struct signalfd_siginfo si;

	while (read(c->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1) {
			c->reading = 0;
		} else if (si.ssi_signo == SIGUSR2) {
			c->reading = 1;
			c->last_progress = now;
		} else if (!c->finishing) {
			c->finishing = 1;
			c->reading = 1;
			c->last_progress = now;
			*finish_deadline = now + 60000;
		}
	}
}

/* Stream and check the echo until finished or failed. */
static void run(struct client *c)
{
	uint64_t finish_deadline = 0;

	while (!c->error[0]) {
		struct pollfd p[2] = { { .fd = c->fd }, { .fd = c->sfd, .events = POLLIN } };
		if (c->reading)
			p[0].events |= POLLIN;
		if (!c->finishing)
			p[0].events |= POLLOUT;
		/* rate-limited: poll often */
		if (poll(p, 2, c->rate && !c->finishing ? 2 : 100) < 0 && errno != EINTR)
			break;
		uint64_t now = now_ms();
		if (p[1].revents & POLLIN)
			on_signals(c, now, &finish_deadline);
		if (!c->finishing && (p[0].revents & POLLOUT))
			do_send(c, now);
		if (c->finishing && !c->shut) {
			shutdown(c->fd, SHUT_WR);
			c->shut = 1;
		}
		if (c->reading && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			do_recv(c, now);
		if (p[0].revents & POLLERR) {
			int e = 0;
			socklen_t el = sizeof(e);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el);
			if (e)
				fail(c, "socket error", e);
		}
		track_gap(c, now);
		if (c->finishing && c->eof)
			break;
		if (c->finishing && now > finish_deadline) {
			fail(c, "echo incomplete 60 s after finishing", ETIMEDOUT);
			break;
		}
		if (now - c->last_status >= 100) {
			write_status(c, c->finishing ? "finishing" : "running");
			c->last_status = now;
		}
	}
}

int main(int argc, char **argv)
{
	static struct client c = { .fd = -1, .chunk = 4096, .seed = 1, .mismatch = -1,
				   .hash = 14695981039346656037ull, .reading = 1 };
	const char *target = NULL;
	struct taddr a;
	uint16_t port;
	int opt;
	static const struct option lo[] = {
		{ "connect", 1, 0, 'c' }, { "rate", 1, 0, 'r' }, { "chunk", 1, 0, 'k' },
		{ "seed", 1, 0, 's' }, { "status", 1, 0, 'S' }, { 0, 0, 0, 0 }
	};

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'c': target = optarg; break;
		case 'r': c.rate = strtoull(optarg, NULL, 0); break;
		case 'k': c.chunk = strtoull(optarg, NULL, 0); break;
		case 's': c.seed = strtoull(optarg, NULL, 0); break;
		case 'S': c.status = optarg; break;
		default:
			fprintf(stderr, "usage: tch_client --connect ADDR:PORT [--rate B/s] [--chunk N] "
				"[--seed N] [--status FILE]\n");
			return 2;
		}
	}
	if (!target || taddr_parse_endpoint(target, &a, &port) < 0 || !c.chunk) {
		fprintf(stderr, "tch_client: --connect ADDR:PORT required\n");
		return 2;
	}

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	c.sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);

	if (client_connect(&c, &a, port) < 0) {
		write_status(&c, "error");
		printf("{\"error\":\"%s\"}\n", c.error);
		return 1;
	}
	c.t_start = c.last_progress = now_ms();
	write_status(&c, "running");
	run(&c);
	int ok = !c.error[0] && c.eof && c.recv == c.sent && c.mismatch < 0;
	char gap_at[16];
	write_status(&c, ok ? "done" : "error");
	utc_ms(c.max_gap_start_real, gap_at, sizeof(gap_at));
	printf("{\"ok\":%s,\"port\":%u,\"sent\":%" PRIu64 ",\"recv\":%" PRIu64 ",\"hash\":\"%016" PRIx64
	       "\",\"mismatch\":%ld,\"max_gap_ms\":%" PRIu64 ",\"max_gap_at\":\"%s\",\"gaps_over_100ms\":%" PRIu64
	       ",\"gaps_over_1s\":%" PRIu64 ",\"long_gap\":%s,\"seconds\":%.1f,\"error\":\"%s\"}\n",
	       ok ? "true" : "false", c.port, c.sent, c.recv, c.hash, c.mismatch, c.max_gap_ms, gap_at,
	       c.gaps_100, c.gaps_1000, c.long_gap[0] ? c.long_gap : "null",
	       (double)(now_ms() - c.t_start) / 1000.0, c.error);
	close(c.fd);
	return ok ? 0 : 1;
}
