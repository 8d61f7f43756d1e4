/*
 * test_tch_repair.c - libtch against the real kernel, on loopback, in a
 * private network namespace (so the flow drop attached to its lo touches
 * nothing else):
 *
 *   client C ---- lo (flowdrop, tc ingress) ---- listener L / server S
 *
 * 1. handoff with all three queues non-empty: the client's ACKs are dropped
 *    (so the server has sent-but-unacked bytes), its window is full (unsent
 *    bytes), and it sent data the server has not read (receive queue).
 *    S is frozen, encoded, decoded, closed silently (no FIN/RST reaches C),
 *    restored next to the listener, resumed: both byte streams continue
 *    exactly, options, MSS and timestamps match, and C never sees an error;
 * 2. rollback: freeze then thaw, twice; the session goes on;
 * 3. IPv6 handoff;
 * 4. the kick after resume: a client without SACK retransmits what the
 *    freeze dropped at once (fast retransmit), not at its RTO;
 * 5. refusals: a restore whose local address is not configured leaves
 *    nothing behind; freeze of a UDP socket, of a listener, of a
 *    half-closed (CLOSE_WAIT) connection fails and leaves it usable.
 *
 * Usage: test_tch_repair [path/to/flowdrop.bpf.o] (or env
 * TANDEM_FLOWDROP_OBJ; default build/flowdrop.bpf.o).  Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/sockios.h>

#include <stdarg.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "storage/tch/flowdrop.h"
#include "storage/tch/tch.h"

static uint8_t pat(uint64_t i, unsigned seed)
{
	return (uint8_t)(i * 131 + seed + (i >> 9) * 7);
}

static void fill(uint8_t *b, size_t n, uint64_t off, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = pat(off + i, seed);
}

/* First index where b differs from the stream at off, or -1. */
static long verify(const uint8_t *b, size_t n, uint64_t off, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != pat(off + i, seed))
			return (long)i;
	return -1;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	nanosleep(&ts, NULL);
}

static int ioc(int fd, unsigned long req)
{
	int v = -1;
	ioctl(fd, req, &v);
	return v;
}

static struct tcp_info tinfo(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l);
	return ti;
}

/* A connected pair through a listener on addr (port chosen by the kernel).
 * client_rcvbuf > 0 is set before connect. */
static int pair(int af, const char *addr, int client_rcvbuf, int *l_out, int *c_out, int *s_out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		inet_pton(AF_INET, addr, &a->sin_addr);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		inet_pton(AF_INET6, addr, &a->sin6_addr);
		sl = sizeof(*a);
	}
	int l = socket(af, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&ss, sl) < 0 || listen(l, 8) < 0 ||
	    getsockname(l, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	int c = socket(af, SOCK_STREAM, 0);
	if (client_rcvbuf)
		setsockopt(c, SOL_SOCKET, SO_RCVBUF, &client_rcvbuf, sizeof(client_rcvbuf));
	if (connect(c, (struct sockaddr *)&ss, sl) < 0)
		return -1;
	int s = accept(l, NULL, NULL);
	if (s < 0)
		return -1;
	*l_out = l;
	*c_out = c;
	*s_out = s;
	return 0;
}

/* The client->server 5-tuple as it appears on the wire. */
static void key_of(int c, struct lb_flow_key *k)
{
	struct sockaddr_storage a, b;
	socklen_t al = sizeof(a), bl = sizeof(b);

	getsockname(c, (struct sockaddr *)&a, &al);
	getpeername(c, (struct sockaddr *)&b, &bl);
	memset(k, 0, sizeof(*k));
	k->proto = IPPROTO_TCP;
	if (a.ss_family == AF_INET) {
		k->family = 4;
		memcpy(k->saddr, &((struct sockaddr_in *)&a)->sin_addr, 4);
		memcpy(k->daddr, &((struct sockaddr_in *)&b)->sin_addr, 4);
		k->sport = ((struct sockaddr_in *)&a)->sin_port;
		k->dport = ((struct sockaddr_in *)&b)->sin_port;
	} else {
		k->family = 6;
		memcpy(k->saddr, &((struct sockaddr_in6 *)&a)->sin6_addr, 16);
		memcpy(k->daddr, &((struct sockaddr_in6 *)&b)->sin6_addr, 16);
		k->sport = ((struct sockaddr_in6 *)&a)->sin6_port;
		k->dport = ((struct sockaddr_in6 *)&b)->sin6_port;
	}
}

/* Read exactly n bytes of stream seed starting at *off from fd (5 s max). */
static int read_stream(int fd, size_t n, uint64_t *off, unsigned seed, const char *who)
{
	uint8_t buf[65536];
	time_t end = time(NULL) + 5;

	while (n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 200) < 0)
			return -1;
		ssize_t r = recv(fd, buf, n < sizeof(buf) ? n : sizeof(buf), MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN) {
			if (time(NULL) > end) {
				printf("# %s: %zu bytes missing after 5 s\n", who, n);
				return -1;
			}
			continue;
		}
		if (r <= 0) {
			printf("# %s: recv %zd (%s)\n", who, r, r < 0 ? strerror(errno) : "EOF");
			return -1;
		}
		long bad = verify(buf, (size_t)r, *off, seed);
		if (bad >= 0) {
			printf("# %s: byte %llu differs\n", who, (unsigned long long)(*off + (uint64_t)bad));
			return -1;
		}
		*off += (uint64_t)r;
		n -= (size_t)r;
	}
	return 0;
}

