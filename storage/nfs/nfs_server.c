/*
 * nfs_server.c - the NFS service's connections on nasd's event loop
 * (doc/nasd.md "NFS").
 *
 * A connection is a byte stream of RPC records (lib/oncrpc).  Its state
 * between two events is only: the stream bytes received and not yet
 * answered (in[]), and the reply being written (out[]).  Calls are answered
 * one at a time, in order: a record is decoded only when the previous reply
 * has been handed to the kernel completely, so out[] holds at most one reply
 * (bounded by max_io + headers) and a client that does not read stops being
 * read (TCP backpressure, no unbounded queue).  File system work is done
 * synchronously in the loop, like the HTTP service's.
 *
 * Every listener answers every program (portmapper, MOUNT, NFS): clients
 * find MOUNT and NFS on 2049 through the portmapper on 111, so a VIP needs
 * only those two ports.
 */
#include "nfs_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/ctl.h"
#include "lib/log.h"
#include "lib/wire.h"
#include "storage/listen.h"

#define NFS_REPLY_SLACK 65536	/* reply headers, attributes, READDIR beyond max_io */

static json_t *ju(uint64_t v) { return json_integer((json_int_t)v); }

static size_t max_record(const struct nfs_server *s)
{
	return s->cfg->max_io + 4096;	/* a WRITE's data plus its header */
}

/* ---- client networks ---- */

static int cidr_match(const struct nasd_cidr *c, const struct sockaddr_storage *ss)
{
	const uint8_t *a;
	uint8_t v4[16];

	if (ss->ss_family == AF_INET) {
		if (c->addr.family != 4)
			return 0;
		a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *s6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(s6) && c->addr.family == 4) {
			memcpy(v4, s6->s6_addr + 12, 4);
			a = v4;
		} else if (c->addr.family == 6) {
			a = s6->s6_addr;
		} else {
			return 0;
		}
	} else {
		return 0;
	}
	unsigned full = c->plen / 8, rest = c->plen % 8;
	if (memcmp(a, c->addr.a, full))
		return 0;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));
		if ((a[full] & m) != (c->addr.a[full] & m))
			return 0;
	}
	return 1;
}

static int client_allowed(const struct nfs_server *s, const struct sockaddr_storage *ss)
{
	for (unsigned i = 0; i < s->cfg->nclients; i++)
		if (cidr_match(&s->cfg->clients[i], ss))
			return 1;
	return 0;
}

/* Another node of the namespace (it forwards its clients' calls here; it
 * checked their networks). */
static int is_peer(const struct nfs_server *s, const struct sockaddr_storage *ss)
{
	for (unsigned i = 0; i < s->cfg->npeers; i++) {
		struct nasd_cidr c = { s->cfg->peers[i].addr,
				       (uint8_t)(s->cfg->peers[i].addr.family == 4 ? 32 : 128) };
		if (cidr_match(&c, ss))
			return 1;
	}
	return 0;
}

/* The peers or client networks changed (a cluster map): classify the open
 * connections again, so a node's forwarding connection accepted before
 * this node knew it as a peer is not refused from now on. */
void nfs_server_reclassify(struct nfs_server *s)
{
	for (struct nfs_conn *c = s->conns; c; c = c->next) {
		c->from_peer = is_peer(s, &c->peer);
		c->allowed = c->from_peer || client_allowed(s, &c->peer);
	}
}

static const char *peer_fmt(const struct sockaddr_storage *ss, char *buf, size_t len)
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

static void conn_io(struct loop *l, struct loop_io *io, uint32_t events);

