/*
 * tch.c - libtch: TCP_REPAIR freeze/dump on the old node, restore/resume
 * on the new one (contracts in tch.h, the why of the order in doc/tch.md).
 *
 * Kernel facts this file leans on (net/ipv4/tcp.c, measured on 6.18):
 * - TCP_REPAIR=1 also sets sk_reuse = SK_FORCE_REUSE: the repaired socket
 *   may bind VIP:port although the service listens there.  SO_REUSEADDR
 *   afterwards would overwrite it (bind then fails with EADDRINUSE).
 * - In repair mode, TCP_QUEUE_SEQ reads write_seq (send queue) or rcv_nxt
 *   (receive queue); setting it (only before connect) sets the queue's start.
 * - recv(MSG_PEEK) in repair mode peeks the selected queue.  The send-queue
 *   peek copies whole skbs, so it may start before snd_una when the oldest
 *   skb is partly acknowledged: we keep the last SIOCOUTQ bytes.
 * - send() in repair mode appends to the selected queue without touching the
 *   network: the receive queue as if received, the send queue as if sent
 *   (retransmitted later if the peer does not acknowledge it).
 * - connect() in repair mode completes at once (no SYN); TCP_REPAIR_OPTIONS
 *   and TCP_REPAIR_WINDOW need the connected state; the window is checked
 *   against rcv_nxt, which refilling the receive queue advances.
 * - close() in repair mode is a silent disconnect: no FIN, no RST, even with
 *   unread data.
 * - TCP_REPAIR=0 sets sk_reuse to "no reuse" (whatever it was before).
 * - A socket in repair mode transmits new data (pacing/TSQ timers, ACKs)
 *   unless TCP_REPAIR_QUEUE selects the send queue; retransmissions,
 *   delayed ACKs and probes regardless (the flow drop's egress half
 *   silences those, flowdrop.bpf.c).
 * - A connected socket without an RTT sample (every repaired one) starts
 *   with the 3 s fallback RTO (tcp_init_metrics), unless tcp_metrics holds
 *   an RTT for the peer.
 */
#include "tch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/netio.h"

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

static int get_int(int fd, int level, int opt, int *val)
{
	socklen_t len = sizeof(*val);

	return getsockopt(fd, level, opt, val, &len);
}

static int select_queue(int fd, int q)
{
	return set_int(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, q);
}

static int queue_seq(int fd, int q, uint32_t *seq)
{
	int v;

	if (select_queue(fd, q) < 0 || get_int(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &v) < 0)
		return -1;
	*seq = (uint32_t)v;
	return 0;
}

/* Sequence numbers and queue sizes: the part of the state that incoming
 * packets change; two equal reads around the dump prove it is consistent. */
struct snap {
	uint32_t write_seq, rcv_nxt;
	int outq, outq_nsd, inq;
};

static int take_snap(int fd, struct snap *s, char *err, size_t errlen)
{
	if (ioctl(fd, SIOCOUTQ, &s->outq) < 0)
		return err_errno(err, errlen, "freeze: SIOCOUTQ");
	if (ioctl(fd, SIOCOUTQNSD, &s->outq_nsd) < 0)
		return err_errno(err, errlen, "freeze: SIOCOUTQNSD");
	if (ioctl(fd, SIOCINQ, &s->inq) < 0)
		return err_errno(err, errlen, "freeze: SIOCINQ");
	/* The send queue last: it must stay selected (see tch_freeze). */
	if (queue_seq(fd, TCP_RECV_QUEUE, &s->rcv_nxt) < 0)
		return err_errno(err, errlen, "freeze: TCP_QUEUE_SEQ of the receive queue");
	if (queue_seq(fd, TCP_SEND_QUEUE, &s->write_seq) < 0)
		return err_errno(err, errlen, "freeze: TCP_QUEUE_SEQ of the send queue");
	if (s->outq < 0 || s->outq_nsd < 0 || s->inq < 0 || s->outq_nsd > s->outq) {
		errno = EPROTO;
		return err_errno(err, errlen, "freeze: queue sizes out %d, not sent %d, in %d",
			    s->outq, s->outq_nsd, s->inq);
	}
	if ((unsigned)s->outq > TCH_QUEUE_MAX || (unsigned)s->inq > TCH_QUEUE_MAX) {
		errno = EMSGSIZE;
		return err_errno(err, errlen, "freeze: queues of %d (send) and %d (receive) bytes, limit %u",
			    s->outq, s->inq, TCH_QUEUE_MAX);
	}
	return 0;
}

