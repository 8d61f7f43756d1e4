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
#include <unistd.h>

#include "lib/err.h"
#include "lib/loop.h"
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

/* Read one; refuses sizes that make no sense (EPROTO) or exceed
 * TCH_QUEUE_MAX (EMSGSIZE).  Leaves the send queue selected. */
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

/* Peek the whole receive queue (s->inq bytes) into *out (malloc'd), then
 * select the send queue again at once (freeze_hold_sendq says why). */
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

/* A failed freeze: back to normal mode, the failure's errno kept. */
static void leave_repair(int fd)
{
	int saved = errno;

	select_queue(fd, TCP_NO_QUEUE);
	set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF);
	errno = saved;
}

/*
 * tch_freeze in steps, called in this order (doc/tch.md, "The dump"); each
 * fills its part of *out and returns 0, or -1 with errno and a message in
 * err.  Only the first runs before repair mode; after a later one fails,
 * tch_freeze frees *out and leaves repair mode.
 */

/* Step 1, before repair mode (nothing to undo): a TCP socket, and its two
 * addresses of one family. */
static int freeze_addrs(int fd, struct tch_state *out, char *err, size_t errlen)
{
	struct sockaddr_storage la, ra;
	socklen_t ll = sizeof(la), rl = sizeof(ra);
	uint8_t lfam, rfam;
	int v;

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
	return 0;
}

/*
 * Step 2, right after TCP_REPAIR=1: select the send queue, and keep it
 * selected.  A socket in repair mode still transmits unsent data when its
 * pacing or TSQ timer (or an ACK) says so - unless the send queue is the one
 * selected for repair: then the kernel marks the data sent without sending
 * it.  Data sent after the dump would reach the client while the new node
 * believes it unsent; the client then acknowledges bytes the new socket
 * never sent, and it discards every segment of the client as an invalid
 * ACK: the session hangs.  So the send queue stays selected from here until
 * tch_thaw/tch_close_silently (a receive-queue peek selects it again at
 * once, and a transmission in that instant is seen by the snapshot
 * comparison of freeze_queues).  What the kernel sends regardless
 * (retransmissions, ACKs, probes) the caller's flow drop stops.
 */
static int freeze_hold_sendq(int fd, char *err, size_t errlen)
{
	if (select_queue(fd, TCP_SEND_QUEUE) < 0)
		return err_errno(err, errlen, "freeze: TCP_REPAIR_QUEUE send");
	return 0;
}

/* Step 3: TCP_INFO (its options are step 6's), which must say ESTABLISHED:
 * a connection that saw or sent a FIN cannot be rebuilt.  From here on the
 * application cannot read or write the socket. */
static int freeze_info(int fd, struct tcp_info *ti, char *err, size_t errlen)
{
	socklen_t tl = sizeof(*ti);

	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &tl) < 0)
		return err_errno(err, errlen, "freeze: TCP_INFO");
	if (ti->tcpi_state != TCP_ESTABLISHED) {
		errno = EINVAL;
		return err_errno(err, errlen, "freeze: connection in TCP state %u, not ESTABLISHED",
				 ti->tcpi_state);
	}
	return 0;
}

/* Step 4: sequence numbers, queue sizes and both queues' contents, dumped
 * until two snapshots around the peeks agree (packets already past the flow
 * drop when it was installed are absorbed; 9 dumps at most: EAGAIN). */
static int freeze_queues(int fd, struct tch_state *out, char *err, size_t errlen)
{
	struct snap a, b;

	for (int attempt = 0;; attempt++) {
		if (take_snap(fd, &a, err, errlen) < 0)
			return -1;
		if (peek_recvq(fd, &a, &out->recvq, err, errlen) < 0 ||
		    peek_sendq(fd, &a, &out->sendq, err, errlen) < 0)
			return -1;
		if (take_snap(fd, &b, err, errlen) < 0)
			return -1;
		if (!memcmp(&a, &b, sizeof(a)))
			break;
		/* A packet that passed the flow drop before it was installed was
		 * processed meanwhile: dump again. */
		free(out->sendq);
		free(out->recvq);
		out->sendq = out->recvq = NULL;
		if (attempt == 8) {
			errno = EAGAIN;
			return err_errno(err, errlen, "freeze: queues still change after %d dumps (is the "
					 "flow's traffic dropped?)", attempt + 1);
		}
	}
	out->snd_seq = a.write_seq;
	out->rcv_seq = a.rcv_nxt;
	out->unsent_len = (size_t)a.outq_nsd;
	out->unacked_len = (size_t)(a.outq - a.outq_nsd);
	out->recv_len = (size_t)a.inq;
	return 0;
}

