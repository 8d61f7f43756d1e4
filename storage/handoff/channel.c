/*
 * channel.c - the handoff engine's node-to-node channels (handoff_int.h
 * draws the protocol): one persistent TCP connection to every peer and
 * the ones the peers open to us; the three-HELLO handshake under the pair
 * key, then frames under the channel's key with seq = previous + 1
 * (lib/handoff_wire.h).  Inbound channels carry the peers' transactions to
 * incoming.c from the event loop; an outbound one carries this node's own
 * transactions, whose frames go to outgoing.c (otx_frame), also from the
 * loop.
 *
 * Whoever reaches handoff.listen may connect, so until a channel is up it
 * costs at most one small buffer: only configured peers' addresses are
 * accepted, a few unfinished channels per address and CHAN_MAX_IN in all,
 * frames of at most HO_HELLO_MAX bytes (a longer one is refused from its
 * length field, before anything of it is buffered), and the handshake must
 * finish within CHAN_HELLO_MS.
 */
#include "handoff_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/netio.h"
#include "storage/listen.h"

static void chan_io(struct loop *l, struct loop_io *io, uint32_t events);

/*
 * Busy-wait at most spin_us for fd to turn readable.  Each step of a handoff
 * waits for one peer's answer (the other node, or lbd), and on virtual
 * CPUs that halt when idle, waking a sleeping process costs tens of
 * microseconds, paid once per hop: most of the freeze->resume time.  So
 * while a handoff is running, and only then, the waiting side polls
 * without sleeping for a bounded time (handoff.spin_us, 0: never), then
 * falls back to sleeping in poll/epoll.
 */
void spin_readable(int fd, uint32_t spin_us)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	uint64_t end;

	if (!spin_us)
		return;
	end = now_ns() + (uint64_t)spin_us * 1000;
	do {
		if (poll(&pf, 1, 0) != 0)
			return;
		/* the answer may need this very CPU (lbd, the peer node: on a
		 * small machine both sides of a handoff spin at once) */
		sched_yield();
	} while (now_ns() < end);
}

int peer_index(const struct handoff *h, const char *name)
{
	for (unsigned i = 0; i < h->cfg->npeers; i++)
		if (!strcmp(h->cfg->peers[i].name, name))
			return (int)i;
	return -1;
}

const char *peer_name(const struct chan *c)
{
	return c->peer >= 0 ? c->h->cfg->peers[c->peer].name : "?";
}

static void chan_watch(struct chan *c, uint32_t ev)
{
	if (ev == c->events)
		return;
	if (!c->events)
		loop_add(&c->h->n->loop, &c->io, ev);
	else if (!ev)
		loop_del(&c->h->n->loop, &c->io);
	else
		loop_mod(&c->h->n->loop, &c->io, ev);
	c->events = ev;
}

/* The key c's frames are sealed and checked with now: the pair key during
 * the handshake (c->peer known), the channel key from CH_CONFIRM on. */
static const struct ho_key *chan_key(const struct chan *c)
{
	return c->state == CH_UP || c->state == CH_CONFIRM ? &c->key : &c->h->pair[c->peer];
}

/* Send what c has waiting.  0 (all out, or the socket is full again:
 * EPOLLOUT stays watched), -1 the socket failed. */
static int chan_flush(struct chan *c)
{
	size_t done = 0;

	if (c->tx_off < c->tx_len) {
		int r = send_all(c->io.fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_DONTWAIT, 0,
				 &done);
		c->tx_off += done;
		if (done)
			c->tx_moved_ms = loop_now_ms();
		if (r < 0 && errno != EAGAIN)
			return -1;
	}
	if (c->tx_off == c->tx_len) {
		c->tx_off = c->tx_len = 0;
		if (c->tx_cap > CHAN_RX_KEEP) {
			free(c->tx);
			c->tx = NULL;
			c->tx_cap = 0;
		}
		chan_watch(c, EPOLLIN);
	}
	return 0;
}

/* Put p[0..n) behind c's waiting output, sent on EPOLLOUT.  0 / -1 (over
 * CHAN_TX_MAX, or out of memory). */