static void conn_close(struct nfs_conn *c, const char *why)
{
	struct nfs_server *s = c->srv;
	char p[80];

	log_debug("nfs conn %llu %s closed: %s (%llu calls)", (unsigned long long)c->id,
		  peer_fmt(&c->peer, p, sizeof(p)), why, (unsigned long long)c->calls);
	if (!c->paused)
		loop_del(&s->nasd->loop, &c->io);
	close(c->io.fd);
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

static void conn_watch(struct nfs_conn *c)
{
	/* waiting for a forwarded call: nothing (errors and hangups still come) */
	uint32_t ev = c->waiting ? 0 : c->out_off < c->out_len ? EPOLLOUT : c->held ? 0 : EPOLLIN;

	if (ev != c->events && loop_mod(&c->srv->nasd->loop, &c->io, ev) == 0)
		c->events = ev;
}

/* ---- duplicate request cache (nfs_int.h) ---- */

static void addr16(const struct sockaddr_storage *ss, uint8_t a[16])
{
	memset(a, 0, 16);
	if (ss->ss_family == AF_INET) {
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

static int drc_proc(const struct rpc_call *c)
{
	if (c->prog != NFS3_PROG || c->vers != NFS3_VERS)
		return 0;
	switch (c->proc) {
	case NFS3_SETATTR: case NFS3_CREATE: case NFS3_MKDIR: case NFS3_SYMLINK: case NFS3_MKNOD:
	case NFS3_REMOVE: case NFS3_RMDIR: case NFS3_RENAME: case NFS3_LINK:
		return 1;
	default:
		return 0;
	}
}

static uint64_t fnv64(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static struct nfs_drc_ent *drc_find(struct nfs_server *s, const uint8_t a[16], uint32_t xid,
				    uint32_t prog, uint32_t proc, uint64_t ahash)
{
	for (unsigned i = 0; i < NFS_DRC_SIZE; i++) {
		struct nfs_drc_ent *d = &s->drc[i];
		if (d->used && d->xid == xid && d->proc == proc && d->prog == prog &&
		    d->ahash == ahash && !memcmp(d->addr, a, 16))
			return d;
	}
	return NULL;
}

static void drc_put(struct nfs_server *s, const uint8_t a[16], uint32_t xid, uint32_t prog,
		    uint32_t proc, uint64_t ahash, const uint8_t *reply, size_t len)
{
	if (len > RPC_CONN_DRC_REPLY)
		return;
	struct nfs_drc_ent *d = drc_find(s, a, xid, prog, proc, ahash);
	if (!d) {
		d = &s->drc[s->drc_next];
		s->drc_next = (s->drc_next + 1) % NFS_DRC_SIZE;
	}
	d->used = 1;
	memcpy(d->addr, a, 16);
	d->xid = xid;
	d->prog = prog;
	d->proc = proc;
	d->ahash = ahash;
	d->len = (uint32_t)len;
	memcpy(d->reply, reply, len);
}

/* Answer one call (payload rec[0, len)) into c->out.  0, -1: no reply, 1:
 * forwarded (c->waiting; nfs_conn_reply() later). */
static int answer(struct nfs_conn *c, const uint8_t *rec, size_t len)
{
	struct nfs_server *s = c->srv;
	struct rpc_call call;
	struct xdr_enc e;
	char err[160];
	int rc;

	s->st.calls++;
	xdr_enc_init(&e, c->out + 4, c->out_cap - 4);
	enum rpc_dec d = rpc_call_decode(rec, len, &call, err, sizeof(err));
	if (d == RPC_DEC_DROP) {
		s->st.dropped++;
		log_debug("nfs conn %llu: %s (no reply)", (unsigned long long)c->id, err);
		return -1;
	}
	if (d != RPC_DEC_OK) {
		if (d == RPC_DEC_RPC_MISMATCH)
			s->st.rpc_mismatch++;
		else
			s->st.auth_errors++;
		log_debug("nfs conn %llu xid %#x: %s", (unsigned long long)c->id, call.xid, err);
		rpc_reply_for_dec(&e, call.xid, d);
	} else {
		struct nfs_req r = { .srv = s, .c = c, .call = &call, .args = rec + call.args_off,
				     .alen = len - call.args_off, .e = &e, .rec = rec, .rec_len = len };
		int cache = drc_proc(&call);
		uint8_t a16[16];
		uint64_t ah = 0;
		if (cache) {
			struct nfs_drc_ent *hit;
			addr16(&c->peer, a16);
			ah = fnv64(r.args, r.alen);
			if ((hit = drc_find(s, a16, call.xid, call.prog, call.proc, ah))) {
				/* a retransmission: the first answer again, not a second run */
				s->st.drc_hits++;
				memcpy(c->out + 4, hit->reply, hit->len);
				e.len = hit->len;
				goto send;
			}
		}
		switch (call.prog) {
		case NFS3_PROG:
			if (call.vers != NFS3_VERS) {
				s->st.prog_mismatch++;
				rc = rpc_reply_prog_mismatch(&e, call.xid, NFS3_VERS, NFS3_VERS);
			} else {
				rc = nfs3_call(&r);
			}
			break;
		case MOUNT_PROG:
			if (call.vers != MOUNT_VERS) {
				s->st.prog_mismatch++;
				rc = rpc_reply_prog_mismatch(&e, call.xid, MOUNT_VERS, MOUNT_VERS);
			} else {
				rc = mount3_call(&r);
			}
			break;
		case PMAP_PROG:
			if (call.vers != PMAP_VERS) {
				s->st.prog_mismatch++;
				rc = rpc_reply_prog_mismatch(&e, call.xid, PMAP_VERS, PMAP_VERS);
			} else {
				rc = portmap_call(&r);
			}
			break;
		default:
			s->st.prog_unavail++;
			rc = rpc_reply_accepted(&e, call.xid, RPC_PROG_UNAVAIL);
			break;
		}
		if (rc == NFS_FORWARDED)
			return 1;	/* the reply comes from the home node */
		if (rc < 0 || e.err) {
			log_warnx("nfs conn %llu xid %#x: reply does not fit: SYSTEM_ERR",
				  (unsigned long long)c->id, call.xid);
			xdr_enc_init(&e, c->out + 4, c->out_cap - 4);
			rpc_reply_accepted(&e, call.xid, RPC_SYSTEM_ERR);
		} else if (cache) {
			drc_put(s, a16, call.xid, call.prog, call.proc, ah, c->out + 4, e.len);
		}
	}
send:
	rpc_record_mark(c->out, (uint32_t)e.len);
	c->out_off = 0;
	c->out_len = e.len + 4;
	c->calls++;
	s->st.replies++;
	return 0;
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
		if (f == 0 || c->held)
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
		s->st.records++;
		rpc_record_gather(c->in + consumed, raw, c->in + consumed);
		answer(c, c->in + consumed, rl);
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
				conn_close(c, "out of memory");
				return;
			}
			c->in = p;
			c->in_cap = nc;
		}
		if (c->in_len == c->in_cap) {
			conn_close(c, "input buffer full");	/* cannot happen: scan refuses first */
			return;
		}
		ssize_t r = recv(c->io.fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (r == 0) {
			conn_close(c, "EOF");
			return;
		}
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_close(c, strerror(errno));
			return;
		}
		c->in_len += (size_t)r;
	} else if (events & (EPOLLERR | EPOLLHUP)) {
		conn_close(c, "error/hangup");
		return;
	}
	if (process(c) < 0) {
		conn_close(c, "closed");
		return;
	}
	conn_watch(c);
}

/* A connection for a connected socket fd (non-blocking), registered for
 * EPOLLIN.  NULL on failure (fd left open, logged). */
static struct nfs_conn *conn_new(struct nfs_server *s, int fd, const struct sockaddr_storage *ss)
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
	c->from_peer = is_peer(s, ss);
	c->allowed = c->from_peer || client_allowed(s, ss);
	if (c->from_peer)
		s->st.from_peers++;
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
	if (!c->allowed)
		s->st.refused++;
	return c;
}

