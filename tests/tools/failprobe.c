/*
 * failprobe.c - client-visible outage of a failover, for the pair
 * benchmarks of `make bench` (tests/bench/run.sh --only pair).
 *
 *   failprobe echo [-n NAME] ADDR PORT
 *       On a storage node: UDP echo bound to ADDR:PORT (the VIP on lo, so
 *       replies leave from the VIP, direct server return through the
 *       storage gateway).  Each reply is the request's first 16 bytes
 *       followed by NAME.  Runs until SIGTERM/SIGINT, then prints the
 *       JSON below for the requests it saw (sent = replies sent; its gaps
 *       are the client -> node direction alone).
 *
 *   failprobe udp [-i INTERVAL_US] [-t SECONDS] [-g GAP_MS] ADDR PORT
 *       One UDP socket (one flow) sends a 16-byte probe (sequence number,
 *       send time) every INTERVAL_US (default 1000) and reads the echoes.
 *       The outage is the longest time between two consecutive echoes
 *       arriving: it covers both directions (client -> VIP -> node through
 *       the switch's program, node -> client through the gateway), so a
 *       path that is only half restored still counts as down.
 *
 *   failprobe tcp [-i INTERVAL_US] [-t SECONDS] [-g GAP_MS] [-u PATH] ADDR PORT
 *       ONE keep-alive HTTP/1.1 connection: "GET PATH" (default /node), read
 *       the whole response (Content-Length), wait for the next interval tick,
 *       again.  The outage is the longest time between two responses; TCP's
 *       own retransmission timer (200 ms minimum, doubling) is part of it.
 *       A reset, a close or a timeout (5 s without a response) ends the run:
 *       the session did not survive.
 *
 * Both clients run until SECONDS (default 10) or SIGTERM/SIGINT, then print
 * one JSON object:
 *   {"mode","interval_us","seconds","sent","received","lost","max_gap_ms",
 *    "max_gap_start","gaps":[[start, ms], ...] (the first 4096 gaps >= GAP_MS, default
 *    20), "last_rx" (the last response), "rtt_p50_ms","rtt_p99_ms",
 *    "nodes":{"n1":N,...},"node_changes":N,
 *    "first_node","last_node","error":null|"..."}
 * Times "..start" are CLOCK_REALTIME seconds (the harness compares them with
 * the moment it stopped the master); a response's node is the body ("n2\n"
 * from the lab's nginx /node) or the echo's NAME.
 *
 * Exit: 0 after a run (even one that lost the session: see "error"),
 * 1 on setup errors, 2 on usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_GAPS 4096
#define MAX_NODES 8
#define NAME_LEN 32
#define MAX_RTT (1 << 20)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct timespec ns_ts(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	return ts;
}

static double real_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- results shared by both clients ---- */

struct res {
	const char *mode;
	uint64_t interval_us, sent, received;
	double gap_min_ms;
	uint64_t last_rx;		/* mono ns of the last response, 0 none yet */
	double max_gap_ms, max_gap_start;
	double gaps[MAX_GAPS][2];
	unsigned ngaps;
	uint32_t *rtt_us;		/* samples */
	size_t nrtt;
	char nodes[MAX_NODES][NAME_LEN];
	uint64_t node_count[MAX_NODES];
	unsigned nnodes, node_changes;
	int last_node, first_node;
	char error[128];
	uint64_t t_start;
	/* mono -> realtime offset, taken once */
	double real_at_start;
};

static double to_real(const struct res *r, uint64_t mono)
{
	return r->real_at_start + ((double)mono - (double)r->t_start) / 1e9;
}

