/*
 * nfs_proxy.c - one namespace over several nodes: calls
 * whose handle belongs to another node (its node id in the handle), and
 * LOOKUP/MNT of a top-level directory homed elsewhere, are forwarded to that
 * node and its reply relayed to the client.
 *
 * One TCP connection per peer (its NFS port on its own storage address),
 * opened on first use and again after a failure.  A forwarded call keeps
 * its credential and arguments byte for byte; only the xid is rewritten (a
 * per-server counter, so calls of many clients share the connection) and
 * restored in the reply.  The client's connection reads nothing more until
 * the reply comes (calls are answered in order, as for local calls).  A
 * peer that fails or does not answer within proxy_timeout_ms: every call
 * waiting on it is answered NFS3ERR_JUKEBOX (the client retries later;
 * MOUNT: SYSTEM_ERR) and the connection is closed.
 */
#include "nfs_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/wire.h"
#include "storage/listen.h"

#define UP_QUEUE_MAX (8u << 20)		/* bytes queued to one peer */

struct nfs_pending {
	struct nfs_pending *next;
	uint32_t up_xid, xid, prog, proc;
	size_t call_len;	/* the forwarded call's bytes (data location) */
	uint64_t conn_id, deadline_ms;
	nfs_proxy_cb cb;	/* nfs_proxy_call: the reply goes here, not to a connection */
	void *arg;
};

struct nfs_upstream {
	struct loop_io io;
	struct nfs_server *srv;
	unsigned peer;		/* index into cfg->peers */
	int state;		/* 0 closed, 1 connecting, 2 up */
	uint32_t events;
	uint8_t *out;
	size_t out_off, out_len, out_cap;
	uint8_t *in;
	size_t in_len, in_cap;
	struct nfs_pending *pending;
};

uint8_t nfs_home_of(const struct nfs_server *s, const uint8_t *name, size_t len)
{
	for (unsigned i = 0; i < s->cfg->nhomes; i++)
		if (strlen(s->cfg->homes[i].dir) == len && !memcmp(s->cfg->homes[i].dir, name, len))
			return s->cfg->homes[i].node_id;
	return 0;
}

/* The reply to a call whose peer failed or did not answer in time. */
static void answer_error(struct nfs_server *s, uint64_t conn_id, uint32_t xid, uint32_t prog,
			 uint32_t proc)
{
	struct nfs_conn *c = nfs_conn_by_id(s, conn_id);
	uint8_t buf[128];
	struct xdr_enc e;

	if (!c || !c->waiting)
		return;
	s->st.forward_errors++;
	xdr_enc_init(&e, buf, sizeof(buf));
	if (prog == NFS3_PROG && proc != NFS3_NULL && proc < NFS3_NPROC) {
		rpc_reply_accepted(&e, xid, RPC_SUCCESS);
		nfs3_put_error(&e, proc, NFS3ERR_JUKEBOX);
	} else {
		rpc_reply_accepted(&e, xid, RPC_SYSTEM_ERR);
	}
	nfs_conn_reply(c, buf, e.len);
}

static void up_close(struct nfs_upstream *u, const char *why)
{
	struct nfs_server *s = u->srv;
	char a[TADDR_STRLEN];

	if (u->state) {
		log_info("nfs proxy: node %u (%s): %s", s->cfg->peers[u->peer].node_id,
			 taddr_fmt(&s->cfg->peers[u->peer].addr, a, sizeof(a)), why);
		loop_del(&s->nasd->loop, &u->io);
		close(u->io.fd);
	}
	u->state = 0;
	u->out_off = u->out_len = u->in_len = 0;
	/* detached first: answering a client runs its next calls, which may
	 * forward again (to a new connection of this upstream) */
	struct nfs_pending *list = u->pending;
	u->pending = NULL;
	while (list) {
		struct nfs_pending *p = list;
		list = p->next;
		if (p->cb)
			p->cb(s, p->arg, NULL, 0);
		else
			answer_error(s, p->conn_id, p->xid, p->prog, p->proc);
		free(p);
	}
}

static void up_watch(struct nfs_upstream *u)
{
	uint32_t ev = EPOLLIN | (u->state == 1 || u->out_off < u->out_len ? EPOLLOUT : 0);

	if (ev != u->events && loop_mod(&u->srv->nasd->loop, &u->io, ev) == 0)
		u->events = ev;
}

static int up_flush(struct nfs_upstream *u)
{
	while (u->out_off < u->out_len) {
		ssize_t w = send(u->io.fd, u->out + u->out_off, u->out_len - u->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -1;
		}
		u->out_off += (size_t)w;
	}
	u->out_off = u->out_len = 0;
	return 0;
}