/*
 * Step 5: TCP_REPAIR_WINDOW, with one field adjusted.  snd_wl1 is the
 * sequence number of the segment that last updated the peer's window;
 * window updates from segments before it are ignored.  After out-of-order
 * data it lies beyond rcv_nxt - and that data is not carried: the client
 * resends it, and its window updates (zero-window recovery!) would be
 * ignored until its sequence numbers pass snd_wl1 again, leaving the new
 * socket to its backed-off window probes for seconds.  Such a value may even
 * exceed rcv_nxt + rcv_wnd, which TCP_REPAIR_WINDOW refuses.  So no later
 * than rcv_nxt - 1, where a new connection starts it: at worst one slightly
 * stale window update applies, which TCP tolerates.  Needs out->rcv_seq
 * (step 4).
 */
static int freeze_window(int fd, struct tch_state *out, char *err, size_t errlen)
{
	struct tcp_repair_window w;
	socklen_t wl = sizeof(w);

	if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &wl) < 0)
		return err_errno(err, errlen, "freeze: TCP_REPAIR_WINDOW");
	if ((int32_t)(w.snd_wl1 - (out->rcv_seq - 1)) > 0)
		w.snd_wl1 = out->rcv_seq - 1;
	out->snd_wl1 = w.snd_wl1;
	out->snd_wnd = w.snd_wnd;
	out->max_window = w.max_window;
	out->rcv_wnd = w.rcv_wnd;
	out->rcv_wup = w.rcv_wup;
	return 0;
}

/* Step 6: what the connection negotiated - the peer's MSS clamp (what
 * TCP_MAXSEG reads in repair mode), our timestamp clock, and from step 3's
 * TCP_INFO: SACK, timestamps, window scales. */
static int freeze_options(int fd, const struct tcp_info *ti, struct tch_state *out, char *err,
			  size_t errlen)
{
	int v;

	if (get_int(fd, IPPROTO_TCP, TCP_MAXSEG, &v) < 0)
		return err_errno(err, errlen, "freeze: TCP_MAXSEG");
	if (v <= 0 || v > 65535) {
		errno = EPROTO;
		return err_errno(err, errlen, "freeze: MSS clamp %d", v);
	}
	out->mss = (uint16_t)v;
	if (get_int(fd, IPPROTO_TCP, TCP_TIMESTAMP, &v) < 0)
		return err_errno(err, errlen, "freeze: TCP_TIMESTAMP");
	out->ts_val = (uint32_t)v;
	if (ti->tcpi_options & TCPI_OPT_SACK)
		out->opts |= TCH_OPT_SACK;
	if (ti->tcpi_options & TCPI_OPT_TIMESTAMPS)
		out->opts |= TCH_OPT_TS;
	if (ti->tcpi_options & TCPI_OPT_WSCALE) {
		out->opts |= TCH_OPT_WSCALE;
		out->snd_wscale = ti->tcpi_snd_wscale;
		out->rcv_wscale = ti->tcpi_rcv_wscale;
	}
	return 0;
}

/* Step 7: the socket's buffer sizes (tch_restore sizes the new ones from
 * them) and TCP_NODELAY (a failed read of it counts as off). */
static int freeze_socket(int fd, struct tch_state *out, char *err, size_t errlen)
{
	int v;

	if (get_int(fd, SOL_SOCKET, SO_SNDBUF, &v) < 0)
		return err_errno(err, errlen, "freeze: SO_SNDBUF");
	out->sndbuf = v > 0 ? (uint32_t)v : 0;
	if (get_int(fd, SOL_SOCKET, SO_RCVBUF, &v) < 0)
		return err_errno(err, errlen, "freeze: SO_RCVBUF");
	out->rcvbuf = v > 0 ? (uint32_t)v : 0;
	if (get_int(fd, IPPROTO_TCP, TCP_NODELAY, &v) == 0 && v)
		out->sock_flags |= TCH_SOCK_NODELAY;
	return 0;
}