/* Write n bytes of stream seed from *off, blocking (5 s max). */
static int write_stream(int fd, size_t n, uint64_t *off, unsigned seed)
{
	uint8_t buf[65536];
	time_t end = time(NULL) + 5;

	while (n) {
		size_t c = n < sizeof(buf) ? n : sizeof(buf);
		fill(buf, c, *off, seed);
		ssize_t w = send(fd, buf, c, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0 && errno == EAGAIN && time(NULL) <= end) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, 100);
			continue;
		}
		if (w <= 0)
			return -1;
		*off += (uint64_t)w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write until the socket refuses (EAGAIN); returns the bytes written. */
static size_t write_until_full(int fd, uint64_t *off, unsigned seed)
{
	uint8_t buf[16384];
	size_t total = 0;

	for (;;) {
		fill(buf, sizeof(buf), *off, seed);
		ssize_t w = send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w <= 0)
			return total;
		*off += (uint64_t)w;
		total += (size_t)w;
	}
}

/* Write n more bytes of stream seed to wfd while reading rfd, until rfd
 * has everything ever written (the buffers between them hold less than n).
 * 5 s max.  0 if every byte arrived in order. */
static int pump(int wfd, int rfd, size_t n, uint64_t *woff, uint64_t *roff, unsigned seed,
		const char *who)
{
	uint8_t buf[65536];
	uint64_t wend = *woff + n, rend = wend;
	time_t end = time(NULL) + 5;

	while (*roff < rend) {
		if (time(NULL) > end) {
			printf("# %s: %llu bytes missing after 5 s\n", who, (unsigned long long)(rend - *roff));
			return -1;
		}
		if (*woff < wend) {
			size_t c = wend - *woff < sizeof(buf) ? (size_t)(wend - *woff) : sizeof(buf);
			fill(buf, c, *woff, seed);
			ssize_t w = send(wfd, buf, c, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0)
				*woff += (uint64_t)w;
			else if (errno != EAGAIN)
				return -1;
		}
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		poll(&p, 1, 10);
		ssize_t r = recv(rfd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN)) {
			printf("# %s: recv %zd (%s)\n", who, r, r < 0 ? strerror(errno) : "EOF");
			return -1;
		}
		if (r > 0) {
			long bad = verify(buf, (size_t)r, *roff, seed);
			if (bad >= 0) {
				printf("# %s: byte %llu differs\n", who, (unsigned long long)(*roff + (uint64_t)bad));
				return -1;
			}
			*roff += (uint64_t)r;
		}
	}
	return 0;
}

static int lo_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	int rc = ioctl(s, SIOCSIFFLAGS, &ifr);
	/* The lab's and most LANs' MTU, so the MSS is an ordinary one. */
	ifr.ifr_mtu = 1500;
	if (rc == 0)
		rc = ioctl(s, SIOCSIFMTU, &ifr);
	close(s);
	return rc;
}

/* Freeze S, push the state through the wire format, close S silently,
 * restore and resume.  Returns the new fd, or -1.  *st_out gets the state
 * (caller frees). */
static int handoff(struct flowdrop *fd, const struct lb_flow_key *k, int s, struct tch_state *st_out,
		   const char *what)
{
	struct tch_state st;
	char err[256], why[160];
	size_t len;
	int n;

	CHECK(flowdrop_add(fd, k, flowdrop_now_ns() + 5000000000ull) == 0, "%s: flow drop on", what);
	if (tch_freeze(s, &st, err, sizeof(err)) < 0) {
		CHECK(0, "%s: freeze (%s)", what, err);
		return -1;
	}
	size_t cap = tch_state_encoded_len(&st);
	uint8_t *buf = malloc(cap);
	enum tch_err e = tch_state_encode(&st, buf, cap, &len, why, sizeof(why));
	tch_state_free(&st);
	if (e == TCH_OK)
		e = tch_state_decode(buf, len, st_out, why, sizeof(why));
	free(buf);
	CHECK(e == TCH_OK, "%s: state through the wire format (%zu bytes)", what, len);
	if (e != TCH_OK)
		return -1;
	CHECK(tch_close_silently(s, err, sizeof(err)) == 0, "%s: old socket closed silently", what);
	if (tch_restore(st_out, &n, err, sizeof(err)) < 0) {
		CHECK(0, "%s: restore (%s)", what, err);
		return -1;
	}
	CHECK(1, "%s: restored next to the listener", what);
	/* Here the switch would be re-pointed.  This host was also "the old
	 * node", whose drop must go before the new socket can hear the client. */
	CHECK(flowdrop_del(fd, k) == 0, "%s: flow drop off", what);
	struct tch_raw raw;
	tch_raw_init(&raw);
	int rc = tch_resume(n, st_out, &raw, NULL, err, sizeof(err));
	tch_raw_close(&raw);
	if (rc < 0) {
		CHECK(0, "%s: resume (%s)", what, err);
		close(n);
		return -1;
	}
	/* Right away, before traffic could resynchronise anything. */
	struct tcp_info ti = tinfo(n);
	printf("# %s: new socket rto %u us, srtt %u us\n", what, ti.tcpi_rto, ti.tcpi_rtt);
	CHECK(ti.tcpi_snd_mss + 12 >= (unsigned)st_out->mss - 12 && ti.tcpi_snd_mss <= st_out->mss,
	      "%s: the restored socket sends full segments at once (mss %u, peer's clamp %u)", what,
	      ti.tcpi_snd_mss, st_out->mss);
	return n;
}

