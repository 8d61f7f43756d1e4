/*
 * nfs_conn.c - the NFS service's client connections on nasd's event loop
 * (doc/nasd.md "NFS"): reading, record marking, writing replies, and which
 * client networks a connection comes from.
 *
 * A connection is a byte stream of RPC records (oncrpc.h).  Its state
 * between two events is only: the stream bytes received and not yet
 * answered (in[]), and the reply being written (out[]).  Calls are answered
 * one at a time, in order (nfs_call.c): a record is decoded only when the
 * previous reply has been handed to the kernel completely, so out[] holds
 * at most one reply (bounded by max_io + headers) and a client that does
 * not read stops being read (TCP backpressure, no unbounded queue).  File
 * system work is done synchronously in the loop, like the HTTP service's.
 * A client connection without traffic for idle_timeout_ms is closed
 * (nfs_conn_tick); who may connect at all is decided at accept
 * (nfs_server.c), before a connection has any buffer.
 */
#include "nfs_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/wire.h"
#include "storage/listen.h"

static size_t max_record(const struct nfs_server *s)
{
	return s->cfg->max_io + 4096;	/* a WRITE's data plus its header */
}

/* ---- client networks ---- */

/* Another node of the namespace (it forwards its clients' calls here; it
 * checked their networks). */
static int is_peer(const struct nfs_server *s, const struct sockaddr_storage *ss)
{
	for (unsigned i = 0; i < s->cfg->npeers; i++) {
		struct nasd_cidr c = { s->cfg->peers[i].addr,
				       (uint8_t)(s->cfg->peers[i].addr.family == 4 ? 32 : 128) };
		if (nasd_cidr_match(&c, ss))
			return 1;
	}
	return 0;
}

static int client_allowed(const struct nfs_server *s, const struct sockaddr_storage *ss)
{
	return nasd_cidr_list_match(s->cfg->clients, s->cfg->nclients, ss);
}

int nfs_conn_admissible(const struct nfs_server *s, const struct sockaddr_storage *ss, int *peer)
{
	*peer = is_peer(s, ss);
	return *peer || client_allowed(s, ss);
}

unsigned nfs_conns_from(const struct nfs_server *s, const struct sockaddr_storage *ss)
{
	uint8_t a[16], b[16];
	unsigned n = 0;

	nfs_drc_addr(ss, a);	/* the address alone, v4 as v4-mapped v6 */
	for (const struct nfs_conn *c = s->conns; c; c = c->next) {
		nfs_drc_addr(&c->peer, b);
		n += !memcmp(a, b, 16);
	}
	return n;
}

/* The peers or client networks changed (a cluster map): classify the open
 * connections again, so a node's forwarding connection accepted before
 * this node knew it as a peer is not refused from now on. */
void nfs_server_reclassify(struct nfs_server *s)
{
	for (struct nfs_conn *c = s->conns; c; c = c->next) {
		c->allowed = nfs_conn_admissible(s, &c->peer, &c->from_peer);
		c->acc_seq = 0;		/* its access is taken again at its next call */
	}
}

const char *nfs_peer_fmt(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
		snprintf(buf, len, "%s:%u", a, port);
	} else {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
		port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
		snprintf(buf, len, "[%s]:%u", a, port);
	}
	return buf;
}

/* ---- connections ---- */

void nfs_conn_forget(struct nfs_conn *c)
{
	struct nfs_server *s = c->srv;

	if (!c->paused)
		loop_del(&s->nasd->loop, &c->io);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	free(c->in);
	free(c->out);
	free(c);
}

void nfs_conn_close(struct nfs_conn *c, const char *why)
{
	char p[80];
	int fd = c->io.fd;

	log_debug("nfs conn %llu %s closed: %s (%llu calls)", (unsigned long long)c->id,
		  nfs_peer_fmt(&c->peer, p, sizeof(p)), why, (unsigned long long)c->calls);
	nfs_conn_forget(c);
	close(fd);
}

void nfs_conn_watch(struct nfs_conn *c)
{
	/* waiting for a forwarded call: nothing (errors and hangups still come);
	 * about to move home with whole calls buffered: nothing more to read */
	uint32_t ev = c->waiting || c->gids_wait_ms ? 0 : c->out_off < c->out_len ? EPOLLOUT :
		      c->held || !nfs_home_read_max(c, 1) ? 0 : EPOLLIN;

	if (ev != c->events && loop_mod(&c->srv->nasd->loop, &c->io, ev) == 0)
		c->events = ev;
}

/* The reply whose payload (len bytes) is in out[4, 4 + len): the record
 * mark in front, to be written from the start. */
void nfs_conn_framed(struct nfs_conn *c, size_t len)
{
	rpc_record_mark(c->out, (uint32_t)len);
	c->out_off = 0;
	c->out_len = len + 4;
	c->calls++;
	c->srv->st.replies++;
}

/* Write out[]; 1 when it is all written, 0 would block, -1 closed. */
static int flush_out(struct nfs_conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->io.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
	return 1;
}

/*
 * Answer the whole records in in[] while replies go out without blocking.
 * Returns -1 if the connection must close (record too big, send error).
 */