static void accept_ready(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct nfs_listener *li = io->arg;
	struct nfs_server *s = li->srv;

	for (int i = 0; i < 32; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (s->nconns >= s->nasd->cfg.max_sessions) {
			/* the HTTP limit bounds NFS connections too (each holds up to
			 * 2 x max_io of buffers); the client retries */
			close(fd);
			continue;
		}
		struct nfs_conn *c = conn_new(s, fd, &ss);
		if (!c) {
			close(fd);
			continue;
		}
		if (!c->allowed)
			s->st.refused++;
	}
}

static int listen_one(struct nfs_listener *li)
{
	int fd = tcp_listen(&li->addr.addr, li->addr.port, 1024);

	if (fd < 0)
		return -1;
	li->io.fd = fd;
	li->io.cb = accept_ready;
	li->io.arg = li;
	return 0;
}

static int add_listener(struct nfs_server *s, const struct nasd_listen *a)
{
	struct nfs_listener *li = &s->ls[s->nls];
	char buf[TADDR_STRLEN];

	li->srv = s;
	li->addr = *a;
	if (listen_one(li) < 0) {
		log_warn("nfs: listen %s port %u", taddr_fmt(&a->addr, buf, sizeof(buf)), a->port);
		return -1;
	}
	if (loop_add(&s->nasd->loop, &li->io, EPOLLIN) < 0) {
		close(li->io.fd);
		return -1;
	}
	s->nls++;
	return 0;
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
	struct nfs_server *s = c->srv;

	c->waiting = 0;
	if (len + 4 > c->out_cap) {
		struct xdr_enc e;
		xdr_enc_init(&e, c->out + 4, c->out_cap - 4);
		rpc_reply_accepted(&e, len >= 4 ? wire_get32(reply) : 0, RPC_SYSTEM_ERR);
		len = e.len;
	} else {
		memcpy(c->out + 4, reply, len);
	}
	rpc_record_mark(c->out, (uint32_t)len);
	c->out_off = 0;
	c->out_len = len + 4;
	c->calls++;
	s->st.replies++;
	c->last_ms = loop_now_ms();
	if (process(c) < 0) {
		conn_close(c, "closed");
		return;
	}
	conn_watch(c);
}

