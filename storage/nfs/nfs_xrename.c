/*
 * nfs_xrename.c - RENAME of a regular file into a directory of another home
 * node.  Two disks cannot rename(2) across each other, so
 * the source's home (this node: the call is forwarded here) copies the file
 * to the target's home with ordinary NFSv3 calls under the caller's own
 * AUTH_SYS identity, then unlinks its copy:
 *
 *   CREATE (UNCHECKED: RENAME replaces the target; the source's mode, size 0)
 *   -> WRITE x n (UNSTABLE, max_io bytes each) -> COMMIT
 *   -> SETATTR (the source's atime and mtime) -> unlink here -> reply
 *
 * Any failure after the CREATE removes the partial target (REMOVE, best
 * effort) and answers the failure's status; the source is untouched.  Not
 * atomic: during the copy both names exist, and a reader of the target may
 * see it grow.  Directories (and anything but regular files) answer
 * NFS3ERR_XDEV: clients such as mv then copy the tree themselves.
 */
#include "nfs_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/wire.h"

enum { XR_CREATE = 1, XR_WRITE, XR_COMMIT, XR_SETATTR, XR_CLEANUP };

struct xrename {
	struct nfs_server *srv;
	uint64_t conn_id;	/* the caller's connection, waiting */
	uint32_t xid;		/* the caller's RENAME */
	uint8_t to_node;
	struct nfs3_fh to_dir, newfh;
	char to_name[NFS3_NAME_MAX + 1], from_name[NFS3_NAME_MAX + 1];
	int dirfd, fd;		/* source directory (O_PATH), source file (read) */
	struct stat st;
	uint64_t off;
	int state;
	uint32_t err;		/* status to answer after the cleanup */
	struct rpc_auth_sys cred;
	uint8_t *buf;		/* one call (a WRITE: max_io + headers) */
	size_t cap;
};

static void xr_cb(struct nfs_server *s, void *arg, const uint8_t *rep, size_t len);

/* The call header with the caller's credential; returns the encoder. */
static void head(struct xrename *x, struct xdr_enc *e, uint32_t proc)
{
	uint8_t body[RPC_AUTH_MAX];
	struct xdr_enc b;

	xdr_enc_init(e, x->buf, x->cap);
	rpc_put_call_prefix(e, 0, NFS3_PROG, NFS3_VERS, proc);	/* xid: nfs_proxy_call rewrites it */
	xdr_enc_init(&b, body, sizeof(body));
	xdr_put_u32(&b, x->cred.stamp);
	xdr_put_opaque(&b, x->cred.machine, (uint32_t)strlen(x->cred.machine));
	xdr_put_u32(&b, x->cred.uid);
	xdr_put_u32(&b, x->cred.gid);
	xdr_put_u32(&b, x->cred.ngids);
	for (uint32_t i = 0; i < x->cred.ngids; i++)
		xdr_put_u32(&b, x->cred.gids[i]);
	xdr_put_u32(e, RPC_AUTH_SYS);
	xdr_put_opaque(e, body, (uint32_t)b.len);
	xdr_put_u32(e, RPC_AUTH_NONE);
	xdr_put_u32(e, 0);
}

static void finish(struct xrename *x, uint32_t st)
{
	struct nfs_server *s = x->srv;
	struct nfs_conn *c = nfs_conn_by_id(s, x->conn_id);
	uint8_t rep[128];
	struct xdr_enc e;

	log_debug("nfs xrename %s -> node %u %s: status %u", x->from_name, x->to_node, x->to_name, st);
	if (c && c->waiting) {
		xdr_enc_init(&e, rep, sizeof(rep));
		rpc_reply_accepted(&e, x->xid, RPC_SUCCESS);
		nfs3_enc_rename(&e, st, NULL, NULL);
		nfs_conn_reply(c, rep, e.len);
	}
	if (x->fd >= 0)
		close(x->fd);
	if (x->dirfd >= 0)
		close(x->dirfd);
	free(x->buf);
	free(x);
}