static int chan_queue(struct chan *c, const uint8_t *p, size_t n)
{
	if (c->tx_off) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
		c->tx_len -= c->tx_off;
		c->tx_off = 0;
	}
	if (c->tx_len + n > CHAN_TX_MAX)
		return -1;
	if (c->tx_len + n > c->tx_cap) {
		size_t nc = c->tx_len + n > CHAN_RX_KEEP ? c->tx_len + n : CHAN_RX_KEEP;
		uint8_t *nb = realloc(c->tx, nc);
		if (!nb)
			return -1;
		c->tx = nb;
		c->tx_cap = nc;
	}
	if (c->tx_len == 0)
		c->tx_moved_ms = loop_now_ms();
	memcpy(c->tx + c->tx_len, p, n);
	c->tx_len += n;
	chan_watch(c, EPOLLIN | EPOLLOUT);
	return 0;
}

/* Seal and send frame f on c (HELLOs under the pair key). */
int chan_send(struct chan *c, struct ho_frame *f)
{
	const struct ho_key *k = chan_key(c);
	size_t len = ho_seal(f, k, c->tx_seq), done = 0;
	int rc = -1;

	if (!len)
		goto out;
	if (c->tx_len == 0 && send_all(c->io.fd, f->buf, len, MSG_DONTWAIT, 0, &done) == 0)
		rc = 0;
	else if ((c->tx_len || errno == EAGAIN) && chan_queue(c, f->buf + done, len - done) == 0)
		rc = 0;
	if (rc == 0)
		c->tx_seq++;
out:
	ho_frame_free(f);
	return rc;
}

int send_simple(struct chan *c, uint8_t type, uint32_t txid)
{
	struct ho_frame f;

	memset(&f, 0, sizeof(f));
	ho_begin(&f, type, txid);
	return chan_send(c, &f);
}

int send_fail(struct chan *c, uint32_t txid, uint16_t code, const char *why)
{
	struct ho_frame f;

	memset(&f, 0, sizeof(f));
	ho_begin(&f, HO_T_FAIL, txid);
	ho_add_reason(&f, code, why);
	return chan_send(c, &f);
}

/* HELLO: name and nonce (and, answering, the other side's nonce); the
 * connecting side's key confirmation (up: the accepting side's nonce). */
static int send_hello(struct chan *c)
{
	struct ho_frame f;
	const char *me = c->h->n->cfg.node_name;

	memset(&f, 0, sizeof(f));
	ho_begin(&f, HO_T_HELLO, 0);
	if (c->state != CH_UP) {
		ho_add(&f, HO_R_NODE, me, strlen(me));
		ho_add(&f, HO_R_NONCE, c->my_nonce, HO_NONCE_LEN);
	}
	if (!c->outbound || c->state == CH_UP)
		ho_add(&f, HO_R_ECHO, c->peer_nonce, HO_NONCE_LEN);
	return chan_send(c, &f);
}

static struct chan *chan_new(struct handoff *h, int fd, int outbound, int peer)
{
	struct chan *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->h = h;
	c->io.fd = fd;
	c->io.cb = chan_io;
	c->io.arg = c;
	c->outbound = outbound;
	c->peer = peer;
	c->tx_seq = 1;
	c->rx_seq = 1;
	c->t0_ms = loop_now_ms();
	if (getrandom(c->my_nonce, HO_NONCE_LEN, 0) != HO_NONCE_LEN) {
		free(c);
		return NULL;
	}
	return c;
}