/* Peek the whole send queue: its last s->outq bytes are [snd_una, write_seq). */
static int peek_sendq(int fd, const struct snap *s, uint8_t **out, char *err, size_t errlen)
{
	size_t slack = 256u << 10;
	ssize_t n;
	uint8_t *buf;

	*out = NULL;
	if (!s->outq)
		return 0;
	if (select_queue(fd, TCP_SEND_QUEUE) < 0)
		return err_errno(err, errlen, "freeze: TCP_REPAIR_QUEUE send");
	for (;;) {
		buf = malloc((size_t)s->outq + slack);
		if (!buf)
			return err_errno(err, errlen, "freeze: send queue buffer");
		n = recv(fd, buf, (size_t)s->outq + slack, MSG_PEEK | MSG_DONTWAIT);
		/* A buffer shorter than the skbs makes the copy fault: grow. */
		if (n < 0 && errno == EFAULT && slack < TCH_QUEUE_MAX) {
			free(buf);
			slack *= 4;
			continue;
		}
		break;
	}
	if (n < 0) {
		free(buf);
		return err_errno(err, errlen, "freeze: peek of the send queue (%d bytes)", s->outq);
	}
	if (n < s->outq) {
		free(buf);
		errno = EPROTO;
		return err_errno(err, errlen, "freeze: send queue peek gave %zd of %d bytes", n, s->outq);
	}
	if (n > s->outq)	/* the oldest skb is partly acknowledged */
		memmove(buf, buf + (n - s->outq), (size_t)s->outq);
	*out = buf;
	return 0;
}

static int peek_recvq(int fd, const struct snap *s, uint8_t **out, char *err, size_t errlen)
{
	ssize_t n;
	uint8_t *buf;

	*out = NULL;
	if (!s->inq)
		return 0;
	if (select_queue(fd, TCP_RECV_QUEUE) < 0)
		return err_errno(err, errlen, "freeze: TCP_REPAIR_QUEUE receive");
	buf = malloc((size_t)s->inq + 1);
	if (!buf)
		return err_errno(err, errlen, "freeze: receive queue buffer");
	/* One byte more than expected: a longer queue shows up as a mismatch. */
	n = recv(fd, buf, (size_t)s->inq + 1, MSG_PEEK | MSG_DONTWAIT);
	if (select_queue(fd, TCP_SEND_QUEUE) < 0) {
		free(buf);
		return err_errno(err, errlen, "freeze: TCP_REPAIR_QUEUE send");
	}
	if (n != s->inq) {
		if (n >= 0)
			errno = EPROTO;
		err_errno(err, errlen, "freeze: receive queue peek gave %zd of %d bytes", n, s->inq);
		free(buf);
		return -1;
	}
	*out = buf;
	return 0;
}

/* sockaddr -> family/address/port of st; v4-mapped IPv6 becomes IPv4 (the
 * client's packets are IPv4, and so must the restored socket be). */
static int take_addr(const struct sockaddr_storage *ss, uint8_t *family, uint8_t addr[16],
		     uint16_t *port)
{
	memset(addr, 0, 16);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		*family = 4;
		memcpy(addr, &a->sin_addr, 4);
		*port = ntohs(a->sin_port);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			*family = 4;
			memcpy(addr, a->sin6_addr.s6_addr + 12, 4);
		} else {
			*family = 6;
			memcpy(addr, a->sin6_addr.s6_addr, 16);
		}
		*port = ntohs(a->sin6_port);
		return 0;
	}
	errno = EAFNOSUPPORT;
	return -1;
}

