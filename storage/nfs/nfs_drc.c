/*
 * nfs_drc.c - the duplicate request cache (what it holds and why:
 * nfs_int.h, struct nfs_drc_ent): a ring of the NFS_DRC_SIZE most recent
 * replies, looked up by client address, xid, program, procedure and a hash
 * of the version, the credential and the arguments (nfs_drc_key).  A
 * connection's blob (oncrpc.h, rpc_conn_state) carries its client's newest
 * entries to the node the connection moves to (the hash travels as the
 * blob's "args hash").
 */
#include "nfs_int.h"

#include <netinet/in.h>
#include <string.h>

void nfs_drc_addr(const struct sockaddr_storage *ss, uint8_t a[16])
{
	memset(a, 0, 16);
	if (ss->ss_family == AF_INET) {
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

/* FNV-1a over p[0, n) continuing from h. */
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t fnv32(uint64_t h, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return fnv(h, b, 4);
}

uint64_t nfs_drc_key(const struct rpc_call *call, const uint8_t *args, size_t alen)
{
	uint64_t h = fnv32(fnv32(0xcbf29ce484222325ull, call->vers), call->cred_flavor);

	if (call->cred_flavor == RPC_AUTH_SYS) {
		h = fnv32(fnv32(fnv32(h, call->sys.uid), call->sys.gid), call->sys.ngids);
		for (uint32_t i = 0; i < call->sys.ngids; i++)
			h = fnv32(h, call->sys.gids[i]);
	}
	return fnv(h, args, alen);
}

struct nfs_drc_ent *nfs_drc_find(struct nfs_server *s, const uint8_t a[16], uint32_t xid,
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

void nfs_drc_put(struct nfs_server *s, const uint8_t a[16], uint32_t xid, uint32_t prog,
		 uint32_t proc, uint64_t ahash, const uint8_t *reply, size_t len)
{
	if (len > RPC_CONN_DRC_REPLY)
		return;
	struct nfs_drc_ent *d = nfs_drc_find(s, a, xid, prog, proc, ahash);
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

void nfs_drc_save(const struct nfs_server *s, const struct sockaddr_storage *peer,
		  struct rpc_conn_state *st)
{
	uint8_t a[16];

	nfs_drc_addr(peer, a);
	for (unsigned k = 1; k <= NFS_DRC_SIZE && st->ndrc < RPC_CONN_DRC_MAX; k++) {
		const struct nfs_drc_ent *d =
			&s->drc[(s->drc_next + NFS_DRC_SIZE - k) % NFS_DRC_SIZE];
		if (!d->used || memcmp(d->addr, a, 16))
			continue;
		st->drc[st->ndrc++] = (struct rpc_conn_drc){ d->xid, d->prog, d->proc, d->ahash,
							     d->reply, d->len };
	}
}

void nfs_drc_load(struct nfs_server *s, const struct sockaddr_storage *peer,
		  const struct rpc_conn_state *st)
{
	uint8_t a[16];

	nfs_drc_addr(peer, a);
	for (unsigned i = st->ndrc; i-- > 0;)	/* oldest first: the newest ends newest */
		nfs_drc_put(s, a, st->drc[i].xid, st->drc[i].prog, st->drc[i].proc,
			    st->drc[i].ahash, st->drc[i].reply, st->drc[i].len);
}