static int send_call(struct xrename *x, struct xdr_enc *e)
{
	if (e->err || nfs_proxy_call(x->srv, x->to_node, x->buf, e->len, xr_cb, x) < 0)
		return -1;
	return 0;
}

/* Remove the partial target, then answer err. */
static void cleanup(struct xrename *x, uint32_t err)
{
	struct xdr_enc e;

	x->err = err;
	x->state = XR_CLEANUP;
	head(x, &e, NFS3_REMOVE);
	nfs3_put_fh(&e, &x->to_dir);
	xdr_put_opaque(&e, x->to_name, (uint32_t)strlen(x->to_name));
	if (send_call(x, &e) < 0)
		finish(x, err);
}

/* The next WRITE, or the COMMIT after the last. */
static void next_write(struct xrename *x)
{
	struct xdr_enc e;
	uint32_t chunk = x->srv->cfg->max_io;

	if (x->off >= (uint64_t)x->st.st_size) {
		x->state = XR_COMMIT;
		head(x, &e, NFS3_COMMIT);
		nfs3_put_fh(&e, &x->newfh);
		xdr_put_u64(&e, 0);
		xdr_put_u32(&e, 0);
		if (send_call(x, &e) < 0)
			cleanup(x, NFS3ERR_JUKEBOX);
		return;
	}
	if ((uint64_t)x->st.st_size - x->off < chunk)
		chunk = (uint32_t)((uint64_t)x->st.st_size - x->off);
	head(x, &e, NFS3_WRITE);
	nfs3_put_fh(&e, &x->newfh);
	xdr_put_u64(&e, x->off);
	xdr_put_u32(&e, chunk);
	xdr_put_u32(&e, NFS3_UNSTABLE);
	xdr_put_u32(&e, chunk);
	uint8_t *data = xdr_reserve(&e, chunk);
	ssize_t n = 0;
	while (data && (uint32_t)n < chunk) {
		ssize_t k = pread(x->fd, data + n, chunk - (size_t)n, (off_t)(x->off + (uint64_t)n));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += k;
	}
	if (!data || (uint32_t)n != chunk) {
		cleanup(x, NFS3ERR_IO);	/* the source shrank or failed under us */
		return;
	}
	x->off += chunk;
	x->state = XR_WRITE;
	if (send_call(x, &e) < 0)
		cleanup(x, NFS3ERR_JUKEBOX);
}

static void xr_cb(struct nfs_server *s, void *arg, const uint8_t *rep, size_t len)
{
	struct xrename *x = arg;
	uint32_t xid, as, st = NFS3ERR_JUKEBOX;
	size_t off;
	int ok = rep && rpc_reply_decode(rep, len, &xid, &as, &off) == 0 && as == RPC_SUCCESS &&
		 len - off >= 4;

	if (ok)
		st = wire_get32(rep + off);
	switch (x->state) {
	case XR_CREATE: {
		int has_fh = 0;
		if (ok && nfs3_decode_create_res(rep + off, len - off, &st, &x->newfh, &has_fh) < 0)
			st = NFS3ERR_SERVERFAULT;
		if (st == NFS3_OK && !has_fh)
			st = NFS3ERR_SERVERFAULT;	/* ours always send one */
		if (st != NFS3_OK) {
			finish(x, st);
			return;
		}
		next_write(x);
		return;
	}
	case XR_WRITE:
		if (st != NFS3_OK)
			cleanup(x, st);
		else
			next_write(x);
		return;
	case XR_COMMIT: {
		struct xdr_enc e;
		if (st != NFS3_OK) {
			cleanup(x, st);
			return;
		}
		x->state = XR_SETATTR;
		head(x, &e, NFS3_SETATTR);
		nfs3_put_fh(&e, &x->newfh);
		xdr_put_u32(&e, 0);	/* mode: set at CREATE */
		xdr_put_u32(&e, 0);	/* uid */
		xdr_put_u32(&e, 0);	/* gid */
		xdr_put_u32(&e, 0);	/* size */
		xdr_put_u32(&e, SET_TIME_CLIENT);
		xdr_put_u32(&e, (uint32_t)x->st.st_atim.tv_sec);
		xdr_put_u32(&e, (uint32_t)x->st.st_atim.tv_nsec);
		xdr_put_u32(&e, SET_TIME_CLIENT);
		xdr_put_u32(&e, (uint32_t)x->st.st_mtim.tv_sec);
		xdr_put_u32(&e, (uint32_t)x->st.st_mtim.tv_nsec);
		xdr_put_u32(&e, 0);	/* no guard */
		if (send_call(x, &e) < 0)
			cleanup(x, NFS3ERR_JUKEBOX);
		return;
	}
	case XR_SETATTR:
		/* times are a courtesy: the data is there, go on either way */
		st = nfs3_xrename_unlink(s, &x->cred, x->dirfd, x->from_name, (uint64_t)x->st.st_ino);
		if (st != NFS3_OK && st != NFS3ERR_NOENT) {
			cleanup(x, st);	/* both copies would stay: take the new one back */
			return;
		}
		finish(x, NFS3_OK);
		return;
	case XR_CLEANUP:
	default:
		finish(x, x->err);
		return;
	}
}