static void leave_repair(int fd)
{
	int saved = errno;

	select_queue(fd, TCP_NO_QUEUE);
	set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF);
	errno = saved;
}

int tch_freeze(int fd, struct tch_state *out, char *err, size_t errlen)
{
	struct sockaddr_storage la, ra;
	socklen_t ll = sizeof(la), rl = sizeof(ra);
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	struct tcp_repair_window w;
	socklen_t wl = sizeof(w);
	struct snap a, b;
	uint8_t lfam, rfam;
	char why[160];
	int v, attempt;

	memset(out, 0, sizeof(*out));
	if (get_int(fd, SOL_SOCKET, SO_PROTOCOL, &v) < 0)
		return err_errno(err, errlen, "freeze: SO_PROTOCOL");
	if (v != IPPROTO_TCP) {
		errno = EINVAL;
		return err_errno(err, errlen, "freeze: not a TCP socket");
	}
	if (getsockname(fd, (struct sockaddr *)&la, &ll) < 0)
		return err_errno(err, errlen, "freeze: getsockname");
	if (getpeername(fd, (struct sockaddr *)&ra, &rl) < 0)
		return err_errno(err, errlen, "freeze: getpeername");
	if (take_addr(&la, &lfam, out->local_addr, &out->local_port) < 0 ||
	    take_addr(&ra, &rfam, out->remote_addr, &out->remote_port) < 0 || lfam != rfam)
		return err_errno(err, errlen, "freeze: address family");
	out->family = lfam;

	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON) < 0)
		return err_errno(err, errlen, "freeze: TCP_REPAIR on (needs CAP_NET_ADMIN and an "
			    "established socket)");
	/* A socket in repair mode still transmits unsent data when its pacing
	 * or TSQ timer (or an ACK) says so - unless the send queue is the one
	 * selected for repair: then the kernel marks the data sent without
	 * sending it.  Data sent after the dump would reach the client while the
	 * new node believes it unsent; the client then acknowledges bytes the
	 * new socket never sent, and it discards every segment of the client as
	 * an invalid ACK: the session hangs.  So the send queue stays selected
	 * from here until tch_thaw/tch_close_silently (a receive-queue peek
	 * selects it again at once, and a transmission in that instant is seen
	 * by the snapshot comparison below).  What the kernel sends regardless
	 * (retransmissions, ACKs, probes) the caller's flow drop stops. */
	if (select_queue(fd, TCP_SEND_QUEUE) < 0) {
		err_errno(err, errlen, "freeze: TCP_REPAIR_QUEUE send");
		goto out_fail;
	}
	/* From here on the application cannot read or write the socket. */
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0) {
		err_errno(err, errlen, "freeze: TCP_INFO");
		goto out_fail;
	}
	if (ti.tcpi_state != TCP_ESTABLISHED) {
		errno = EINVAL;
		err_errno(err, errlen, "freeze: connection in TCP state %u, not ESTABLISHED", ti.tcpi_state);
		goto out_fail;
	}
	for (attempt = 0;; attempt++) {
		if (take_snap(fd, &a, err, errlen) < 0)
			goto out_fail;
		if (peek_recvq(fd, &a, &out->recvq, err, errlen) < 0 ||
		    peek_sendq(fd, &a, &out->sendq, err, errlen) < 0)
			goto out_fail;
		if (take_snap(fd, &b, err, errlen) < 0)
			goto out_fail;
		if (!memcmp(&a, &b, sizeof(a)))
			break;
		/* A packet that passed the flow drop before it was installed was
		 * processed meanwhile: dump again. */
		free(out->sendq);
		free(out->recvq);
		out->sendq = out->recvq = NULL;
		if (attempt == 8) {
			errno = EAGAIN;
			err_errno(err, errlen, "freeze: queues still change after %d dumps (is the flow's "
			     "traffic dropped?)", attempt + 1);
			goto out_fail;
		}
	}
	out->snd_seq = a.write_seq;
	out->rcv_seq = a.rcv_nxt;
	out->unsent_len = (size_t)a.outq_nsd;
	out->unacked_len = (size_t)(a.outq - a.outq_nsd);
	out->recv_len = (size_t)a.inq;

	if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &wl) < 0) {
		err_errno(err, errlen, "freeze: TCP_REPAIR_WINDOW");
		goto out_fail;
	}
	/* snd_wl1 is the sequence number of the segment that last updated the
	 * peer's window; window updates from segments before it are ignored.
	 * After out-of-order data it lies beyond rcv_nxt - and that data is not
	 * carried: the client resends it, and its window updates (zero-window
	 * recovery!) would be ignored until its sequence numbers pass snd_wl1
	 * again, leaving the new socket to its backed-off window probes for
	 * seconds.  Such a value may even exceed rcv_nxt + rcv_wnd, which
	 * TCP_REPAIR_WINDOW refuses.  So no later than rcv_nxt - 1, where a
	 * new connection starts it: at worst one slightly stale window update
	 * applies, which TCP tolerates. */
	if ((int32_t)(w.snd_wl1 - (a.rcv_nxt - 1)) > 0)
		w.snd_wl1 = a.rcv_nxt - 1;
	out->snd_wl1 = w.snd_wl1;
	out->snd_wnd = w.snd_wnd;
	out->max_window = w.max_window;
	out->rcv_wnd = w.rcv_wnd;
	out->rcv_wup = w.rcv_wup;
	/* In repair mode TCP_MAXSEG reads the peer's MSS clamp. */
	if (get_int(fd, IPPROTO_TCP, TCP_MAXSEG, &v) < 0) {
		err_errno(err, errlen, "freeze: TCP_MAXSEG");
		goto out_fail;
	}
	if (v <= 0 || v > 65535) {
		errno = EPROTO;
		err_errno(err, errlen, "freeze: MSS clamp %d", v);
		goto out_fail;
	}
	out->mss = (uint16_t)v;
	if (get_int(fd, IPPROTO_TCP, TCP_TIMESTAMP, &v) < 0) {
		err_errno(err, errlen, "freeze: TCP_TIMESTAMP");
		goto out_fail;
	}
	out->ts_val = (uint32_t)v;
	if (ti.tcpi_options & TCPI_OPT_SACK)
		out->opts |= TCH_OPT_SACK;
	if (ti.tcpi_options & TCPI_OPT_TIMESTAMPS)
		out->opts |= TCH_OPT_TS;
	if (ti.tcpi_options & TCPI_OPT_WSCALE) {
		out->opts |= TCH_OPT_WSCALE;
		out->snd_wscale = ti.tcpi_snd_wscale;
		out->rcv_wscale = ti.tcpi_rcv_wscale;
	}
	if (get_int(fd, SOL_SOCKET, SO_SNDBUF, &v) < 0) {
		err_errno(err, errlen, "freeze: SO_SNDBUF");
		goto out_fail;
	}
	out->sndbuf = v > 0 ? (uint32_t)v : 0;
	if (get_int(fd, SOL_SOCKET, SO_RCVBUF, &v) < 0) {
		err_errno(err, errlen, "freeze: SO_RCVBUF");
		goto out_fail;
	}
	out->rcvbuf = v > 0 ? (uint32_t)v : 0;
	if (get_int(fd, IPPROTO_TCP, TCP_NODELAY, &v) == 0 && v)
		out->sock_flags |= TCH_SOCK_NODELAY;

	if (tch_state_check(out, why, sizeof(why)) != TCH_OK) {
		errno = EPROTO;
		err_errno(err, errlen, "freeze: the dump is not restorable (%s)", why);
		goto out_fail;
	}
	return 0;