static int process(struct nfs_conn *c)
{
	struct nfs_server *s = c->srv;
	size_t consumed = 0;
	int rc = 0;

	/* No per-event budget: in[] is bounded (max_io + a few KiB of stream
	 * bytes), so the work per event is bounded already, and stopping early
	 * with whole records buffered would wait for an EPOLLIN that may never
	 * come. */
	for (;;) {
		size_t raw, rl;
		if (c->waiting)
			break;
		int f = flush_out(c);
		if (f < 0) {
			rc = -1;
			break;
		}
		if (f == 0 || c->held || nfs_home_boundary(c) || nfs_half_boundary(c))
			break;	/* held: the next call is for the node it moves to */
		int st = rpc_record_scan(c->in + consumed, c->in_len - consumed, max_record(s), &raw,
					 &rl);
		if (st == RPC_REC_TOO_BIG) {
			s->st.too_big++;
			log_warnx("nfs conn %llu: record over %zu bytes: closing",
				  (unsigned long long)c->id, max_record(s));
			rc = -1;
			break;
		}
		if (st == RPC_REC_MORE)
			break;
		if (nfs_gids_hold(c, c->in + consumed, raw))
			break;	/* run again when its caller's groups are in */
		s->st.records++;
		rpc_record_gather(c->in + consumed, raw, c->in + consumed);
		nfs_call_answer(c, c->in + consumed, rl);
		consumed += raw;
	}
	if (consumed) {
		memmove(c->in, c->in + consumed, c->in_len - consumed);
		c->in_len -= consumed;
	}
	if (rc == 0 && c->out_off < c->out_len && flush_out(c) < 0)
		rc = -1;
	return rc;
}

void nfs_conn_run(struct nfs_conn *c)
{
	if (process(c) < 0) {
		nfs_conn_close(c, "closed");
		return;
	}
	nfs_conn_watch(c);
}

static void conn_io(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct nfs_conn *c = io->arg;
	struct nfs_server *s = c->srv;
	/* in[] is read only when every whole record in it is answered; it
	 * holds one maximal record plus marks and the start of the next */
	size_t limit = max_record(s) + 4 * RPC_MAX_FRAGMENTS + 4096;

	c->last_ms = loop_now_ms();
	if (events & EPOLLIN) {
		if (c->in_cap - c->in_len < 65536 && c->in_cap < limit) {
			size_t nc = c->in_cap ? c->in_cap * 2 : 131072;
			if (nc > limit)
				nc = limit;
			uint8_t *p = realloc(c->in, nc);
			if (!p) {
				nfs_conn_close(c, "out of memory");
				return;
			}
			c->in = p;
			c->in_cap = nc;
		}
		if (c->in_len == c->in_cap) {
			nfs_conn_close(c, "input buffer full");	/* cannot happen: scan refuses first */
			return;
		}
		/* about to move home: not past the end of the record in progress */
		size_t want = nfs_home_read_max(c, c->in_cap - c->in_len);
		if (!want) {
			nfs_conn_run(c);
			return;
		}
		ssize_t r = recv(c->io.fd, c->in + c->in_len, want, MSG_DONTWAIT);
		if (r == 0) {
			nfs_conn_close(c, "EOF");
			return;
		}
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			nfs_conn_close(c, strerror(errno));
			return;
		}
		c->in_len += (size_t)r;
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		nfs_conn_close(c, "error/hangup");
		return;
	}
	nfs_conn_run(c);
}

/* A connection for a connected socket fd (non-blocking), registered for
 * EPOLLIN.  NULL on failure (fd left open, logged). */
struct nfs_conn *nfs_conn_new(struct nfs_server *s, int fd, const struct sockaddr_storage *ss)
{
	struct nfs_conn *c = calloc(1, sizeof(*c));

	if (c)
		c->out_cap = s->cfg->max_io + NFS_REPLY_SLACK;
	if (!c || !(c->out = malloc(c->out_cap))) {
		log_warnx("nfs: out of memory for a connection");
		free(c);
		return NULL;
	}
	c->srv = s;
	c->id = ++s->next_id;
	c->peer = *ss;
	c->allowed = nfs_conn_admissible(s, ss, &c->from_peer);
	if (c->from_peer)
		s->st.from_peers++;
	/* replies of pipelined calls must not wait for the client's delayed
	 * ACK (storage/listen.h); a restored socket has it from libtch too */
	tcp_nodelay(fd);
	c->io.fd = fd;
	c->io.cb = conn_io;
	c->io.arg = c;
	c->started_ms = c->last_ms = loop_now_ms();
	c->events = EPOLLIN;
	if (loop_add(&s->nasd->loop, &c->io, EPOLLIN) < 0) {
		log_warn("nfs: epoll");
		free(c->out);
		free(c);
		return NULL;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	s->st.conns_total++;
	return c;
}

void nfs_conn_tick(struct nfs_server *s)
{
	uint64_t now = loop_now_ms();
	struct nfs_conn *c = s->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->from_peer || c->waiting || c->paused || c->held ||
		    now - c->last_ms < s->cfg->idle_timeout_ms)
			continue;
		s->st.idle_closed++;
		nfs_conn_close(c, "idle");
	}
}

struct nfs_conn *nfs_conn_by_id(struct nfs_server *s, uint64_t id)
{
	for (struct nfs_conn *c = s->conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

void nfs_conn_reply(struct nfs_conn *c, const uint8_t *reply, size_t len)
{
	c->waiting = 0;
	if (len + 4 > c->out_cap) {
		struct xdr_enc e;
		xdr_enc_init(&e, c->out + 4, c->out_cap - 4);
		rpc_reply_accepted(&e, len >= 4 ? wire_get32(reply) : 0, RPC_SYSTEM_ERR);
		len = e.len;
	} else {
		memcpy(c->out + 4, reply, len);
	}
	nfs_conn_framed(c, len);
	c->last_ms = loop_now_ms();
	nfs_conn_run(c);
}
