/*
 * nfs_freeze.c - the NFS half of a session handoff (nfs.h; the handoff
 * engine is storage/handoff/): a connection paused out of the loop, its
 * state written as a blob (oncrpc.h, rpc_conn_state: unanswered stream
 * bytes, the unwritten reply, its client's DRC entries), released without
 * touching the peer, and rebuilt from a blob on a connected socket, here or
 * on another node.  And what the handoff agent asks of connections: find
 * them by id or flow key, list the movable ones, hold one from reading
 * further calls.
 */
#include "nfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

struct nfs_conn *nfs_conn_find(struct nasd *n, uint64_t id)
{
	return n->nfs ? nfs_conn_by_id(n->nfs, id) : NULL;
}

/* Room the DRC records may take in a blob (all of them, at their largest). */
#define DRC_BLOB_ROOM (RPC_CONN_DRC_MAX * (4 + 20 + RPC_CONN_DRC_REPLY))

int nfs_conn_fits_blob(const struct nfs_conn *c)
{
	return c->in_len + (c->out_len - c->out_off) + DRC_BLOB_ROOM + 64 <= RPC_CONN_MAX_BLOB;
}

int nfs_conn_pause(struct nfs_conn *c)
{
	if (c->paused)
		return 0;
	if (c->waiting) {
		errno = EBUSY;	/* a call is with its home node: its reply comes here */
		return -1;
	}
	if (!nfs_conn_fits_blob(c)) {
		errno = EBUSY;
		return -1;
	}
	loop_del(&c->srv->nasd->loop, &c->io);
	c->paused = 1;
	return 0;
}

long nfs_conn_snapshot(const struct nfs_conn *c, uint8_t *buf, size_t cap)
{
	struct rpc_conn_state st = {
		.in = c->in, .in_len = (uint32_t)c->in_len,
		.out = c->out + c->out_off, .out_len = (uint32_t)(c->out_len - c->out_off),
		.calls = c->calls,
	};

	if (c->in_len > 0xffff || c->out_len - c->out_off > 0xffff) {
		errno = EMSGSIZE;
		return -1;
	}
	nfs_drc_save(c->srv, &c->peer, &st);	/* this client's newest cached replies */
	return rpc_conn_state_encode(&st, buf, cap);
}

void nfs_conn_resume(struct nfs_conn *c)
{
	if (!c->paused)
		return;
	c->paused = 0;
	if (loop_add(&c->srv->nasd->loop, &c->io, c->events) < 0) {
		c->paused = 1;	/* nfs_conn_close must not loop_del it */
		nfs_conn_close(c, "epoll on resume");
		return;
	}
	nfs_conn_run(c);
}

int nfs_conn_release(struct nfs_conn *c)
{
	int fd = c->io.fd;

	c->srv->st.frozen++;
	nfs_conn_forget(c);
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
	if (!(c = nfs_conn_new(s, fd, &ss))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (st.in_len) {
		c->in_cap = st.in_len > 131072 ? st.in_len : 131072;
		if (!(c->in = malloc(c->in_cap))) {
			nfs_conn_forget(c);	/* keeps fd open for the caller */
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
	nfs_drc_load(s, &ss, &st);
	s->st.restored++;
	/* Buffered records and the reply need no new input: wait for
	 * writability, which is at once, and let conn_io run them (running
	 * them here could close the socket the caller still owns on failure). */
	if (loop_mod(&n->loop, &c->io, EPOLLOUT) == 0)
		c->events = EPOLLOUT;
	return c;
}

/* ---- for the handoff agent (storage/handoff/): finding and naming connections ---- */

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
	nfs_conn_run(c);
}

struct ho_pin *nfs_conn_pin(struct nfs_conn *c)
{
	return &c->pin;
}

int nfs_conn_hold(struct nfs_conn *c)
{
	c->held = 1;
	nfs_conn_watch(c);
	return 0;
}