int tch_freeze(int fd, struct tch_state *out, char *err, size_t errlen)
{
	struct tcp_info ti;
	char why[160];

	memset(out, 0, sizeof(*out));
	if (freeze_addrs(fd, out, err, errlen) < 0)
		return -1;
	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON) < 0)
		return err_errno(err, errlen, "freeze: TCP_REPAIR on (needs CAP_NET_ADMIN and an "
			    "established socket)");
	if (freeze_hold_sendq(fd, err, errlen) < 0 || freeze_info(fd, &ti, err, errlen) < 0 ||
	    freeze_queues(fd, out, err, errlen) < 0 || freeze_window(fd, out, err, errlen) < 0 ||
	    freeze_options(fd, &ti, out, err, errlen) < 0 || freeze_socket(fd, out, err, errlen) < 0)
		goto out_fail;
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

/* Bytes of st's send queue: the unacked part, then the unsent one. */
static size_t sendq_len(const struct tch_state *st)
{
	return st->unacked_len + st->unsent_len;
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

static const char *addr_str(const struct tch_state *st, const uint8_t *addr, char *buf, size_t len)
{
	return inet_ntop(st->family == 4 ? AF_INET : AF_INET6, addr, buf, (socklen_t)len) ?: "?";
}

/*
 * tch_restore in steps, called in this order (tch.h, doc/tch.md: each needs
 * the one before).  Each takes the socket from restore_socket() and returns
 * 0, or -1 with errno and a message in err; tch_restore then closes the
 * socket, still in repair mode, so nothing reaches the client.
 */

/* Step 1: the socket, in repair mode.  The fd, or -1 (nothing left open). */
static int restore_socket(const struct tch_state *st, char *err, size_t errlen)
{
	int fd = socket(st->family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);

	if (fd < 0)
		return err_errno(err, errlen, "restore: socket");
	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON) < 0) {
		err_errno(err, errlen, "restore: TCP_REPAIR on (needs CAP_NET_ADMIN)");
		close(fd);	/* a fresh unconnected socket: closing sends nothing */
		return -1;
	}
	return fd;
}

/* Step 2: the receive buffer (before connect: connect derives the window
 * clamp from it), TCP_NODELAY, and bind VIP:port - which TCP_REPAIR's forced
 * reuse allows next to the service's listener (never SO_REUSEADDR: it would
 * overwrite that). */
static int restore_bind(int fd, const struct tch_state *st, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	char as[INET6_ADDRSTRLEN];
	socklen_t sl;

	if (size_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, st->rcvbuf, st->recv_len) < 0)
		return err_errno(err, errlen, "restore: SO_RCVBUFFORCE");
	if ((st->sock_flags & TCH_SOCK_NODELAY) && set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) < 0)
		return err_errno(err, errlen, "restore: TCP_NODELAY");
	sl = tch_sockaddr(st, st->local_addr, st->local_port, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		return err_errno(err, errlen, "restore: bind %s port %u (is the VIP configured here?)",
				 addr_str(st, st->local_addr, as, sizeof(as)), st->local_port);
	return 0;
}

/* Step 3 (only accepted before connect): the queues' first sequence
 * numbers; refilling them in step 7 advances write_seq and rcv_nxt to the
 * dumped values. */
static int restore_seqs(int fd, const struct tch_state *st, char *err, size_t errlen)
{
	if (select_queue(fd, TCP_SEND_QUEUE) < 0 ||
	    set_int(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)(st->snd_seq - (uint32_t)sendq_len(st))) < 0)
		return err_errno(err, errlen, "restore: TCP_QUEUE_SEQ of the send queue");
	if (select_queue(fd, TCP_RECV_QUEUE) < 0 ||
	    set_int(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)(st->rcv_seq - (uint32_t)st->recv_len)) < 0)
		return err_errno(err, errlen, "restore: TCP_QUEUE_SEQ of the receive queue");
	return 0;
}

/* Step 4, before connect: the MSS clamp.  The segment size the socket sends
 * with (mss_cache) is computed at connect, from the clamp known then: the
 * default 536 without this, and TCP_REPAIR_OPTIONS later moves only the
 * clamp - the restored socket would send 524-byte segments until the path
 * MTU changes.  As TCP_MAXSEG the clamp takes part in that computation.
 * (The kernel takes 88..32767 here; larger clamps exist on loopback only.) */
static int restore_mss(int fd, const struct tch_state *st, char *err, size_t errlen)
{
	if (st->mss >= 88 && st->mss <= 32767 && set_int(fd, IPPROTO_TCP, TCP_MAXSEG, st->mss) < 0)
		return err_errno(err, errlen, "restore: TCP_MAXSEG %u", st->mss);
	return 0;
}