void nfs_server_tick(struct nasd *n)
{
	if (n->nfs)
		nfs_proxy_tick(n->nfs);
}

int nfs_server_open(struct nasd *n)
{
	const struct nasd_nfs_config *cfg = &n->cfg.nfs;
	struct nfs_server *s;
	char err[256];

	if (!cfg->enabled)
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->nasd = n;
	s->cfg = cfg;
	s->dirfd = -1;
	n->nfs = s;
	if (!(s->drc = calloc(NFS_DRC_SIZE, sizeof(*s->drc))))
		return -1;
	if (keyfile_load(cfg->fh_key_file, s->key, &s->keylen, err, sizeof(err)) < 0) {
		log_warnx("nfs: %s", err);
		return -1;
	}
	wire_put64(s->wverf, loop_now_ns() ^ (uint64_t)getpid() << 48);
	if (nfs3_export_open(s) < 0)
		return -1;
	for (unsigned i = 0; i < cfg->nlisten; i++)
		if (add_listener(s, &cfg->listen[i]) < 0)
			return -1;
	for (unsigned i = 0; i < cfg->npmap; i++)
		if (add_listener(s, &cfg->pmap[i]) < 0)
			return -1;
	log_info("nfs: export %s -> %s (id %u, node id %u, %u client network(s), %u listener(s))",
		 cfg->export_name, cfg->path, cfg->export_id, cfg->node_id, cfg->nclients, s->nls);
	return 0;
}

void nfs_server_close(struct nasd *n)
{
	struct nfs_server *s = n->nfs;

	if (!s)
		return;
	while (s->conns)
		conn_close(s->conns, "shutdown");
	nfs_proxy_close(s);
	for (unsigned i = 0; i < s->nls; i++) {
		loop_del(&n->loop, &s->ls[i].io);
		close(s->ls[i].io.fd);
	}
	nfs3_export_close(s);
	free(s->drc);
	free(s);
	n->nfs = NULL;
}