out_fail:
	tch_state_free(out);
	leave_repair(fd);
	return -1;
}

int tch_thaw(int fd, char *err, size_t errlen)
{
	select_queue(fd, TCP_NO_QUEUE);
	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF) < 0)
		return err_errno(err, errlen, "thaw: TCP_REPAIR off");
	return 0;
}

/* Write all of data[0..len) with MSG_DONTWAIT (in repair mode: into the
 * selected queue); the message says how far it got. */
static int refill(int fd, const uint8_t *data, size_t len, const char *what, char *err,
		  size_t errlen)
{
	size_t off;

	if (send_all(fd, data, len, MSG_DONTWAIT, 0, &off) < 0)
		return err_errno(err, errlen, "restore: %s (%zu of %zu bytes written)", what, off, len);
	return 0;
}

/*
 * Socket buffers for the queues.  A fresh socket whose buffer holds the
 * queued bytes keeps it (and the kernel's autotuning).  Otherwise tch_restore
 * forces it (SO_*BUFFORCE, which turns autotuning off for that direction) to
 * queue_bufsize(): room for the bytes with skb overhead (1/8 at worst for
 * the large skbs a restore writes), at least the old socket's size.  Once
 * the bytes are in, tch_resume sets it back to the old socket's size, so a
 * session handed off again and again while its peer does not read cannot
 * ratchet its buffers up by the slack each time.  The kernel doubles the
 * value given to SO_*BUF (bookkeeping) and reports the doubled one, as the
 * old socket's sizes we hold are.
 */