/* Step 5: connect to the client; in repair mode it completes at once, no SYN. */
static int restore_connect(int fd, const struct tch_state *st, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	char as[INET6_ADDRSTRLEN];
	socklen_t sl = tch_sockaddr(st, st->remote_addr, st->remote_port, &ss);

	if (connect(fd, (struct sockaddr *)&ss, sl) < 0)
		return err_errno(err, errlen, "restore: connect (repair) to %s port %u",
				 addr_str(st, st->remote_addr, as, sizeof(as)), st->remote_port);
	return 0;
}

/* Step 6, connected: the negotiated options (MSS, window scales, SACK,
 * timestamps), then our timestamp clock, which continues where the old
 * socket's was: the client would drop segments with an older tsval (PAWS). */
static int restore_options(int fd, const struct tch_state *st, char *err, size_t errlen)
{
	struct tcp_repair_opt opts[4];
	int n = 0;

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
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts, (socklen_t)(n * sizeof(opts[0]))) < 0)
		return err_errno(err, errlen, "restore: TCP_REPAIR_OPTIONS");
	if (set_int(fd, IPPROTO_TCP, TCP_TIMESTAMP, (int)st->ts_val) < 0)
		return err_errno(err, errlen, "restore: TCP_TIMESTAMP");
	return 0;
}

/* Select queue q and write all of data[0..len) into it (repair mode: the
 * receive queue as if received, the send queue as if sent); what names the
 * bytes in the message, which says how far it got.  Nothing to do for len 0. */
static int refill_queue(int fd, int q, const uint8_t *data, size_t len, const char *what,
			char *err, size_t errlen)
{
	size_t off;

	if (!len)
		return 0;
	if (select_queue(fd, q) < 0)
		return err_errno(err, errlen, "restore: TCP_REPAIR_QUEUE %s",
				 q == TCP_RECV_QUEUE ? "receive" : "send");
	if (send_all(fd, data, len, MSG_DONTWAIT, 0, &off) < 0)
		return err_errno(err, errlen, "restore: %s (%zu of %zu bytes written)", what, off, len);
	return 0;
}

/* Step 7: the send buffer (after connect, which sized it for a new
 * connection: the unacked bytes now and the unsent ones in tch_resume must
 * fit), the receive queue, and only the sent-but-unacked part of the send
 * queue: unsent bytes written in repair mode would count as sent and reach
 * the client only by retransmission timeouts (tch_resume writes them). */
static int restore_queues(int fd, const struct tch_state *st, char *err, size_t errlen)
{
	if (size_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, st->sndbuf, sendq_len(st)) < 0)
		return err_errno(err, errlen, "restore: SO_SNDBUFFORCE");
	if (refill_queue(fd, TCP_RECV_QUEUE, st->recvq, st->recv_len, "receive queue", err,
			 errlen) < 0 ||
	    refill_queue(fd, TCP_SEND_QUEUE, st->sendq, st->unacked_len, "send queue (unacked part)",
			 err, errlen) < 0)
		return -1;
	if (select_queue(fd, TCP_NO_QUEUE) < 0)
		return err_errno(err, errlen, "restore: TCP_REPAIR_QUEUE none");
	return 0;
}

/* Step 8, last: the kernel checks the window against rcv_nxt, which the
 * receive queue refill (step 7) advanced. */
static int restore_window(int fd, const struct tch_state *st, char *err, size_t errlen)
{
	struct tcp_repair_window w = {
		.snd_wl1 = st->snd_wl1,
		.snd_wnd = st->snd_wnd,
		.max_window = st->max_window,
		.rcv_wnd = st->rcv_wnd,
		.rcv_wup = st->rcv_wup,
	};

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) < 0)
		return err_errno(err, errlen, "restore: TCP_REPAIR_WINDOW");
	return 0;
}