static void up_replies(struct nfs_upstream *u)
{
	struct nfs_server *s = u->srv;
	size_t off = 0, raw, rl;

	for (;;) {
		int st = rpc_record_scan(u->in + off, u->in_len - off,
					 s->cfg->max_io + 65536 + 4096, &raw, &rl);
		if (st == RPC_REC_TOO_BIG) {
			up_close(u, "reply too big");
			return;
		}
		if (st != RPC_REC_WHOLE)
			break;
		uint8_t *rec = u->in + off;
		rpc_record_gather(rec, raw, rec);
		off += raw;
		if (rl < 4)
			continue;
		uint32_t up_xid = wire_get32(rec);
		struct nfs_pending **pp = &u->pending;
		while (*pp && (*pp)->up_xid != up_xid)
			pp = &(*pp)->next;
		if (!*pp)
			continue;	/* late: its caller already had JUKEBOX */
		struct nfs_pending *p = *pp;
		*pp = p->next;
		if (p->cb) {
			nfs_proxy_cb cb = p->cb;
			void *arg = p->arg;
			free(p);
			cb(s, arg, rec, rl);	/* may send again, never closes u */
			if (!u->state)
				return;
			continue;
		}
		struct nfs_conn *c = nfs_conn_by_id(s, p->conn_id);
		wire_put32(rec, p->xid);
		if (c && c->waiting && p->prog == NFS3_PROG && (p->proc == NFS3_READ || p->proc == NFS3_WRITE))
			nfs_home_forwarded(s, c, u->peer, rl + p->call_len);	/* data location */
		free(p);
		if (c && c->waiting) {
			nfs_conn_reply(c, rec, rl);	/* may forward again, or close u */
			if (!u->state)
				return;
		}
	}
	if (off) {
		memmove(u->in, u->in + off, u->in_len - off);
		u->in_len -= off;
	}
}