static int bufsize_fits(size_t have, size_t need)
{
	return !need || have >= need + need / 8 + 16384;
}

static size_t queue_bufsize(uint32_t old, size_t need)
{
	size_t want = need + need / 8 + 65536;

	if (want < old)
		want = old;
	return want > INT32_MAX - 1 ? INT32_MAX - 1 : want;
}

static int force_buf(int fd, int force_opt, size_t size)
{
	return set_int(fd, SOL_SOCKET, force_opt, (int)((size + 1) / 2));
}

static int size_buffer(int fd, int opt, int force_opt, uint32_t old, size_t need)
{
	int cur;

	if (get_int(fd, SOL_SOCKET, opt, &cur) < 0)
		return -1;
	if (bufsize_fits((size_t)cur, need))
		return 0;
	return force_buf(fd, force_opt, queue_bufsize(old, need));
}

/* After the queues are written: back to the old size if size_buffer()
 * forced a larger one (recognised by its exact value). */
static void unsize_buffer(int fd, int opt, int force_opt, uint32_t old, size_t need)
{
	size_t forced = queue_bufsize(old, need);
	int cur;

	if (!need || !old || forced <= old || get_int(fd, SOL_SOCKET, opt, &cur) < 0)
		return;
	if ((size_t)cur == (forced + 1) / 2 * 2)
		force_buf(fd, force_opt, old);
}

static socklen_t make_addr(const struct tch_state *st, const uint8_t *addr, uint16_t port,
			   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (st->family == 4) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		memcpy(&a->sin_addr, addr, 4);
		a->sin_port = htons(port);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	memcpy(&a->sin6_addr, addr, 16);
	a->sin6_port = htons(port);
	return sizeof(*a);
}

static const char *addr_str(const struct tch_state *st, const uint8_t *addr, char *buf, size_t len)
{
	return inet_ntop(st->family == 4 ? AF_INET : AF_INET6, addr, buf, (socklen_t)len) ?: "?";
}