int tch_restore(const struct tch_state *st, int *fd_out, char *err, size_t errlen)
{
	char why[160];
	int fd;

	*fd_out = -1;
	if (tch_state_check(st, why, sizeof(why)) != TCH_OK) {
		errno = EINVAL;
		return err_errno(err, errlen, "restore: invalid state (%s)", why);
	}
	fd = restore_socket(st, err, errlen);
	if (fd < 0)
		return -1;
	if (restore_bind(fd, st, err, errlen) < 0 || restore_seqs(fd, st, err, errlen) < 0 ||
	    restore_mss(fd, st, err, errlen) < 0 || restore_connect(fd, st, err, errlen) < 0 ||
	    restore_options(fd, st, err, errlen) < 0 || restore_queues(fd, st, err, errlen) < 0 ||
	    restore_window(fd, st, err, errlen) < 0) {
		close(fd);	/* still in repair mode: close() sends nothing */
		return -1;
	}
	*fd_out = fd;
	return 0;
}

/*
 * Write the unsent bytes p[0..len) normally (out of repair mode), within 1 s.
 * Not send_all (lib/netio.h): when the send buffer is full before every
 * byte is in, the skbs send() built cost more than restore's slack allowed
 * for (small writes, a peer whose window is zero, so nothing drains); this
 * grows the buffer first (a few doublings, counted in *grown: tch_resume
 * sets it back) rather than wait for a window that may stay shut.  0, or -1
 * with errno (EAGAIN: the time ran out) and *left the bytes not written.
 */
static int write_unsent(int fd, const uint8_t *p, size_t len, int *grown, size_t *left)
{
	int64_t end = (int64_t)loop_now_ms() + 1000;

	*left = len;
	while (*left) {
		ssize_t n = send(fd, p, *left, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			*left -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && *grown < 4) {
			int cur;
			if (get_int(fd, SOL_SOCKET, SO_SNDBUF, &cur) == 0 && cur < INT32_MAX / 2 &&
			    force_buf(fd, SO_SNDBUFFORCE, (size_t)cur * 2) == 0) {
				(*grown)++;
				continue;
			}
		}
		if (n < 0 && errno == EAGAIN) {
			int64_t wait = end - (int64_t)loop_now_ms();
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			if (wait > 0 && poll(&pfd, 1, (int)wait) >= 0)
				continue;
			errno = EAGAIN;
		}
		if (n == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

int tch_resume(int fd, const struct tch_state *st, struct tch_raw *raw, struct tch_held *held,
	       char *err, size_t errlen)
{
	const uint8_t *p = st->unsent_len ? st->sendq + st->unacked_len : NULL;
	size_t left;
	int grown = 0;

	/* Out of repair without the kernel's window probe: the client
	 * discards the probe (outside its window, tch_kick.c) but this socket
	 * records the window it advertised as offered - more than the old
	 * node's offer, which the client keeps (zero with a full receive
	 * queue) - and then sends no window update when its reader frees
	 * space: the client waits for its backed-off zero-window probe
	 * (doc/tch.md, "Nothing left to a timer", measured up to 20 s). */
	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP) < 0)
		return err_errno(err, errlen, "resume: TCP_REPAIR off");
	/* What the client sent while frozen, before the kick: the client's
	 * answers to it must not overtake the replay (tch.h) */
	if (held)
		tch_replay_held(fd, st, raw, held);
	/* Before any new data: its ACKs must be in the client's window.  Best
	 * effort: without the kick (no raw socket) the kernel's probe is sent
	 * after all (repair on and off again), and the client's timers
	 * recover (tch.h). */
	char kerr[160] = "";
	if (tch_kick(fd, st, raw, kerr, sizeof(kerr)) < 0 &&
	    (set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON) < 0 ||
	     set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF) < 0))
		return err_errno(err, errlen, "resume: TCP_REPAIR off after a failed kick");
	/* Leaving repair mode resets sk_reuse to "no reuse"; an accepted
	 * connection inherits SO_REUSEADDR from its listener.  Without it, a
	 * restarted service could not listen on VIP:port while this connection
	 * lives (EADDRINUSE).  Safe now: the socket is bound and connected. */
	if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0)
		return err_errno(err, errlen, "resume: SO_REUSEADDR");
	if (write_unsent(fd, p, st->unsent_len, &grown, &left) < 0)
		return err_errno(err, errlen, "resume: unsent bytes (%zu of %zu left)", left, st->unsent_len);
	if (grown && st->sndbuf)
		force_buf(fd, SO_SNDBUFFORCE, st->sndbuf);	/* queued bytes stay; new ones wait */
	else
		unsize_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, st->sndbuf, sendq_len(st));
	unsize_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, st->rcvbuf, st->recv_len);
	if (kerr[0]) {
		snprintf(err, errlen, "%s", kerr);
		return 1;
	}
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