int nfs_xrename_start(struct nfs_req *r, const struct nfs3_args *a, uint8_t to_node)
{
	struct nfs_server *s = r->srv;
	const struct nfs3_str *tn = &a->u.rename.to.name;
	struct xrename *x = calloc(1, sizeof(*x));
	struct xdr_enc e;
	uint32_t st;

	if (!x) {
		nfs3_enc_rename(r->e, NFS3ERR_SERVERFAULT, NULL, NULL);
		return 0;
	}
	x->srv = s;
	x->conn_id = r->c->id;
	x->xid = r->call->xid;
	x->to_node = to_node;
	x->to_dir = a->u.rename.to.dir;
	x->cred = r->call->sys;
	x->fd = x->dirfd = -1;
	if (tn->len == 0 || tn->len > NFS3_NAME_MAX || memchr(tn->p, '/', tn->len) ||
	    memchr(tn->p, '\0', tn->len)) {
		st = tn->len > NFS3_NAME_MAX ? NFS3ERR_NAMETOOLONG : NFS3ERR_INVAL;
		goto fail;
	}
	memcpy(x->to_name, tn->p, tn->len);
	if (!strcmp(x->to_name, ".") || !strcmp(x->to_name, "..")) {
		st = NFS3ERR_INVAL;
		goto fail;
	}
	st = nfs3_xrename_source(r, &a->u.rename.from, &x->dirfd, &x->fd, &x->st, x->from_name);
	if (st != NFS3_OK)
		goto fail;
	x->cap = s->cfg->max_io + 1024;
	if (!(x->buf = malloc(x->cap))) {
		st = NFS3ERR_SERVERFAULT;
		goto fail;
	}
	x->state = XR_CREATE;
	head(x, &e, NFS3_CREATE);
	nfs3_put_fh(&e, &x->to_dir);
	xdr_put_opaque(&e, x->to_name, (uint32_t)strlen(x->to_name));
	xdr_put_u32(&e, NFS3_CREATE_UNCHECKED);
	xdr_put_u32(&e, 1);			/* mode */
	xdr_put_u32(&e, x->st.st_mode & 07777);
	xdr_put_u32(&e, 0);			/* uid, gid: the caller's, by creating */
	xdr_put_u32(&e, 0);
	xdr_put_u32(&e, 1);			/* size 0: RENAME replaces the target */
	xdr_put_u64(&e, 0);
	xdr_put_u32(&e, 0);			/* atime, mtime: set after the data */
	xdr_put_u32(&e, 0);
	if (send_call(x, &e) < 0) {
		st = NFS3ERR_JUKEBOX;
		goto fail;
	}
	r->c->waiting = 1;
	s->st.forwarded++;
	return NFS_FORWARDED;
fail:
	nfs3_enc_rename(r->e, st, NULL, NULL);
	if (x->fd >= 0)
		close(x->fd);
	if (x->dirfd >= 0)
		close(x->dirfd);
	free(x->buf);
	free(x);
	return 0;
}
