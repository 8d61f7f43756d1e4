/*
 * channel.c - the handoff engine's node-to-node channels (handoff_int.h
 * draws the protocol): one persistent TCP connection to every peer and
 * the ones the peers open to us; HELLO under the shared key, then frames
 * under the channel's key with seq = previous + 1 (lib/handoff_wire.h).
 * Inbound channels carry the peers' transactions to incoming.c from the
 * event loop; an outbound one carries this node's own transaction,
 * read synchronously by outgoing.c through chan_wait.
 */
#include "handoff_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

/* Seal and send frame f on c (HELLO under the shared key). */
int chan_send(struct chan *c, struct ho_frame *f)
{
	const struct ho_key *k = c->state == CH_UP ? &c->key : &c->h->shared;
	size_t len = ho_seal(f, k, c->tx_seq);
	int rc = -1;

	if (len && send_all(c->io.fd, f->buf, len, MSG_DONTWAIT, (int)c->h->cfg->timeout_ms, NULL) == 0) {
		c->tx_seq++;
		rc = 0;
	}
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

static int send_hello(struct chan *c)
{
	struct ho_frame f;
	const char *me = c->h->n->cfg.node_name;

	memset(&f, 0, sizeof(f));
	ho_begin(&f, HO_T_HELLO, 0);
	ho_add(&f, HO_R_NODE, me, strlen(me));
	ho_add(&f, HO_R_NONCE, c->my_nonce, HO_NONCE_LEN);
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
	int one = 1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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

	if (c->state == CH_UP || (why && c->state == CH_HELLO))
		log_info("handoff: channel %s %s closed: %s", c->outbound ? "to" : "from", peer_name(c),
			 why ? why : "");
	if (why)
		h->channel_errors += c->state == CH_UP;
	intx_abandon(h, c);	/* the old node rolls back */
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
	free(c);
}

/* Read what the socket has into c->rx.  1 read something, 0 nothing (EAGAIN),
 * -1 EOF/error. */
static int chan_read(struct chan *c)
{
	int got = 0;

	for (;;) {
		if (c->rx_cap - c->rx_len < 65536) {
			size_t nc = c->rx_cap ? c->rx_cap * 2 : 131072;
			if (nc > RX_MAX + 65536)
				nc = RX_MAX + 65536;
			if (nc <= c->rx_cap)
				return -1;	/* more than a frame buffered: a broken peer */
			uint8_t *nb = realloc(c->rx, nc);
			if (!nb)
				return -1;
			c->rx = nb;
			c->rx_cap = nc;
		}
		ssize_t r = recv(c->io.fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, MSG_DONTWAIT);
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

/* Next whole frame in c->rx: 1 (h, body, *total), 0 need more, -1 bad. */
static int chan_frame(struct chan *c, struct ho_hdr *hd, const uint8_t **body, size_t *total)
{
	const struct ho_key *k = c->state == CH_UP ? &c->key : &c->h->shared;
	enum ho_err e = ho_parse(c->rx, c->rx_len, k, c->rx_seq, hd, body, total);

	if (e == HO_E_SHORT)
		return 0;
	if (e != HO_OK) {
		log_warnx("handoff: channel %s %s: bad frame (%s)", c->outbound ? "to" : "from",
			  peer_name(c), ho_err_name(e));
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

static void chan_consume(struct chan *c, size_t total)
{
	memmove(c->rx, c->rx + total, c->rx_len - total);
	c->rx_len -= total;
}

/* A HELLO arrived on c.  0, or -1 (close). */
static int on_hello(struct chan *c, const uint8_t *body, size_t blen)
{
	uint8_t *name = NULL, *nonce = NULL;
	size_t nl = 0, nn = 0;
	char nm[NASD_NAME_MAX];
	int rc = -1;

	if (ho_collect(body, blen, HO_R_NODE, NASD_NAME_MAX - 1, &name, &nl) < 0 || !nl ||
	    ho_collect(body, blen, HO_R_NONCE, HO_NONCE_LEN, &nonce, &nn) < 0 || nn != HO_NONCE_LEN)
		goto out;
	memcpy(nm, name, nl);
	nm[nl] = '\0';
	memcpy(c->peer_nonce, nonce, HO_NONCE_LEN);
	if (c->outbound) {
		if (strcmp(nm, peer_name(c))) {
			log_warnx("handoff: %s answers as \"%s\"", peer_name(c), nm);
			goto out;
		}
		ho_channel_key(&c->h->shared, c->my_nonce, c->peer_nonce, &c->key);
	} else {
		int i = peer_index(c->h, nm);
		if (i < 0) {
			log_warnx("handoff: HELLO from unknown node \"%s\"", nm);
			goto out;
		}
		c->peer = i;
		if (send_hello(c) < 0)
			goto out;
		ho_channel_key(&c->h->shared, c->peer_nonce, c->my_nonce, &c->key);
	}
	c->state = CH_UP;
	c->h->channels_opened++;
	log_info("handoff: channel %s %s up", c->outbound ? "to" : "from", nm);
	rc = 0;
out:
	if (rc < 0)
		c->h->rej_hello++;
	free(name);
	free(nonce);
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
			/* our own transactions are read synchronously; anything here is
			 * late (a transaction we gave up): ignore it */
			log_debug("handoff: late frame type %u tx %u from %s", hd.type, hd.txid, peer_name(c));
		} else {
			serve_frame(c, &hd, body, hd.body_len);
			/* serve_frame may have closed c?  It never does: errors are
			 * answered with FAIL; a failed send is noticed on the next read */
		}
		chan_consume(c, total);
	}
}

void chan_accept(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct handoff *h = io->arg;
	int one = 1;
	int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct chan *c = chan_new(h, fd, 0, -1);
	if (!c) {
		close(fd);
		return;
	}
	c->state = CH_HELLO;
	c->next = h->in;
	h->in = c;
	chan_watch(c, EPOLLIN);
}

/* Wait for the next frame of transaction txid on outbound channel c.  1 with
 * the frame (*type; body copied into *body, caller frees), 0 timeout, -1 the
 * channel failed (closed: c is gone). */
int chan_wait(struct chan *c, uint32_t txid, int timeout_ms, uint8_t *type,
		     uint8_t **body, size_t *blen)
{
	uint64_t end = now_ns() + (uint64_t)timeout_ms * 1000000;

	for (;;) {
		struct ho_hdr hd;
		const uint8_t *b;
		size_t total;
		int r = chan_frame(c, &hd, &b, &total);
		if (r < 0) {
			chan_close(c, "bad frame");
			return -1;
		}
		if (r > 0) {
			if (hd.txid == txid) {
				*type = hd.type;
				*blen = hd.body_len;
				*body = malloc(hd.body_len ? hd.body_len : 1);
				if (*body)
					memcpy(*body, b, hd.body_len);
				chan_consume(c, total);
				if (!*body) {
					chan_close(c, "out of memory");
					return -1;
				}
				return 1;
			}
			chan_consume(c, total);	/* a late frame of an earlier transaction */
			continue;
		}
		spin_readable(c->io.fd, c->h->cfg->spin_us);
		int64_t left = (int64_t)(end - now_ns()) / 1000000;
		struct pollfd pf = { .fd = c->io.fd, .events = POLLIN };
		if (left <= 0)
			return 0;
		int pr = poll(&pf, 1, (int)left);
		if (pr < 0 && errno != EINTR) {
			chan_close(c, "poll");
			return -1;
		}
		if (pr > 0 && chan_read(c) < 0) {
			chan_close(c, "connection closed");
			return -1;
		}
	}
}