int tch_restore(const struct tch_state *st, int *fd_out, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct tcp_repair_opt opts[4];
	struct tcp_repair_window w;
	char why[160], as[INET6_ADDRSTRLEN];
	size_t sendq_len = st->unacked_len + st->unsent_len;
	socklen_t sl;
	int fd, n = 0;

	*fd_out = -1;
	if (tch_state_check(st, why, sizeof(why)) != TCH_OK) {
		errno = EINVAL;
		return err_errno(err, errlen, "restore: invalid state (%s)", why);
	}
	fd = socket(st->family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return err_errno(err, errlen, "restore: socket");
	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON) < 0) {
		err_errno(err, errlen, "restore: TCP_REPAIR on (needs CAP_NET_ADMIN)");
		close(fd);	/* a fresh unconnected socket: closing sends nothing */
		return -1;
	}
	/* The receive buffer before connect: connect derives the window clamp
	 * from it. */
	if (size_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, st->rcvbuf, st->recv_len) < 0) {
		err_errno(err, errlen, "restore: SO_RCVBUFFORCE");
		goto out_fail;
	}
	if ((st->sock_flags & TCH_SOCK_NODELAY) && set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) < 0) {
		err_errno(err, errlen, "restore: TCP_NODELAY");
		goto out_fail;
	}
	sl = make_addr(st, st->local_addr, st->local_port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		err_errno(err, errlen, "restore: bind %s port %u (is the VIP configured here?)",
		     addr_str(st, st->local_addr, as, sizeof(as)), st->local_port);
		goto out_fail;
	}
	/* The queues' first sequence numbers: refilling them below advances
	 * write_seq and rcv_nxt to the dumped values. */
	if (select_queue(fd, TCP_SEND_QUEUE) < 0 ||
	    set_int(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)(st->snd_seq - (uint32_t)sendq_len)) < 0) {
		err_errno(err, errlen, "restore: TCP_QUEUE_SEQ of the send queue");
		goto out_fail;
	}
	if (select_queue(fd, TCP_RECV_QUEUE) < 0 ||
	    set_int(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)(st->rcv_seq - (uint32_t)st->recv_len)) < 0) {
		err_errno(err, errlen, "restore: TCP_QUEUE_SEQ of the receive queue");
		goto out_fail;
	}
	/* The segment size the socket sends with (mss_cache) is computed at
	 * connect, from the MSS clamp known then: the default 536 without this,
	 * and TCP_REPAIR_OPTIONS later moves only the clamp - the restored
	 * socket would send 524-byte segments until the path MTU changes.  As
	 * TCP_MAXSEG the clamp takes part in that computation.  (The kernel
	 * takes 88..32767 here; larger clamps exist on loopback only.) */
	if (st->mss >= 88 && st->mss <= 32767 &&
	    set_int(fd, IPPROTO_TCP, TCP_MAXSEG, st->mss) < 0) {
		err_errno(err, errlen, "restore: TCP_MAXSEG %u", st->mss);
		goto out_fail;
	}
	sl = make_addr(st, st->remote_addr, st->remote_port, &ss);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		err_errno(err, errlen, "restore: connect (repair) to %s port %u",
		     addr_str(st, st->remote_addr, as, sizeof(as)), st->remote_port);
		goto out_fail;
	}
	opts[n].opt_code = TCPOPT_MAXSEG;
	opts[n++].opt_val = st->mss;
	if (st->opts & TCH_OPT_WSCALE) {
		opts[n].opt_code = TCPOPT_WINDOW;
		opts[n++].opt_val = st->snd_wscale | (uint32_t)st->rcv_wscale << 16;
	}
	if (st->opts & TCH_OPT_SACK) {
		opts[n].opt_code = TCPOPT_SACK_PERMITTED;
		opts[n++].opt_val = 0;
	}
	if (st->opts & TCH_OPT_TS) {
		opts[n].opt_code = TCPOPT_TIMESTAMP;
		opts[n++].opt_val = 0;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts, (socklen_t)(n * sizeof(opts[0]))) < 0) {
		err_errno(err, errlen, "restore: TCP_REPAIR_OPTIONS");
		goto out_fail;
	}
	/* Our timestamp clock continues where the old socket's was: the client
	 * would drop segments with an older tsval (PAWS). */
	if (set_int(fd, IPPROTO_TCP, TCP_TIMESTAMP, (int)st->ts_val) < 0) {
		err_errno(err, errlen, "restore: TCP_TIMESTAMP");
		goto out_fail;
	}
	/* The send buffer after connect, which sized it for a new connection:
	 * the unacked bytes now and the unsent ones in tch_resume must fit. */
	if (size_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, st->sndbuf, sendq_len) < 0) {
		err_errno(err, errlen, "restore: SO_SNDBUFFORCE");
		goto out_fail;
	}
	if (st->recv_len) {
		if (select_queue(fd, TCP_RECV_QUEUE) < 0) {
			err_errno(err, errlen, "restore: TCP_REPAIR_QUEUE receive");
			goto out_fail;
		}
		if (refill(fd, st->recvq, st->recv_len, "receive queue", err, errlen) < 0)
			goto out_fail;
	}
	if (st->unacked_len) {
		if (select_queue(fd, TCP_SEND_QUEUE) < 0) {
			err_errno(err, errlen, "restore: TCP_REPAIR_QUEUE send");
			goto out_fail;
		}
		if (refill(fd, st->sendq, st->unacked_len, "send queue (unacked part)", err, errlen) < 0)
			goto out_fail;
	}
	if (select_queue(fd, TCP_NO_QUEUE) < 0) {
		err_errno(err, errlen, "restore: TCP_REPAIR_QUEUE none");
		goto out_fail;
	}
	w.snd_wl1 = st->snd_wl1;
	w.snd_wnd = st->snd_wnd;
	w.max_window = st->max_window;
	w.rcv_wnd = st->rcv_wnd;
	w.rcv_wup = st->rcv_wup;
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) < 0) {
		err_errno(err, errlen, "restore: TCP_REPAIR_WINDOW");
		goto out_fail;
	}
	*fd_out = fd;
	return 0;