static void got_response(struct res *r, uint64_t now, uint64_t rtt_ns, const char *node, size_t len)
{
	char name[NAME_LEN];
	unsigned i;

	r->received++;
	if (r->last_rx) {
		double gap = (double)(now - r->last_rx) / 1e6;

		if (gap > r->max_gap_ms) {
			r->max_gap_ms = gap;
			r->max_gap_start = to_real(r, r->last_rx);
		}
		if (gap >= r->gap_min_ms && r->ngaps < MAX_GAPS) {
			r->gaps[r->ngaps][0] = to_real(r, r->last_rx);
			r->gaps[r->ngaps][1] = gap;
			r->ngaps++;
		}
	}
	r->last_rx = now;
	if (r->nrtt < MAX_RTT)
		r->rtt_us[r->nrtt++] = (uint32_t)(rtt_ns / 1000);
	while (len && (node[len - 1] == '\n' || node[len - 1] == '\r' || node[len - 1] == '\0'))
		len--;
	if (len >= NAME_LEN)
		len = NAME_LEN - 1;
	memcpy(name, node, len);
	name[len] = '\0';
	for (i = 0; i < r->nnodes; i++)
		if (!strcmp(r->nodes[i], name))
			break;
	if (i == r->nnodes && r->nnodes < MAX_NODES) {
		snprintf(r->nodes[i], NAME_LEN, "%s", name);
		r->nnodes++;
	}
	if (i < r->nnodes) {
		r->node_count[i]++;
		if (r->last_node >= 0 && r->last_node != (int)i)
			r->node_changes++;
		if (r->first_node < 0)
			r->first_node = (int)i;
		r->last_node = (int)i;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double rtt_pct_ms(const struct res *r, double p)
{
	size_t k;

	if (!r->nrtt)
		return -1;
	k = (size_t)(p / 100.0 * (double)r->nrtt + 0.999999);
	if (k < 1)
		k = 1;
	if (k > r->nrtt)
		k = r->nrtt;
	return (double)r->rtt_us[k - 1] / 1000.0;
}

static void print_res(struct res *r, uint64_t end)
{
	unsigned i;

	qsort(r->rtt_us, r->nrtt, sizeof(*r->rtt_us), cmp_u32);
	/* A silence that lasts to the end is a gap too (a path never restored). */
	if (r->last_rx && strcmp(r->mode, "echo") &&
	    (double)(end - r->last_rx) / 1e6 > r->max_gap_ms) {
		r->max_gap_ms = (double)(end - r->last_rx) / 1e6;
		r->max_gap_start = to_real(r, r->last_rx);
	}
	printf("{\"mode\":\"%s\",\"interval_us\":%llu,\"seconds\":%.3f,\"t_start\":%.6f,"
	       "\"sent\":%llu,\"received\":%llu,\"lost\":%lld,\"max_gap_ms\":%.3f,"
	       "\"max_gap_start\":%.6f,\"gaps\":[",
	       r->mode, (unsigned long long)r->interval_us, (double)(end - r->t_start) / 1e9,
	       r->real_at_start, (unsigned long long)r->sent, (unsigned long long)r->received,
	       (long long)r->sent - (long long)r->received, r->max_gap_ms, r->max_gap_start);
	for (i = 0; i < r->ngaps; i++)
		printf("%s[%.6f,%.3f]", i ? "," : "", r->gaps[i][0], r->gaps[i][1]);
	printf("],\"last_rx\":%.6f,\"rtt_p50_ms\":%.3f,\"rtt_p99_ms\":%.3f,\"nodes\":{",
	       r->last_rx ? to_real(r, r->last_rx) : 0.0, rtt_pct_ms(r, 50), rtt_pct_ms(r, 99));
	for (i = 0; i < r->nnodes; i++)
		printf("%s\"%s\":%llu", i ? "," : "", r->nodes[i],
		       (unsigned long long)r->node_count[i]);
	printf("},\"node_changes\":%u,\"first_node\":\"%s\",\"last_node\":\"%s\",\"error\":",
	       r->node_changes, r->first_node >= 0 ? r->nodes[r->first_node] : "",
	       r->last_node >= 0 ? r->nodes[r->last_node] : "");
	if (r->error[0])
		printf("\"%s\"}\n", r->error);
	else
		printf("null}\n");
}

static int parse_addr(const char *a, const char *p, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(p));
	return inet_pton(AF_INET, a, &sa->sin_addr) == 1 && sa->sin_port ? 0 : -1;
}

/* ---- echo ---- */

static int run_echo(struct res *r, const char *name, struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;
	char buf[2048];
	size_t nl = strlen(name);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0) {
		perror("failprobe echo: bind");
		return 1;
	}
	if (nl > 64)
		nl = 64;
	while (!stop) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("failprobe echo: recvfrom");
			return 1;
		}
		if (n < 16)
			continue;
		memcpy(buf + 16, name, nl);
		sendto(fd, buf, 16 + nl, MSG_DONTWAIT, (struct sockaddr *)&from, fl);
		r->sent++;
		got_response(r, mono_ns(), 0, name, nl);
	}
	print_res(r, mono_ns());
	return 0;
}

/* ---- udp client ---- */

static int run_udp(struct res *r, struct sockaddr_in *sa, double seconds)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	uint64_t every = r->interval_us * 1000, next, end;
	char buf[256];

	if (fd < 0 || connect(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0) {
		perror("failprobe udp: connect");
		return 1;
	}
	next = r->t_start;
	end = r->t_start + (uint64_t)(seconds * 1e9);
	while (!stop) {
		uint64_t now = mono_ns();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct timespec to;

		if (now >= end)
			break;
		if (now >= next) {
			uint64_t hdr[2] = { r->sent + 1, now };

			/* ECONNREFUSED (ICMP from a node without the echo) or
			 * ENOBUFS: the probe is lost, like on the wire. */
			send(fd, hdr, sizeof(hdr), 0);
			r->sent++;
			next += every;
			if (next < now)
				next = now + every;	/* we were descheduled: no burst */
			continue;
		}
		to = ns_ts(next - now);
		if (ppoll(&p, 1, &to, NULL) <= 0)
			continue;
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			uint64_t hdr[2];

			if (n < 0)
				break;
			if (n < 16)
				continue;
			memcpy(hdr, buf, sizeof(hdr));
			now = mono_ns();
			got_response(r, now, now - hdr[1], buf + 16, (size_t)n - 16);
		}
	}
	print_res(r, mono_ns());
	return 0;
}

/* ---- tcp client ---- */

/* Reads one HTTP response into buf; the body offset and length go to
 * body and blen.  0 ok, -1 error (r->error set). */