json_t *nfs_status(struct nasd *n)
{
	static const char *const names[NFS3_NPROC] = {
		"null", "getattr", "setattr", "lookup", "access", "readlink", "read", "write",
		"create", "mkdir", "symlink", "mknod", "remove", "rmdir", "rename", "link",
		"readdir", "readdirplus", "fsstat", "fsinfo", "pathconf", "commit"
	};
	struct nfs_server *s = n->nfs;
	json_t *o, *p;

	if (!s)
		return json_null();
	o = json_object();
	p = json_object();
	json_object_set_new(o, "export", json_string(s->cfg->export_name));
	json_object_set_new(o, "path", json_string(s->cfg->path));
	json_object_set_new(o, "connections", ju(s->nconns));
	json_object_set_new(o, "connections_total", ju(s->st.conns_total));
	json_object_set_new(o, "refused_clients", ju(s->st.refused));
	json_object_set_new(o, "records", ju(s->st.records));
	json_object_set_new(o, "calls", ju(s->st.calls));
	json_object_set_new(o, "replies", ju(s->st.replies));
	json_object_set_new(o, "dropped", ju(s->st.dropped));
	json_object_set_new(o, "garbage_args", ju(s->st.garbage_args));
	json_object_set_new(o, "proc_unavail", ju(s->st.proc_unavail));
	json_object_set_new(o, "prog_unavail", ju(s->st.prog_unavail));
	json_object_set_new(o, "prog_mismatch", ju(s->st.prog_mismatch));
	json_object_set_new(o, "rpc_mismatch", ju(s->st.rpc_mismatch));
	json_object_set_new(o, "auth_errors", ju(s->st.auth_errors));
	json_object_set_new(o, "bad_handles", ju(s->st.bad_handles));
	json_object_set_new(o, "stale", ju(s->st.stale));
	json_object_set_new(o, "records_too_big", ju(s->st.too_big));
	json_object_set_new(o, "bytes_read", ju(s->st.bytes_read));
	json_object_set_new(o, "bytes_written", ju(s->st.bytes_written));
	json_object_set_new(o, "inode_cache", ju(s->nino));
	json_object_set_new(o, "scans", ju(s->st.scans));
	json_object_set_new(o, "drc_hits", ju(s->st.drc_hits));
	json_object_set_new(o, "namespace", json_boolean(s->cfg->vroot));
	json_object_set_new(o, "forwarded", ju(s->st.forwarded));
	json_object_set_new(o, "forward_errors", ju(s->st.forward_errors));
	json_object_set_new(o, "from_peers", ju(s->st.from_peers));
	json_object_set_new(o, "generation", ju(s->cl.generation));	/* cluster map in use */
	json_object_set_new(o, "cluster", nfs_cluster_status(s->nasd));
	json_object_set_new(o, "frozen", ju(s->st.frozen));
	json_object_set_new(o, "restored", ju(s->st.restored));
	for (unsigned i = 0; i < NFS3_NPROC; i++)
		json_object_set_new(p, names[i], ju(s->st.proc[i]));
	json_object_set_new(o, "procs", p);
	return o;
}

/* ---- the NFS half of a session handoff (nasd.h) ---- */