static void test_queues(struct flowdrop *fd)
{
	int l, c, s, n;
	uint64_t c2s_w = 0, c2s_r = 0, s2c_w = 0, s2c_r = 0;
	struct lb_flow_key k;
	struct tch_state st;

	if (pair(AF_INET, "127.0.0.1", 16384, &l, &c, &s) < 0) {
		CHECK(0, "queues: connected pair (%s)", strerror(errno));
		return;
	}
	key_of(c, &k);
	/* Unread data in S's receive queue. */
	write_stream(c, 3000, &c2s_w, 1);
	for (int i = 0; i < 100 && ioc(s, SIOCINQ) < 3000; i++)
		sleep_ms(10);
	/* Some data C reads, then the drop: C's ACKs vanish, so what S sends
	 * next stays unacknowledged, and C's window fills (unsent). */
	write_stream(s, 5000, &s2c_w, 2);
	read_stream(c, 5000, &s2c_r, 2, "client before the drop");
	struct tcp_info before = tinfo(s);
	flowdrop_add(fd, &k, flowdrop_now_ns() + 5000000000ull);
	size_t w = write_until_full(s, &s2c_w, 2);
	sleep_ms(50);
	int outq = ioc(s, SIOCOUTQ), nsd = ioc(s, SIOCOUTQNSD), inq = ioc(s, SIOCINQ);
	printf("# server wrote %zu more; SIOCOUTQ %d, SIOCOUTQNSD %d, SIOCINQ %d\n", w, outq, nsd, inq);

	n = handoff(fd, &k, s, &st, "queues");
	if (n < 0)
		goto out;
	CHECK(st.recv_len == 3000, "queues: receive queue dumped (%zu bytes)", st.recv_len);
	CHECK(st.mss == 1460, "queues: the client's MSS clamp dumped (%u)", st.mss);
	CHECK(st.unacked_len > 0, "queues: sent-but-unacked bytes dumped (%zu)", st.unacked_len);
	CHECK(st.unsent_len > 0, "queues: unsent bytes dumped (%zu)", st.unsent_len);
	CHECK(st.unacked_len + st.unsent_len == (size_t)outq, "queues: send queue = SIOCOUTQ before freeze");
	CHECK((st.opts & (TCH_OPT_SACK | TCH_OPT_TS | TCH_OPT_WSCALE)) == TCH_OPT_ALL,
	      "queues: SACK, timestamps, window scaling recorded (opts 0x%x, wscale %u/%u)",
	      st.opts, st.snd_wscale, st.rcv_wscale);
	CHECK(verify(st.recvq, st.recv_len, 0, 1) < 0, "queues: receive queue bytes are the client's");
	CHECK(verify(st.sendq, st.unacked_len + st.unsent_len, s2c_w - st.unacked_len - st.unsent_len, 2) < 0,
	      "queues: send queue bytes are the tail of the server's stream");
	struct tcp_info ci = tinfo(c);
	CHECK(ci.tcpi_state == TCP_ESTABLISHED, "queues: client still ESTABLISHED after the silent close");

	/* Both streams continue exactly. */
	CHECK(read_stream(c, (size_t)(s2c_w - s2c_r), &s2c_r, 2, "client") == 0,
	      "queues: client reads the rest of the server's stream (%llu bytes total)",
	      (unsigned long long)s2c_w);
	CHECK(read_stream(n, 3000, &c2s_r, 1, "server") == 0, "queues: new server reads the 3000 queued bytes");
	CHECK(pump(c, n, 2000000, &c2s_w, &c2s_r, 1, "server") == 0,
	      "queues: 2 MB more client -> new server");
	CHECK(pump(n, c, 2000000, &s2c_w, &s2c_r, 2, "client") == 0,
	      "queues: 2 MB more new server -> client");
	int sb = 0, rb = 0;
	socklen_t il = sizeof(int);
	getsockopt(n, SOL_SOCKET, SO_SNDBUF, &sb, &il);
	getsockopt(n, SOL_SOCKET, SO_RCVBUF, &rb, &il);
	printf("# old socket: SO_SNDBUF %u SO_RCVBUF %u; new: %d %d\n", st.sndbuf, st.rcvbuf, sb, rb);
	struct tcp_info ni = tinfo(n);
	ci = tinfo(c);
	CHECK(ni.tcpi_state == TCP_ESTABLISHED && ci.tcpi_state == TCP_ESTABLISHED,
	      "queues: both ends ESTABLISHED");
	CHECK(ni.tcpi_snd_mss == before.tcpi_snd_mss, "queues: MSS restored (%u, was %u)",
	      ni.tcpi_snd_mss, before.tcpi_snd_mss);
	CHECK(ni.tcpi_options == before.tcpi_options && ni.tcpi_snd_wscale == before.tcpi_snd_wscale &&
	      ni.tcpi_rcv_wscale == before.tcpi_rcv_wscale, "queues: TCP_INFO options and window scales match");
	CHECK(ni.tcpi_total_retrans < 10, "queues: %u retransmissions on the new socket", ni.tcpi_total_retrans);
	struct flowdrop_val v;
	CHECK(flowdrop_get(fd, &k, &v) < 0 && errno == ENOENT, "queues: drop entry gone");
	/* A restarted service must be able to listen again while the restored
	 * connection lives (as with accepted connections of a SO_REUSEADDR
	 * listener). */
	{
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int one = 1, l2 = socket(AF_INET, SOCK_STREAM, 0);
		getsockname(l, (struct sockaddr *)&ss, &sl);
		close(l);
		setsockopt(l2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		CHECK(bind(l2, (struct sockaddr *)&ss, sl) == 0 && listen(l2, 1) == 0,
		      "queues: a new listener binds the service port next to the restored connection (%s)",
		      strerror(errno));
		l = l2;
	}
	close(n);
	tch_state_free(&st);
out:
	close(c);
	close(l);
}

/* Megabytes in both queues: a server that stopped reading with a large
 * (locked) receive buffer, a client that stopped reading. */
static void test_large(struct flowdrop *fd)
{
	int l, c, s, n, big = 4 << 20;
	uint64_t c2s_w = 0, c2s_r = 0, s2c_w = 0, s2c_r = 0;
	struct lb_flow_key k;
	struct tch_state st;

	if (pair(AF_INET, "127.0.0.1", 0, &l, &c, &s) < 0) {
		CHECK(0, "large: connected pair");
		return;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	key_of(c, &k);
	write_until_full(c, &c2s_w, 8);
	sleep_ms(50);
	write_until_full(c, &c2s_w, 8);
	write_until_full(s, &s2c_w, 9);
	sleep_ms(50);
	write_until_full(s, &s2c_w, 9);
	n = handoff(fd, &k, s, &st, "large");
	if (n >= 0) {
		CHECK(st.recv_len > (1u << 20) && st.unacked_len + st.unsent_len > (256u << 10),
		      "large: receive queue %zu, send queue %zu + %zu bytes", st.recv_len, st.unacked_len,
		      st.unsent_len);
		CHECK(pump(c, n, 1 << 20, &c2s_w, &c2s_r, 8, "server") == 0 && c2s_r == c2s_w,
		      "large: server reads all %llu bytes of the client", (unsigned long long)c2s_r);
		CHECK(pump(n, c, 1 << 20, &s2c_w, &s2c_r, 9, "client") == 0 && s2c_r == s2c_w,
		      "large: client reads all %llu bytes of the server", (unsigned long long)s2c_r);
		close(n);
		tch_state_free(&st);
	}
	close(c);
	close(l);
}

/* A frozen socket sends nothing: a paced server (in repair mode its pacing
 * timer would send unsent bytes unless the send queue is selected, and its
 * retransmission timer would resend what it marked sent, unless the flow
 * drop silences its output) is frozen with unsent bytes; 400 ms later the
 * client has received nothing more.  Then the rollback (thaw) delivers the
 * rest in order. */
static void test_silent_freeze(struct flowdrop *fd)
{
	int l, c, s;
	unsigned rate = 40000;	/* bytes/s */
	uint64_t s2c_w = 0, s2c_r = 0;
	struct lb_flow_key k;
	struct tch_state st;
	char err[256];

	if (pair(AF_INET, "127.0.0.1", 0, &l, &c, &s) < 0) {
		CHECK(0, "silent freeze: connected pair");
		return;
	}
	key_of(c, &k);
	setsockopt(s, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof(rate));
	write_stream(s, 60000, &s2c_w, 11);
	sleep_ms(100);
	flowdrop_add(fd, &k, flowdrop_now_ns() + 5000000000ull);
	if (tch_freeze(s, &st, err, sizeof(err)) < 0) {
		CHECK(0, "silent freeze: freeze (%s)", err);
		goto out;
	}
	int got0 = ioc(c, SIOCINQ);
	CHECK(st.unsent_len > 20000, "silent freeze: paced server frozen with %zu unsent bytes", st.unsent_len);
	sleep_ms(400);	/* pacing timer, and its RTO (200 ms here), both want to send */
	int got = ioc(c, SIOCINQ);
	CHECK(got == got0 && got <= (int)(60000 - st.unsent_len),
	      "silent freeze: 400 ms frozen, the client got nothing new (%d bytes, %zu sent before the dump)",
	      got, 60000 - st.unsent_len);
	tch_state_free(&st);
	CHECK(flowdrop_del(fd, &k) == 0 && tch_thaw(s, err, sizeof(err)) == 0, "silent freeze: thawed");
	rate = ~0u;
	setsockopt(s, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof(rate));
	CHECK(read_stream(c, 60000, &s2c_r, 11, "client") == 0,
	      "silent freeze: after the thaw the client gets all 60000 bytes in order");
out:
	close(s);
	close(c);
	close(l);
}

/* Out-of-order data at the freeze: a hole in the client's stream (one
 * segment dropped), the next segment held out of order by the server.
 * That data is not carried; the dump must still be restorable (the segment
 * moved snd_wl1 beyond rcv_nxt: TCP_REPAIR_WINDOW would refuse it) and the
 * client's stream must complete on the new socket.  The server's ACKs are
 * held back meanwhile (on lo the client would otherwise resend the hole at
 * once): this needs the ingress-only flow drop, where an entry keyed
 * server -> client drops just that direction. */
static void test_out_of_order(struct flowdrop *fd)
{
	int l, c, s, n;
	uint64_t c2s_w = 0, c2s_r = 0, s2c_w = 0, s2c_r = 0;
	struct lb_flow_key k, rev;
	struct tch_state st;
	char err[256];
	int one = 1;

	if (pair(AF_INET, "127.0.0.1", 0, &l, &c, &s) < 0) {
		CHECK(0, "out of order: connected pair");
		return;
	}
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	key_of(c, &k);
	key_of(s, &rev);	/* server -> client */
	write_stream(c, 1000, &c2s_w, 12);
	sleep_ms(20);
	uint64_t until = flowdrop_now_ns() + 5000000000ull;
	flowdrop_add(fd, &rev, until);
	flowdrop_add(fd, &k, until);
	write_stream(c, 1000, &c2s_w, 12);	/* dropped: the hole */
	flowdrop_del(fd, &k);
	write_stream(c, 1000, &c2s_w, 12);	/* arrives out of order, its SACK is dropped */
	sleep_ms(1);
	flowdrop_add(fd, &k, until);
	if (tch_freeze(s, &st, err, sizeof(err)) < 0) {
		CHECK(0, "out of order: freeze (%s)", err);
		goto out;
	}
	CHECK(st.recv_len == 1000, "out of order: only the in-order 1000 bytes dumped (%zu)", st.recv_len);
	CHECK(st.snd_wl1 == st.rcv_seq - 1, "out of order: snd_wl1 no later than rcv_nxt - 1");
	CHECK(tch_close_silently(s, err, sizeof(err)) == 0, "out of order: closed silently");
	if (tch_restore(&st, &n, err, sizeof(err)) < 0) {
		CHECK(0, "out of order: restore (%s)", err);
		tch_state_free(&st);
		goto out;
	}
	CHECK(1, "out of order: restored");
	flowdrop_del(fd, &k);
	flowdrop_del(fd, &rev);
	struct tch_raw raw;
	tch_raw_init(&raw);
	CHECK(tch_resume(n, &st, &raw, NULL, err, sizeof(err)) == 0, "out of order: resumed");
	tch_raw_close(&raw);
	CHECK(read_stream(n, 3000, &c2s_r, 12, "server") == 0,
	      "out of order: the new socket gets all 3000 bytes (the client resends the rest)");
	CHECK(pump(c, n, 100000, &c2s_w, &c2s_r, 12, "server") == 0 &&
	      pump(n, c, 100000, &s2c_w, &s2c_r, 13, "client") == 0, "out of order: session goes on");
	close(n);
	tch_state_free(&st);
out:
	close(c);
	close(l);
}

static int set_sack(int on)
{
	int f = open("/proc/sys/net/ipv4/tcp_sack", O_WRONLY);
	int ok = f >= 0 && write(f, on ? "1" : "0", 1) == 1;

	if (f >= 0)
		close(f);
	return ok ? 0 : -1;
}

/* TcpExt's TCPTimeouts (retransmission timeouts) of this namespace, or -1. */
/* Counter name of section sect ("TcpExt:", "Tcp:") in file (/proc/net/
 * netstat or snmp: a names line, then a values line), this namespace. */
static long net_counter(const char *file, const char *sect, const char *name)
{
	char names[8192], vals[8192];
	long v = -1;
	FILE *f = fopen(file, "r");

	if (!f)
		return -1;
	while (fgets(names, sizeof(names), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(names, sect, strlen(sect)))
			continue;
		char *sn, *sv, *n = strtok_r(names, " \n", &sn), *x = strtok_r(vals, " \n", &sv);
		while ((n = strtok_r(NULL, " \n", &sn)) && (x = strtok_r(NULL, " \n", &sv)))
			if (!strcmp(n, name))
				v = atol(x);
	}
	fclose(f);
	return v;
}

static long tcp_timeouts(void)
{
	return net_counter("/proc/net/netstat", "TcpExt:", "TCPTimeouts");
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The kick (tch_kick, from tch_resume): a client without SACK whose
 * segments the freeze dropped retransmits them at once - the kick's three
 * duplicate ACKs are its fast retransmit - instead of at its retransmission
 * timeout (>= 200 ms; without SACK it has no loss probe either).  8
 * segments in flight: the kernel counts duplicate ACKs only up to the
 * segments outstanding minus the hole.
 */
static void test_kick(struct flowdrop *fd)
{
	int l, c, s, n, one = 1;
	uint64_t c2s_w = 0, c2s_r = 0, t0;
	struct lb_flow_key k;
	struct tch_state st;
	char err[256];

	if (set_sack(0) < 0 || pair(AF_INET, "127.0.0.1", 0, &l, &c, &s) < 0) {
		CHECK(0, "kick: connected pair without SACK");
		set_sack(1);
		return;
	}
	set_sack(1);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	key_of(c, &k);
	CHECK(pump(c, s, 100000, &c2s_w, &c2s_r, 21, "server") == 0, "kick: stream before");
	sleep_ms(20);
	long rtos = tcp_timeouts();
	flowdrop_add(fd, &k, flowdrop_now_ns() + 5000000000ull);
	for (int i = 0; i < 8; i++)
		write_stream(c, 1000, &c2s_w, 21);	/* dropped: 8 segments in flight */
	if (tch_freeze(s, &st, err, sizeof(err)) < 0) {
		CHECK(0, "kick: freeze (%s)", err);
		goto out;
	}
	CHECK(!(st.opts & TCH_OPT_SACK), "kick: the connection has no SACK");
	CHECK(tch_close_silently(s, err, sizeof(err)) == 0, "kick: closed silently");
	if (tch_restore(&st, &n, err, sizeof(err)) < 0) {
		CHECK(0, "kick: restore (%s)", err);
		tch_state_free(&st);
		goto out;
	}
	flowdrop_del(fd, &k);
	t0 = mono_ms();
	struct tch_raw raw;
	tch_raw_init(&raw);
	CHECK(tch_resume(n, &st, &raw, NULL, err, sizeof(err)) == 0, "kick: resumed");
	tch_raw_close(&raw);
	CHECK(read_stream(n, 8000, &c2s_r, 21, "server") == 0, "kick: the 8000 dropped bytes arrive");
	uint64_t ms = mono_ms() - t0;
	CHECK(ms < 150, "kick: ... %llu ms after the resume, before the client's RTO (>= 200 ms)",
	      (unsigned long long)ms);
	CHECK(tcp_timeouts() == rtos, "kick: no retransmission timeout (%ld before, %ld after)", rtos,
	      tcp_timeouts());
	CHECK(pump(c, n, 100000, &c2s_w, &c2s_r, 21, "server") == 0, "kick: session goes on");
	close(n);
	tch_state_free(&st);
out:
	close(c);
	close(l);
}

/*
 * Holding (flowdrop_hold, tch_replay): what the client sends while its
 * session is frozen is kept by the flow drop and replayed to the restored
 * socket once it is live, so nothing is left to the client's timers (SACK
 * on, as every client has it).  With hold_max too small for the 8 segments
 * the rest overflows (counted) and the client's own recovery delivers it:
 * the overflow path, byte-exact too.
 */
static void test_hold(struct flowdrop *fd, uint32_t hold_max, const char *what)
{
	int l, c, s, n = -1, one = 1, npk = 0;
	uint64_t c2s_w = 0, c2s_r = 0, t0, ms, held0, of0, ev0, held1, of1, ev1;
	struct flowdrop_pkt *list = NULL;
	struct flowdrop_val v, v2;
	struct lb_flow_key k;
	struct tch_state st;
	struct tch_raw raw;
	char err[256];
	size_t bytes = 0;

	tch_raw_init(&raw);
	if (pair(AF_INET, "127.0.0.1", 0, &l, &c, &s) < 0) {
		CHECK(0, "%s: connected pair", what);
		return;
	}
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	key_of(c, &k);
	CHECK(pump(c, s, 100000, &c2s_w, &c2s_r, 31, "server") == 0, "%s: stream before", what);
	sleep_ms(20);
	long rtos = tcp_timeouts(), rx = net_counter("/proc/net/snmp", "Tcp:", "RetransSegs");
	long tlp = net_counter("/proc/net/netstat", "TcpExt:", "TCPLossProbes");
	flowdrop_hold_counters(fd, &held0, &of0, &ev0);
	flowdrop_hold(fd, &k, flowdrop_now_ns() + 5000000000ull, hold_max);
	for (int i = 0; i < 8; i++)
		write_stream(c, 1000, &c2s_w, 31);	/* held, not delivered */
	if (tch_freeze(s, &st, err, sizeof(err)) < 0) {
		CHECK(0, "%s: freeze (%s)", what, err);
		goto out;
	}
	CHECK(st.recv_len == 0, "%s: nothing the client sent meanwhile reached the socket", what);
	CHECK(tch_close_silently(s, err, sizeof(err)) == 0, "%s: closed silently", what);
	if (tch_restore(&st, &n, err, sizeof(err)) < 0) {
		CHECK(0, "%s: restore (%s)", what, err);
		tch_state_free(&st);
		goto out;
	}
	/* as the old node: what it held goes to the new one (here: the same
	 * flow drop, so it holds on, as the new node's own drop) */
	npk = flowdrop_take(fd, &k, &list);
	for (struct flowdrop_pkt *p = list; p; p = p->next)
		bytes += p->len;
	flowdrop_get(fd, &k, &v);
	struct tch_held held = { .drop = fd, .key = k, .from_old = list };
	t0 = mono_ms();
	CHECK(tch_resume(n, &st, &raw, &held, err, sizeof(err)) == 0, "%s: resumed", what);
	CHECK(flowdrop_get(fd, &k, &v2) < 0 && errno == ENOENT, "%s: tch_resume ended the drop", what);
	CHECK(raw.replayed == (uint64_t)npk && raw.replay_failed == 0,
	      "%s: the %d held packets replayed (%llu, %llu failed)", what, npk,
	      (unsigned long long)raw.replayed, (unsigned long long)raw.replay_failed);
	flowdrop_pkts_free(list);
	CHECK(read_stream(n, 8000, &c2s_r, 31, "server") == 0, "%s: the 8000 bytes sent while frozen arrive",
	      what);
	ms = mono_ms() - t0;
	flowdrop_hold_counters(fd, &held1, &of1, &ev1);
	printf("# %s: %d packets (%zu bytes) held, %llu overflowed; %llu ms to the last byte; client "
	       "RetransSegs +%ld, TCPLossProbes +%ld, TCPTimeouts +%ld\n", what, npk, bytes,
	       (unsigned long long)(of1 - of0), (unsigned long long)ms,
	       net_counter("/proc/net/snmp", "Tcp:", "RetransSegs") - rx,
	       net_counter("/proc/net/netstat", "TcpExt:", "TCPLossProbes") - tlp, tcp_timeouts() - rtos);
	if (hold_max >= 64 * 1024) {
		CHECK(npk >= 8 && bytes >= 8000 && of1 == of0 && v.overflow == 0,
		      "%s: all 8 segments held (%d packets, %zu bytes), no overflow", what, npk, bytes);
		CHECK(held1 - held0 == (uint64_t)npk, "%s: the held counter says %llu", what,
		      (unsigned long long)(held1 - held0));
		CHECK(ms < 150, "%s: ... %llu ms after the resume: replayed, no timer waited for", what,
		      (unsigned long long)ms);
		CHECK(tcp_timeouts() == rtos, "%s: no retransmission timeout", what);
	} else {
		CHECK(bytes <= hold_max && v.held <= hold_max && npk >= 1,
		      "%s: held %zu bytes, within hold_max %u", what, bytes, hold_max);
		CHECK(of1 > of0 && v.overflow == of1 - of0,
		      "%s: the rest overflowed, counted (%llu packets)", what, (unsigned long long)(of1 - of0));
	}
	CHECK(pump(c, n, 100000, &c2s_w, &c2s_r, 31, "server") == 0, "%s: session goes on, byte-exact", what);
	tch_state_free(&st);
out:
	if (n >= 0)
		close(n);
	tch_raw_close(&raw);
	close(c);
	close(l);
}

/* CAP_NET_RAW in or out of this thread's effective set (it stays
 * permitted, so it can come back).  0, or -1 with errno. */
static int net_raw_effective(int on)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	if (on)
		d[CAP_NET_RAW / 32].effective |= 1u << (CAP_NET_RAW % 32);
	else
		d[CAP_NET_RAW / 32].effective &= ~(1u << (CAP_NET_RAW % 32));
	return (int)syscall(SYS_capset, &h, d);
}

/* Without CAP_NET_RAW the kick cannot be sent: tch_resume still resumes,
 * says so (1 and why: a caller counts it), and the session goes on. */
static void test_no_kick(struct flowdrop *fd)
{
	int l, c, s, n, rc;
	uint64_t c2s_w = 0, c2s_r = 0, s2c_w = 0, s2c_r = 0;
	struct lb_flow_key k;
	struct tch_state st;
	char err[256] = "";

	if (pair(AF_INET, "127.0.0.1", 0, &l, &c, &s) < 0) {
		CHECK(0, "no kick: connected pair");
		return;
	}
	key_of(c, &k);
	CHECK(pump(c, s, 100000, &c2s_w, &c2s_r, 31, "server") == 0, "no kick: stream before");
	flowdrop_add(fd, &k, flowdrop_now_ns() + 5000000000ull);
	if (tch_freeze(s, &st, err, sizeof(err)) < 0) {
		CHECK(0, "no kick: freeze (%s)", err);
		goto out;
	}
	CHECK(tch_close_silently(s, err, sizeof(err)) == 0, "no kick: closed silently");
	if (tch_restore(&st, &n, err, sizeof(err)) < 0) {
		CHECK(0, "no kick: restore (%s)", err);
		tch_state_free(&st);
		goto out;
	}
	flowdrop_del(fd, &k);
	CHECK(net_raw_effective(0) == 0, "no kick: CAP_NET_RAW dropped from the effective set");
	struct tch_raw raw;
	tch_raw_init(&raw);	/* opened on first use: after CAP_NET_RAW is gone */
	rc = tch_resume(n, &st, &raw, NULL, err, sizeof(err));
	tch_raw_close(&raw);
	CHECK(net_raw_effective(1) == 0, "no kick: CAP_NET_RAW back");
	CHECK(rc == 1 && strstr(err, "raw socket"), "no kick: resumed, reported as not kicked (%d: %s)",
	      rc, err);
	CHECK(pump(c, n, 100000, &c2s_w, &c2s_r, 31, "server") == 0, "no kick: client -> server goes on");
	CHECK(pump(n, c, 100000, &s2c_w, &s2c_r, 32, "client") == 0, "no kick: server -> client goes on");
	close(n);
	tch_state_free(&st);
out:
	close(c);
	close(l);
}

static void test_rollback(struct flowdrop *fd)
{
	int l, c, s;
	uint64_t c2s_w = 0, c2s_r = 0, s2c_w = 0, s2c_r = 0;
	struct lb_flow_key k;
	struct tch_state st;
	char err[256];

	if (pair(AF_INET, "127.0.0.1", 0, &l, &c, &s) < 0) {
		CHECK(0, "rollback: connected pair");
		return;
	}
	key_of(c, &k);
	for (int round = 1; round <= 2; round++) {
		write_stream(c, 1000, &c2s_w, 3);
		sleep_ms(20);
		flowdrop_add(fd, &k, flowdrop_now_ns() + 5000000000ull);
		CHECK(tch_freeze(s, &st, err, sizeof(err)) == 0 && st.recv_len == 1000,
		      "rollback %d: frozen with 1000 unread bytes", round);
		/* Data sent now is dropped: the client retransmits it later. */
		write_stream(c, 777, &c2s_w, 3);
		tch_state_free(&st);
		CHECK(flowdrop_del(fd, &k) == 0 && tch_thaw(s, err, sizeof(err)) == 0,
		      "rollback %d: drop off, thawed", round);
		CHECK(read_stream(s, 1777, &c2s_r, 3, "server") == 0,
		      "rollback %d: server reads everything, including what was dropped", round);
		CHECK(pump(s, c, 1000000, &s2c_w, &s2c_r, 4, "client") == 0,
		      "rollback %d: server -> client continues", round);
	}
	close(s);
	close(c);
	close(l);
}

static void test_ipv6(struct flowdrop *fd)
{
	int l, c, s, n;
	uint64_t c2s_w = 0, c2s_r = 0, s2c_w = 0, s2c_r = 0;
	struct lb_flow_key k;
	struct tch_state st;

	if (pair(AF_INET6, "::1", 0, &l, &c, &s) < 0) {
		CHECK(0, "ipv6: connected pair (%s)", strerror(errno));
		return;
	}
	key_of(c, &k);
	write_stream(c, 500, &c2s_w, 5);
	write_stream(s, 700, &s2c_w, 6);
	sleep_ms(20);
	n = handoff(fd, &k, s, &st, "ipv6");
	if (n >= 0) {
		CHECK(st.family == 6 && st.recv_len == 500, "ipv6: family 6, 500 unread bytes");
		CHECK(read_stream(c, 700, &s2c_r, 6, "client") == 0 && read_stream(n, 500, &c2s_r, 5, "server") == 0,
		      "ipv6: queued bytes delivered both ways");
		CHECK(pump(n, c, 1000000, &s2c_w, &s2c_r, 6, "client") == 0 &&
		      pump(c, n, 1000000, &c2s_w, &c2s_r, 5, "server") == 0,
		      "ipv6: session continues both ways");
		close(n);
		tch_state_free(&st);
	}
	close(c);
	close(l);
}

static void test_refusals(void)
{
	struct tch_state st;
	char err[256] = "";
	int l, c, s, n = 123;

	/* A restore whose VIP is not here. */
	if (pair(AF_INET, "127.0.0.1", 0, &l, &c, &s) < 0) {
		CHECK(0, "refusals: connected pair");
		return;
	}
	memset(&st, 0, sizeof(st));
	st.family = 4;
	inet_pton(AF_INET, "192.0.2.1", st.local_addr);
	inet_pton(AF_INET, "127.0.0.1", st.remote_addr);
	st.local_port = 80;
	st.remote_port = 40000;
	st.mss = 1460;
	st.snd_wnd = st.max_window = st.rcv_wnd = 65535;
	errno = 0;
	CHECK(tch_restore(&st, &n, err, sizeof(err)) < 0 && errno == EADDRNOTAVAIL && n == -1 &&
	      strstr(err, "bind"), "restore without the VIP fails at bind: %s", err);
	st.mss = 0;
	CHECK(tch_restore(&st, &n, err, sizeof(err)) < 0 && errno == EINVAL, "restore of an invalid state: %s", err);

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(tch_freeze(u, &st, err, sizeof(err)) < 0 && errno == EINVAL, "freeze of UDP refused: %s", err);
	close(u);
	CHECK(tch_freeze(l, &st, err, sizeof(err)) < 0, "freeze of a listener refused: %s", err);

	shutdown(c, SHUT_WR);
	sleep_ms(20);
	CHECK(tch_freeze(s, &st, err, sizeof(err)) < 0, "freeze of a CLOSE_WAIT connection refused: %s", err);
	uint64_t off = 0, roff = 0;
	CHECK(write_stream(s, 1000, &off, 7) == 0 && read_stream(c, 1000, &roff, 7, "client") == 0,
	      "the refused socket still works");
	close(s);
	close(c);
	close(l);
}

/* libbpf's messages, minus the kernel's notice that clsact already exists
 * (flowdrop_open handles that). */
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[512];

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return strstr(msg, "Exclusivity flag on") ? 0 : fputs(msg, stderr);
}

int main(int argc, char **argv)
{
	const char *obj = argc > 1 ? argv[1] : getenv("TANDEM_FLOWDROP_OBJ");
	struct flowdrop fd;
	char err[256];

	if (!obj)
		obj = "build/flowdrop.bpf.o";
	libbpf_set_print(libbpf_quiet);
	if (geteuid() != 0) {
		printf("# needs root (TCP_REPAIR, network namespaces, BPF)\n");
		CHECK(0, "running as root");
		return check_done();
	}
	if (unshare(CLONE_NEWNET) < 0 || lo_up() < 0) {
		CHECK(0, "private network namespace with lo up (%s)", strerror(errno));
		return check_done();
	}
	/* On lo both hooks see every packet: to drop one direction only (the
	 * client's ACKs: sent-but-unacked bytes; the server's ACKs: out-of-order
	 * data kept), the first tests drop on ingress only. */
	if (flowdrop_open(&fd, "lo", "", obj, NULL, 0, err, sizeof(err)) < 0) {
		CHECK(0, "flow drop on lo ingress (%s)", err);
		return check_done();
	}
	test_queues(&fd);
	test_out_of_order(&fd);
	test_kick(&fd);
	test_no_kick(&fd);
	test_hold(&fd, 256 * 1024, "hold");
	test_hold(&fd, 2500, "hold overflow");
	flowdrop_close(&fd);
	if (flowdrop_open(&fd, "lo", NULL, obj, NULL, 0, err, sizeof(err)) < 0) {
		CHECK(0, "flow drop on lo (%s)", err);
		return check_done();
	}
	test_large(&fd);
	test_silent_freeze(&fd);
	test_rollback(&fd);
	test_ipv6(&fd);
	test_refusals();
	uint64_t dropped, dropped_out, expired;
	CHECK(flowdrop_counters(&fd, &dropped, &dropped_out, &expired) == 0 && dropped > 0 && dropped_out > 0,
	      "flow drop counted %llu packets in, %llu out", (unsigned long long)dropped,
	      (unsigned long long)dropped_out);
	flowdrop_close(&fd);
	return check_done();
}