/* Connect to peer i (non-blocking); HELLO once connected. */
void chan_connect(struct handoff *h, int i)
{
	const struct nasd_peer *p = &h->cfg->peers[i];
	struct sockaddr_storage ss;
	socklen_t sl = taddr_sockaddr(&p->addr, p->port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	tcp_nodelay(fd);
	if (h->cfg->listen_addr.family == p->addr.family) {	/* from our storage address */
		struct sockaddr_storage ls;
		socklen_t ll = taddr_sockaddr(&h->cfg->listen_addr, 0, &ls);
		int fb = 1;
		setsockopt(fd, SOL_IP, IP_FREEBIND, &fb, sizeof(fb));
		bind(fd, (struct sockaddr *)&ls, ll);
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		close(fd);
		return;
	}
	struct chan *c = chan_new(h, fd, 1, i);
	if (!c) {
		close(fd);
		return;
	}
	c->state = CH_CONNECTING;
	h->out[i] = c;
	chan_watch(c, EPOLLOUT);
}

void chan_close(struct chan *c, const char *why)
{
	struct handoff *h = c->h;

	if (c->state == CH_UP || (why && c->peer >= 0 && c->state != CH_CONNECTING))
		log_event(why ? LOG_WARNING : LOG_INFO, "channel_down", KV_S("peer", peer_name(c)),
			  KV_S("direction", c->outbound ? "out" : "in"), KV_S("reason", why));
	if (why)
		h->channel_errors += c->state == CH_UP;
	intx_abandon(h, c);	/* the old node rolls back */
	if (c->outbound && c->state == CH_UP) {
		c->broken = 1;	/* no transaction starts on it from here */
		otx_chan_lost(h, c);
	}
	chan_watch(c, 0);
	close(c->io.fd);
	if (c->outbound) {
		if (h->out[c->peer] == c)
			h->out[c->peer] = NULL;
	} else {
		for (struct chan **pp = &h->in; *pp; pp = &(*pp)->next)
			if (*pp == c) {
				*pp = c->next;
				break;
			}
	}
	free(c->rx);
	free(c->tx);
	free(c);
}

/* Read what the socket has into c->rx, at most a whole frame of the size
 * c's state allows (the caller takes frames out, then reads on: the socket
 * stays readable).  1 read something, 0 nothing (EAGAIN or c->rx full),
 * -1 EOF/error. */
static int chan_read(struct chan *c)
{
	size_t lim = c->state == CH_UP ? RX_MAX : 4 + HO_HELLO_MAX;
	int got = 0;

	for (;;) {
		if (c->rx_len >= lim)
			return got;
		if (c->rx_cap - c->rx_len < 65536 && c->rx_cap < lim) {
			size_t nc = c->rx_cap * 2 > CHAN_RX_KEEP ? c->rx_cap * 2 : CHAN_RX_KEEP;
			if (nc > lim)
				nc = lim;
			uint8_t *nb = realloc(c->rx, nc);
			if (!nb)
				return -1;
			c->rx = nb;
			c->rx_cap = nc;
		}
		size_t room = c->rx_cap - c->rx_len;
		if (room > lim - c->rx_len)
			room = lim - c->rx_len;
		ssize_t r = recv(c->io.fd, c->rx + c->rx_len, room, MSG_DONTWAIT);
		if (r > 0) {
			c->rx_len += (size_t)r;
			got = 1;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return got;
		return -1;
	}
}

static void bad_frame(struct chan *c, enum ho_err e)
{
	char a[TADDR_STRLEN];

	log_event(LOG_WARNING, "channel_bad_frame", KV_S("peer", peer_name(c)),
		  KV_S("direction", c->outbound ? "out" : "in"),
		  KV_S("addr", c->outbound ? NULL : taddr_fmt(&c->src, a, sizeof(a))),
		  KV_S("reason", ho_err_name(e)));
}

/* An inbound channel's first HELLO names its peer (not authenticated yet):
 * it must be a configured peer's, sent from that peer's address, whose pair
 * key then checks the MAC.  1 c->peer set, 0 need more, -1 refused. */
static int hello_peer(struct chan *c)
{
	char nm[NASD_NAME_MAX], a[TADDR_STRLEN];
	enum ho_err e = ho_hello_name(c->rx, c->rx_len, nm, sizeof(nm));

	if (e == HO_E_SHORT)
		return 0;
	if (e != HO_OK) {
		bad_frame(c, e);
		c->h->rej_frame++;
		return -1;
	}
	int i = peer_index(c->h, nm);
	if (i < 0 || !taddr_equal(&c->h->cfg->peers[i].addr, &c->src)) {
		log_event(LOG_WARNING, "channel_refused", KV_S("addr", taddr_fmt(&c->src, a, sizeof(a))),
			  KV_S("peer", nm), KV_S("reason", i < 0 ? "not a configured peer" :
						      "not the peer's configured address"));
		c->h->rej_hello++;
		return -1;
	}
	c->peer = i;
	return 1;
}

/* Next whole frame in c->rx: 1 (h, body, *total), 0 need more, -1 bad. */
static int chan_frame(struct chan *c, struct ho_hdr *hd, const uint8_t **body, size_t *total)
{
	if (c->peer < 0) {
		int r = hello_peer(c);
		if (r <= 0)
			return r;
	}
	enum ho_err e = ho_parse(c->rx, c->rx_len, chan_key(c), c->rx_seq,
				 c->state == CH_UP ? HO_MAX_FRAME : HO_HELLO_MAX, hd, body, total);

	if (e == HO_E_SHORT)
		return 0;
	if (e != HO_OK) {
		bad_frame(c, e);
		if (e == HO_E_MAC)
			c->h->rej_mac++;
		else if (e == HO_E_SEQ)
			c->h->rej_seq++;
		else
			c->h->rej_frame++;
		return -1;
	}
	c->rx_seq++;
	return 1;
}

/* Take a frame out of c->rx; a buffer grown for a large frame shrinks back
 * (an idle channel keeps at most CHAN_RX_KEEP). */
static void chan_consume(struct chan *c, size_t total)
{
	memmove(c->rx, c->rx + total, c->rx_len - total);
	c->rx_len -= total;
	if (c->rx_cap > CHAN_RX_KEEP && c->rx_len <= CHAN_RX_KEEP / 2) {
		uint8_t *nb = realloc(c->rx, CHAN_RX_KEEP);
		if (nb) {
			c->rx = nb;
			c->rx_cap = CHAN_RX_KEEP;
		}
	}
}

/* The records of a HELLO: the name (must be c's peer's), the nonce, the
 * echo of ours; a record c's step does not need must be absent.  0 / -1. */
static int hello_records(struct chan *c, const uint8_t *body, size_t blen, int want_name,
			 int want_echo)
{
	uint8_t *name = NULL, *nonce = NULL, *echo = NULL;
	size_t nl = 0, nn = 0, ne = 0;
	int rc = -1;

	if (ho_collect(body, blen, HO_R_NODE, NASD_NAME_MAX - 1, &name, &nl) < 0 ||
	    ho_collect(body, blen, HO_R_NONCE, HO_NONCE_LEN, &nonce, &nn) < 0 ||
	    ho_collect(body, blen, HO_R_ECHO, HO_NONCE_LEN, &echo, &ne) < 0)
		goto out;
	if (want_name && (nl != strlen(peer_name(c)) || memcmp(name, peer_name(c), nl) ||
			  nn != HO_NONCE_LEN)) {
		char as[NASD_NAME_MAX];
		snprintf(as, sizeof(as), "%.*s", (int)nl, name ? (char *)name : "");
		log_event(LOG_WARNING, "channel_refused", KV_S("peer", peer_name(c)), KV_S("as", as),
			  KV_S("reason", "the peer answers under another name"));
		goto out;
	}
	if ((!want_name && (nl || nn)) || (want_echo ? ne != HO_NONCE_LEN ||
	    memcmp(echo, c->my_nonce, HO_NONCE_LEN) : ne != 0))
		goto out;
	if (want_name)
		memcpy(c->peer_nonce, nonce, HO_NONCE_LEN);
	rc = 0;
out:
	free(name);
	free(nonce);
	free(echo);
	return rc;
}

static void chan_up(struct chan *c)
{
	struct handoff *h = c->h;

	c->state = CH_UP;
	h->channels_opened++;
	log_event(LOG_INFO, "channel_up", KV_S("peer", peer_name(c)),
		  KV_S("direction", c->outbound ? "out" : "in"));
	if (c->outbound)
		return;
	/* the peer keeps one channel to us: more up means it reconnected and the
	 * older ones are dead (a peer that rebooted sent no FIN): keep the
	 * newest CHAN_UP_PER_PEER (h->in is newest first) */
	unsigned up = 0;
	for (struct chan *o = h->in, *next; o; o = next) {
		next = o->next;
		if (o->peer == c->peer && o->state == CH_UP && ++up > CHAN_UP_PER_PEER)
			chan_close(o, "replaced by newer channels from the peer");
	}
}

/* A HELLO arrived on c (the handshake's step for c's side and state).
 * 0, or -1 (close). */
static int on_hello(struct chan *c, const uint8_t *body, size_t blen)
{
	struct handoff *h = c->h;
	int rc = -1;

	if (c->outbound) {	/* the accepting side's answer: name, nonce, our nonce */
		if (hello_records(c, body, blen, 1, 1) < 0)
			goto out;
		ho_channel_key(&h->pair[c->peer], c->my_nonce, c->peer_nonce, &c->key);
		chan_up(c);
		rc = send_hello(c);	/* the key confirmation */
	} else if (c->state == CH_HELLO) {	/* the connecting side's name and nonce */
		if (hello_records(c, body, blen, 1, 0) < 0)
			goto out;
		ho_channel_key(&h->pair[c->peer], c->peer_nonce, c->my_nonce, &c->key);
		rc = send_hello(c);
		c->state = CH_CONFIRM;
	} else {		/* CH_CONFIRM: under the channel key, our nonce */
		if (hello_records(c, body, blen, 0, 1) < 0)
			goto out;
		chan_up(c);
		rc = 0;
	}
out:
	if (rc < 0)
		h->rej_hello++;
	return rc;
}

static void chan_io(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct chan *c = io->arg;

	if (c->state == CH_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);
		getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err) {
			chan_close(c, NULL);	/* retried by the tick */
			return;
		}
		c->state = CH_HELLO;
		if (send_hello(c) < 0) {
			chan_close(c, "HELLO not sent");
			return;
		}
		chan_watch(c, EPOLLIN);
		return;
	}
	if ((events & EPOLLOUT) && chan_flush(c) < 0) {
		chan_close(c, "send failed");
		return;
	}
	if (chan_read(c) < 0) {
		chan_close(c, "connection closed");
		return;
	}
	for (;;) {
		struct ho_hdr hd;
		const uint8_t *body;
		size_t total;
		int r = chan_frame(c, &hd, &body, &total);
		if (r == 0)
			return;
		if (r < 0) {
			chan_close(c, "bad frame");
			return;
		}
		if (c->state != CH_UP) {
			if (hd.type != HO_T_HELLO || on_hello(c, body, hd.body_len) < 0) {
				chan_close(c, "bad HELLO");
				return;
			}
		} else if (c->outbound) {
			/* our own transactions' answers (outgoing.c) */
			otx_frame(c, &hd, body, hd.body_len);
			if (c->broken) {	/* a send of the step failed */
				chan_close(c, "send failed");
				return;
			}
		} else {
			serve_frame(c, &hd, body, hd.body_len);
			/* serve_frame may have closed c?  It never does: errors are
			 * answered with FAIL; a failed send is noticed on the next read */
		}
		chan_consume(c, total);
	}
}