struct nfs_conn *nfs_conn_find(struct nasd *n, uint64_t id)
{
	if (!n->nfs)
		return NULL;
	for (struct nfs_conn *c = n->nfs->conns; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

/* Room the DRC records may take in a blob (all of them, at their largest). */
#define DRC_BLOB_ROOM (RPC_CONN_DRC_MAX * (4 + 20 + RPC_CONN_DRC_REPLY))

int nfs_conn_pause(struct nfs_conn *c)
{
	if (c->paused)
		return 0;
	if (c->waiting) {
		errno = EBUSY;	/* a call is with its home node: its reply comes here */
		return -1;
	}
	if (c->in_len + (c->out_len - c->out_off) + DRC_BLOB_ROOM + 64 > RPC_CONN_MAX_BLOB) {
		errno = EBUSY;
		return -1;
	}
	loop_del(&c->srv->nasd->loop, &c->io);
	c->paused = 1;
	return 0;
}

long nfs_conn_snapshot(const struct nfs_conn *c, uint8_t *buf, size_t cap)
{
	const struct nfs_server *s = c->srv;
	struct rpc_conn_state st = {
		.in = c->in, .in_len = (uint32_t)c->in_len,
		.out = c->out + c->out_off, .out_len = (uint32_t)(c->out_len - c->out_off),
		.calls = c->calls,
	};
	uint8_t a[16];

	if (c->in_len > 0xffff || c->out_len - c->out_off > 0xffff) {
		errno = EMSGSIZE;
		return -1;
	}
	/* this client's most recent cached replies, newest first */
	addr16(&c->peer, a);
	for (unsigned k = 1; k <= NFS_DRC_SIZE && st.ndrc < RPC_CONN_DRC_MAX; k++) {
		const struct nfs_drc_ent *d = &s->drc[(s->drc_next + NFS_DRC_SIZE - k) % NFS_DRC_SIZE];
		if (!d->used || memcmp(d->addr, a, 16))
			continue;
		st.drc[st.ndrc++] = (struct rpc_conn_drc){ d->xid, d->prog, d->proc, d->ahash,
							   d->reply, d->len };
	}
	return rpc_conn_state_encode(&st, buf, cap);
}

void nfs_conn_resume(struct nfs_conn *c)
{
	if (!c->paused)
		return;
	c->paused = 0;
	if (loop_add(&c->srv->nasd->loop, &c->io, c->events) < 0) {
		c->paused = 1;	/* conn_close must not loop_del it */
		conn_close(c, "epoll on resume");
		return;
	}
	if (process(c) < 0) {
		conn_close(c, "closed");
		return;
	}
	conn_watch(c);
}

int nfs_conn_release(struct nfs_conn *c)
{
	struct nfs_server *s = c->srv;
	int fd = c->io.fd;

	if (!c->paused)
		loop_del(&s->nasd->loop, &c->io);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	s->st.frozen++;
	free(c->in);
	free(c->out);
	free(c);
	return fd;
}

struct nfs_conn *nfs_conn_restore(struct nasd *n, int fd, const uint8_t *blob, size_t len,
				  char *err, size_t errlen)
{
	struct nfs_server *s = n->nfs;
	struct rpc_conn_state st;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct nfs_conn *c;
	uint8_t a[16];
	int fl;

	if (!s) {
		snprintf(err, errlen, "no NFS service here");
		return NULL;
	}
	if (rpc_conn_state_decode(blob, len, &st, err, errlen) < 0)
		return NULL;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0 ||
	    (fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (st.out_len > s->cfg->max_io + NFS_REPLY_SLACK) {
		snprintf(err, errlen, "reply of %u bytes over this node's max_io", st.out_len);
		return NULL;
	}
	if (!(c = conn_new(s, fd, &ss))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (st.in_len) {
		c->in_cap = st.in_len > 131072 ? st.in_len : 131072;
		if (!(c->in = malloc(c->in_cap))) {
			c->paused = 0;
			nfs_conn_release(c);	/* keeps fd open for the caller */
			s->st.frozen--;
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		memcpy(c->in, st.in, st.in_len);
		c->in_len = st.in_len;
	}
	if (st.out_len)
		memcpy(c->out, st.out, st.out_len);
	c->out_len = st.out_len;
	c->calls = st.calls;
	c->restored = 1;
	addr16(&ss, a);
	for (unsigned i = st.ndrc; i-- > 0;)	/* oldest first: the newest ends newest */
		drc_put(s, a, st.drc[i].xid, st.drc[i].prog, st.drc[i].proc, st.drc[i].ahash,
			st.drc[i].reply, st.drc[i].len);
	s->st.restored++;
	/* Buffered records and the reply need no new input: wait for
	 * writability, which is at once, and let conn_io run them (running
	 * them here could close the socket the caller still owns on failure). */
	if (loop_mod(&n->loop, &c->io, EPOLLOUT) == 0)
		c->events = EPOLLOUT;
	return c;
}

/* ---- control commands ---- */

static struct nfs_conn *ctl_conn(struct nasd *n, const json_t *req, json_t **err)
{
	json_t *id = json_object_get(req, "id");
	struct nfs_conn *c;

	if (!json_is_integer(id)) {
		*err = ctl_error("\"id\": an NFS connection id (see \"nfs-conns\") is required");
		return NULL;
	}
	if (!(c = nfs_conn_find(n, (uint64_t)json_integer_value(id))))
		*err = ctl_error("no NFS connection %lld", (long long)json_integer_value(id));
	return c;
}

json_t *nfs_ctl(struct nasd *n, const char *cmd, const json_t *req)
{
	static uint8_t blob[RPC_CONN_MAX_BLOB];
	json_t *r, *err = NULL;
	struct nfs_conn *c;
	char p[80], e[200];

	if (!strcmp(cmd, "nfs-conns")) {
		json_t *arr = json_array();
		uint64_t now = loop_now_ms();
		for (c = n->nfs ? n->nfs->conns : NULL; c; c = c->next) {
			json_t *o = json_object();
			json_object_set_new(o, "id", ju(c->id));
			json_object_set_new(o, "client", json_string(peer_fmt(&c->peer, p, sizeof(p))));
			json_object_set_new(o, "allowed", json_boolean(c->allowed));
			json_object_set_new(o, "calls", ju(c->calls));
			json_object_set_new(o, "in", ju(c->in_len));
			json_object_set_new(o, "out", ju(c->out_len - c->out_off));
			json_object_set_new(o, "paused", json_boolean(c->paused));
			json_object_set_new(o, "restored", json_boolean(c->restored));
			json_object_set_new(o, "age_ms", ju(now - c->started_ms));
			json_object_set_new(o, "idle_ms", ju(now - c->last_ms));
			json_array_append_new(arr, o);
		}
		r = ctl_ok();
		json_object_set_new(r, "conns", arr);
		return r;
	}
	if (!strcmp(cmd, "nfs-state")) {
		if (!(c = ctl_conn(n, req, &err)))
			return err;
		long len = nfs_conn_snapshot(c, blob, sizeof(blob));
		if (len < 0)
			return ctl_error("NFS connection %llu: %s", (unsigned long long)c->id,
					 strerror(errno));
		char *hex = malloc((size_t)len * 2 + 1);
		if (!hex)
			return ctl_error("out of memory");
		for (long i = 0; i < len; i++)
			snprintf(hex + i * 2, 3, "%02x", blob[i]);
		r = ctl_ok();
		json_object_set_new(r, "id", ju(c->id));
		json_object_set_new(r, "bytes", ju((uint64_t)len));
		json_object_set_new(r, "blob", json_string(hex));
		free(hex);
		return r;
	}
	if (!strcmp(cmd, "nfs-rebuild")) {
		/* the local half of a handoff: pause, snapshot, release, restore
		 * on the same socket */
		if (!(c = ctl_conn(n, req, &err)))
			return err;
		uint64_t old = c->id;
		if (nfs_conn_pause(c) < 0)
			return ctl_error("NFS connection %llu: %s", (unsigned long long)old,
					 strerror(errno));
		long len = nfs_conn_snapshot(c, blob, sizeof(blob));
		if (len < 0) {
			int e2 = errno;
			nfs_conn_resume(c);
			return ctl_error("NFS connection %llu: snapshot: %s", (unsigned long long)old,
					 strerror(e2));
		}
		int fd = nfs_conn_release(c);
		struct nfs_conn *nc = nfs_conn_restore(n, fd, blob, (size_t)len, e, sizeof(e));
		if (!nc) {
			close(fd);
			return ctl_error("NFS connection %llu: restore: %s (connection lost)",
					 (unsigned long long)old, e);
		}
		r = ctl_ok();
		json_object_set_new(r, "old_id", ju(old));
		json_object_set_new(r, "id", ju(nc->id));
		json_object_set_new(r, "bytes", ju((uint64_t)len));
		return r;
	}
	return NULL;
}

/* ---- for the handoff agent (handoff.c): finding and naming connections ---- */

int nfs_conn_fd(const struct nfs_conn *c)
{
	return c->io.fd;
}

uint64_t nfs_conn_id(const struct nfs_conn *c)
{
	return c->id;
}

int nfs_conn_movable(const struct nfs_conn *c)
{
	return !c->paused && !c->from_peer;
}

/* The client connection of a flow-table key (client endpoint and local
 * endpoint, as the data plane keys it), or NULL. */
struct nfs_conn *nfs_conn_of_key(struct nasd *n, const struct lb_flow_key *k)
{
	if (!n->nfs)
		return NULL;
	for (struct nfs_conn *c = n->nfs->conns; c; c = c->next) {
		struct sockaddr_storage pa, la;
		socklen_t pl = sizeof(pa), ll = sizeof(la);
		struct taddr p, l;
		uint16_t pp, lp;
		struct lb_flow_key ck;

		if (!nfs_conn_movable(c) || getpeername(c->io.fd, (struct sockaddr *)&pa, &pl) < 0 ||
		    getsockname(c->io.fd, (struct sockaddr *)&la, &ll) < 0 ||
		    taddr_from_sockaddr(&pa, &p, &pp) < 0 || taddr_from_sockaddr(&la, &l, &lp) < 0)
			continue;
		flowkey_make(&ck, &p, pp, &l, lp, IPPROTO_TCP);
		if (!memcmp(&ck, k, sizeof(ck)))
			return c;
	}
	return NULL;
}

size_t nfs_conn_ids(struct nasd *n, uint64_t *ids, size_t cap)
{
	size_t k = 0;

	if (!n->nfs)
		return 0;
	for (struct nfs_conn *c = n->nfs->conns; c && k < cap; c = c->next)
		if (nfs_conn_movable(c))
			ids[k++] = c->id;
	return k;
}

void nfs_conn_unhold(struct nfs_conn *c)
{
	if (!c->held)
		return;
	c->held = 0;
	if (c->paused)
		return;
	if (process(c) < 0) {
		conn_close(c, "closed");
		return;
	}
	conn_watch(c);
}

int nfs_conn_hold(struct nfs_conn *c)
{
	c->held = 1;
	conn_watch(c);
	return 0;
}