static void up_io(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct nfs_upstream *u = io->arg;

	if (u->state == 1 && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t el = sizeof(err);
		if (getsockopt(u->io.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			up_close(u, err ? strerror(err) : "connect failed");
			return;
		}
		u->state = 2;
	}
	if ((events & EPOLLOUT) && up_flush(u) < 0) {
		up_close(u, strerror(errno));
		return;
	}
	if (events & EPOLLIN) {
		if (u->in_cap - u->in_len < 65536) {
			size_t nc = u->in_cap ? u->in_cap * 2 : 262144;
			uint8_t *p = realloc(u->in, nc);
			if (!p) {
				up_close(u, "out of memory");
				return;
			}
			u->in = p;
			u->in_cap = nc;
		}
		ssize_t r = recv(u->io.fd, u->in + u->in_len, u->in_cap - u->in_len, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
			up_close(u, r == 0 ? "closed by the peer" : strerror(errno));
			return;
		}
		if (r > 0) {
			u->in_len += (size_t)r;
			up_replies(u);
			if (!u->state)
				return;
		}
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		up_close(u, "error/hangup");
		return;
	}
	up_watch(u);
}

static int up_connect(struct nfs_upstream *u)
{
	struct nfs_server *s = u->srv;
	struct sockaddr_storage ss;
	socklen_t sl = taddr_sockaddr(&s->cfg->peers[u->peer].addr, s->cfg->peers[u->peer].port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	tcp_nodelay(fd);	/* many clients' calls share it: see storage/listen.h */
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	u->io.fd = fd;
	u->io.cb = up_io;
	u->io.arg = u;
	u->events = EPOLLIN | EPOLLOUT;
	if (loop_add(&s->nasd->loop, &u->io, u->events) < 0) {
		close(fd);
		return -1;
	}
	u->state = 1;
	return 0;
}

/* Queue one call (payload rec, its xid rewritten) to node_id.  The new
 * pending entry, or NULL (unknown node, connect failed, queue full). */
/* Queue rec[0, rec_len) for node_id; with call and f (a client's call),
 * its verifier replaced by f's (oncrpc.h RPC_AUTH_TANDEM_FWD). */
static struct nfs_pending *queue_call(struct nfs_server *s, uint8_t node_id, const uint8_t *rec,
				      size_t rec_len, const struct rpc_call *call,
				      const struct rpc_fwd *f)
{
	struct nfs_upstream *u;
	unsigned i;

	for (i = 0; i < s->cfg->npeers; i++)
		if (s->cfg->peers[i].node_id == node_id)
			break;
	if (i == s->cfg->npeers || rec_len < 4 || s->closing)
		return NULL;
	if (!(u = s->ups[i])) {
		if (!(u = calloc(1, sizeof(*u))))
			return NULL;
		u->srv = s;
		u->peer = i;
		s->ups[i] = u;
	}
	if (!u->state && up_connect(u) < 0) {
		log_warn("nfs proxy: connect to node %u", node_id);
		return NULL;
	}
	size_t need = u->out_len + 4 + rec_len + (f ? RPC_FWD_VERF_LEN : 0);
	if (need > UP_QUEUE_MAX)
		return NULL;
	if (need > u->out_cap) {
		size_t nc = u->out_cap ? u->out_cap : 262144;
		while (nc < need)
			nc *= 2;
		uint8_t *p = realloc(u->out, nc);
		if (!p)
			return NULL;
		u->out = p;
		u->out_cap = nc;
	}
	struct nfs_pending *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->up_xid = ++s->next_up_xid;
	p->deadline_ms = loop_now_ms() + s->cfg->proxy_timeout_ms;
	p->next = u->pending;
	u->pending = p;
	long l = f ? rpc_call_set_fwd(rec, rec_len, call, f, u->out + u->out_len + 4,
				      u->out_cap - u->out_len - 4) : -1;
	if (l < 0) {
		memcpy(u->out + u->out_len + 4, rec, rec_len);
		l = (long)rec_len;
	}
	rpc_record_mark(u->out + u->out_len, (uint32_t)l);
	wire_put32(u->out + u->out_len + 4, p->up_xid);
	u->out_len += 4 + (size_t)l;
	/* Written from up_io only: a failure here would answer a call while its
	 * connection is still inside its own processing. */
	up_watch(u);
	return p;
}

int nfs_proxy_forward(struct nfs_req *r, uint8_t node_id)
{
	struct nfs_pending *p;

	if (r->dg)
		return nfs_udp_forward(r, node_id);	/* a MNT that came by UDP */
	if (r->c->from_peer)
		return -1;	/* never forward a forwarded call (no loops) */
	/* the client's group as this node sees it goes with the call: the home
	 * node squashes by it (a peer's connection is the peer's, not the
	 * client's) */
	struct rpc_fwd f = {
		.flags = (r->acc->writable ? RPC_FWD_WRITABLE : 0) |
			 (r->acc->root_squash ? RPC_FWD_ROOT_SQUASH : 0),
		.anonuid = r->acc->anonuid, .anongid = r->acc->anongid,
		.group = r->acc->group < 0 ? 0xffffffffu : (uint32_t)r->acc->group,
	};
	if (!(p = queue_call(r->srv, node_id, r->rec, r->rec_len, r->call, &f)))
		return -1;
	p->xid = r->call->xid;
	p->prog = r->call->prog;
	p->proc = r->call->proc;
	p->call_len = r->rec_len;
	p->conn_id = r->c->id;
	r->c->waiting = 1;
	r->srv->st.forwarded++;
	return 0;
}

int nfs_proxy_call(struct nfs_server *s, uint8_t node_id, const uint8_t *call, size_t len,
		   nfs_proxy_cb cb, void *arg)
{
	struct nfs_pending *p = queue_call(s, node_id, call, len, NULL, NULL);

	if (!p)
		return -1;
	p->cb = cb;
	p->arg = arg;
	return 0;
}

void nfs_proxy_tick(struct nfs_server *s)
{
	uint64_t now = loop_now_ms();

	for (unsigned i = 0; i < s->cfg->npeers; i++) {
		struct nfs_upstream *u = s->ups[i];
		if (!u)
			continue;
		for (struct nfs_pending *p = u->pending; p; p = p->next)
			if (p->deadline_ms <= now) {
				up_close(u, "no answer in time");
				break;
			}
	}
}

void nfs_proxy_close(struct nfs_server *s)
{
	s->closing = 1;
	for (unsigned i = 0; i < 16; i++) {
		if (!s->ups[i])
			continue;
		up_close(s->ups[i], "shutdown");
		free(s->ups[i]->in);
		free(s->ups[i]->out);
		free(s->ups[i]);
		s->ups[i] = NULL;
	}
}

void nfs_proxy_reset(struct nfs_server *s, uint32_t changed)
{
	struct nfs_upstream *gone[16];
	unsigned ng = 0;

	/* detached first: answering a waiting call runs its connection's next
	 * calls, which may forward again and must then find a new upstream */
	for (unsigned i = 0; i < 16; i++)
		if ((changed >> i & 1) && s->ups[i]) {
			gone[ng++] = s->ups[i];
			s->ups[i] = NULL;
		}
	for (unsigned i = 0; i < ng; i++) {
		up_close(gone[i], "peer changed by the cluster map");
		free(gone[i]->in);
		free(gone[i]->out);
		free(gone[i]);
	}
}