out_fail:
	/* Still in repair mode: close() sends nothing. */
	close(fd);
	return -1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tch_resume(int fd, const struct tch_state *st, char *err, size_t errlen)
{
	const uint8_t *p = st->unsent_len ? st->sendq + st->unacked_len : NULL;
	size_t left = st->unsent_len;
	int64_t end = now_ms() + 1000;

	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF) < 0)
		return err_errno(err, errlen, "resume: TCP_REPAIR off");
	/* Leaving repair mode resets sk_reuse to "no reuse"; an accepted
	 * connection inherits SO_REUSEADDR from its listener.  Without it, a
	 * restarted service could not listen on VIP:port while this connection
	 * lives (EADDRINUSE).  Safe now: the socket is bound and connected. */
	if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0)
		return err_errno(err, errlen, "resume: SO_REUSEADDR");
	int grown = 0;
	while (left) {
		ssize_t n = send(fd, p, left, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			left -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* The send buffer is full before every unsent byte is in: the
		 * skbs send() built cost more than restore's slack allowed for
		 * (small writes, a peer whose window is zero, so nothing drains).
		 * Grow it (a few doublings), rather than wait for a window that
		 * may stay shut; set back to the old size below. */
		if (n < 0 && errno == EAGAIN && grown < 4) {
			int cur;
			if (get_int(fd, SOL_SOCKET, SO_SNDBUF, &cur) == 0 && cur < INT32_MAX / 2 &&
			    force_buf(fd, SO_SNDBUFFORCE, (size_t)cur * 2) == 0) {
				grown++;
				continue;
			}
		}
		if (n < 0 && errno == EAGAIN) {
			int64_t wait = end - now_ms();
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			if (wait > 0 && poll(&pfd, 1, (int)wait) >= 0)
				continue;
			errno = EAGAIN;
		}
		if (n == 0)
			errno = EIO;
		return err_errno(err, errlen, "resume: unsent bytes (%zu of %zu left)", left, st->unsent_len);
	}
	if (grown && st->sndbuf)
		force_buf(fd, SO_SNDBUFFORCE, st->sndbuf);	/* queued bytes stay; new ones wait */
	else
		unsize_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, st->sndbuf, st->unacked_len + st->unsent_len);
	unsize_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, st->rcvbuf, st->recv_len);
	return 0;
}

int tch_close_silently(int fd, char *err, size_t errlen)
{
	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON) < 0)
		return err_errno(err, errlen, "close: TCP_REPAIR on (socket left open)");
	if (close(fd) < 0)
		return err_errno(err, errlen, "close");
	return 0;
}