/* May a channel from src be accepted now?  Only from a configured peer's
 * address, with room under the limits (refusals counted). */
static int accept_ok(struct handoff *h, const struct taddr *src)
{
	unsigned all = 0, pending = 0, peer = 0;

	for (unsigned i = 0; i < h->cfg->npeers && !peer; i++)
		peer = taddr_equal(&h->cfg->peers[i].addr, src);
	if (!peer) {
		h->rej_addr++;
		return 0;
	}
	for (const struct chan *c = h->in; c; c = c->next) {
		all++;
		pending += c->state != CH_UP && taddr_equal(&c->src, src);
	}
	if (all >= CHAN_MAX_IN || pending >= CHAN_PENDING_PER_SRC) {
		h->rej_limit++;
		return 0;
	}
	return 1;
}

void chan_expire(struct handoff *h)
{
	uint64_t now = loop_now_ms();

	for (struct chan *c = h->in, *next; c; c = next) {
		next = c->next;
		if (c->state != CH_UP && now - c->t0_ms > CHAN_HELLO_MS) {
			h->rej_deadline++;
			chan_close(c, "no handshake in time");
		} else if (c->tx_len && now - c->tx_moved_ms > CHAN_TX_STALL_MS) {
			chan_close(c, "output stalled");
		}
	}
	for (unsigned i = 0; i < h->cfg->npeers; i++)
		if (h->out[i] && h->out[i]->tx_len && now - h->out[i]->tx_moved_ms > CHAN_TX_STALL_MS)
			chan_close(h->out[i], "output stalled");	/* the tick reconnects */
	for (unsigned i = 0; i < h->cfg->npeers; i++)
		if (h->out[i] && h->out[i]->state != CH_UP && now - h->out[i]->t0_ms > CHAN_HELLO_MS)
			chan_close(h->out[i], "no handshake in time");	/* the tick reconnects */
}

void chan_accept(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct handoff *h = io->arg;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct taddr src;
	uint16_t port;
	int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (taddr_from_sockaddr(&ss, &src, &port) < 0 || !accept_ok(h, &src)) {
		close(fd);	/* at once: nothing read, nothing allocated */
		return;
	}
	tcp_nodelay(fd);
	struct chan *c = chan_new(h, fd, 0, -1);
	if (!c) {
		close(fd);
		return;
	}
	c->src = src;
	c->state = CH_HELLO;
	c->next = h->in;
	h->in = c;
	chan_watch(c, EPOLLIN);
}