static int read_response(struct res *r, int fd, char *buf, size_t cap, uint64_t deadline,
			 size_t *body, size_t *blen)
{
	size_t got = 0;
	long clen = -1;
	char *hend = NULL;

	for (;;) {
		uint64_t now = mono_ns();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (hend) {
			size_t h = (size_t)(hend - buf) + 4;

			if (got >= h + (size_t)clen) {
				*body = h;
				*blen = (size_t)clen;
				return 0;
			}
		}
		if (now >= deadline || stop) {
			snprintf(r->error, sizeof(r->error), stop ? "stopped while waiting" :
				 "no response for 5 s");
			return -1;
		}
		if (poll(&p, 1, (int)((deadline - now) / 1000000) + 1) <= 0)
			continue;
		n = recv(fd, buf + got, cap - got - 1, 0);
		if (n == 0) {
			snprintf(r->error, sizeof(r->error), "connection closed by the peer");
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(r->error, sizeof(r->error), "recv: %s", strerror(errno));
			return -1;
		}
		got += (size_t)n;
		buf[got] = '\0';
		if (!hend && (hend = strstr(buf, "\r\n\r\n")) != NULL) {
			char *cl = strcasestr(buf, "\r\nContent-Length:");

			if (strncmp(buf, "HTTP/1.1 200", 12) || !cl || cl > hend) {
				snprintf(r->error, sizeof(r->error), "bad response");
				return -1;
			}
			clen = strtol(cl + 17, NULL, 10);
			if (clen < 0 || (size_t)clen + (size_t)(hend - buf) + 4 >= cap) {
				snprintf(r->error, sizeof(r->error), "bad response length");
				return -1;
			}
		}
		if (got + 1 >= cap) {
			snprintf(r->error, sizeof(r->error), "response too long");
			return -1;
		}
	}
}

static int run_tcp(struct res *r, struct sockaddr_in *sa, double seconds, const char *path)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	uint64_t every = r->interval_us * 1000, next, end;
	char req[256], buf[4096];
	int rl;

	if (fd < 0 || connect(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0) {
		perror("failprobe tcp: connect");
		return 1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: probe\r\n\r\n", path);
	r->t_start = mono_ns();
	r->real_at_start = real_s();
	next = r->t_start;
	end = r->t_start + (uint64_t)(seconds * 1e9);
	while (!stop) {
		uint64_t now = mono_ns(), t0;
		size_t body, blen;

		if (now >= end)
			break;
		if (now < next) {
			struct timespec ts = ns_ts(next - now);

			nanosleep(&ts, NULL);
			continue;
		}
		next += every;
		if (next < now)
			next = now + every;
		t0 = mono_ns();
		if (send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl) {
			snprintf(r->error, sizeof(r->error), "send: %s", strerror(errno));
			break;
		}
		r->sent++;
		if (read_response(r, fd, buf, sizeof(buf), t0 + 5000000000ull, &body, &blen) < 0)
			break;
		now = mono_ns();
		got_response(r, now, now - t0, buf + body, blen);
	}
	if (!strcmp(r->error, "stopped while waiting"))
		r->error[0] = '\0';	/* our own stop, not the session's end */
	print_res(r, mono_ns());
	close(fd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: failprobe echo [-n NAME] ADDR PORT\n"
			"       failprobe udp [-i INTERVAL_US] [-t SECONDS] [-g GAP_MS] ADDR PORT\n"
			"       failprobe tcp [-i INTERVAL_US] [-t SECONDS] [-g GAP_MS] [-u PATH] ADDR PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct res r;
	struct sockaddr_in sa;
	struct sigaction act;
	const char *name = "?", *path = "/node", *mode;
	double seconds = 10;
	int opt;

	if (argc < 2)
		usage();
	mode = argv[1];
	r.interval_us = 1000;
	r.gap_min_ms = 20;
	optind = 2;
	while ((opt = getopt(argc, argv, "n:i:t:g:u:")) != -1) {
		switch (opt) {
		case 'n': name = optarg; break;
		case 'i': r.interval_us = strtoull(optarg, NULL, 0); break;
		case 't': seconds = atof(optarg); break;
		case 'g': r.gap_min_ms = atof(optarg); break;
		case 'u': path = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || parse_addr(argv[optind], argv[optind + 1], &sa) < 0 ||
	    r.interval_us < 10 || seconds <= 0 || strlen(path) > 200)
		usage();
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_signal;	/* no SA_RESTART: blocking calls return EINTR */
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	r.mode = mode;
	r.first_node = r.last_node = -1;
	r.rtt_us = calloc(MAX_RTT, sizeof(*r.rtt_us));
	if (!r.rtt_us)
		return 1;
	r.t_start = mono_ns();
	r.real_at_start = real_s();
	if (!strcmp(mode, "echo"))
		return run_echo(&r, name, &sa);
	if (!strcmp(mode, "udp"))
		return run_udp(&r, &sa, seconds);
	if (!strcmp(mode, "tcp"))
		return run_tcp(&r, &sa, seconds, path);
	usage();
	return 2;
}
