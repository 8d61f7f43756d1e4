/*
 * nfs3_call.c - the way of one NFSv3 call (program 100003 version 3, from
 * nfs_call.c): the procedure table, the credential (AUTH_SYS for all but
 * NULL), the arguments (nfs3_xdr.c), a client outside "clients" refused,
 * and with a namespace the route to the node the handle belongs to; then
 * the procedure, from the table.
 */
#include "nfs3_int.h"

#include <stddef.h>
#include <stdlib.h>

#include "lib/log.h"
#include "nfs_fh.h"

/* The offset of a handle in struct nfs3_args; NO_FH (0: u is not first). */
#define FH(member) offsetof(struct nfs3_args, u.member)
#define NO_FH 0
_Static_assert(offsetof(struct nfs3_args, u) > 0, "handle offset 0 means none");
#define DRC 1	/* non-idempotent: its replies go to the duplicate request cache */

/*
 * One NFSv3 procedure: its name in status.nfs.procs; what runs it; the
 * handle whose home node runs the call (route()) and the second handle of
 * RENAME and LINK; whether its replies go to the duplicate request cache
 * (the non-idempotent procedures, nfs_int.h).
 */
struct nfs3_proc_ent {
	const char *name;
	nfs3_proc_fn run;	/* NULL: the NULL procedure (no result) */
	size_t fh, fh2;
	int drc;
};

static const struct nfs3_proc_ent procs[NFS3_NPROC] = {
	/*                   name, run, fh, fh2, drc */
	[NFS3_NULL]        = { "null", NULL, NO_FH, NO_FH, 0 },
	[NFS3_GETATTR]     = { "getattr", nfs3_proc_getattr, FH(fh), NO_FH, 0 },
	[NFS3_SETATTR]     = { "setattr", nfs3_proc_setattr, FH(setattr.fh), NO_FH, DRC },
	[NFS3_LOOKUP]      = { "lookup", nfs3_proc_lookup, FH(lookup.dir), NO_FH, 0 },
	[NFS3_ACCESS]      = { "access", nfs3_proc_access, FH(access.fh), NO_FH, 0 },
	[NFS3_READLINK]    = { "readlink", nfs3_proc_readlink, FH(fh), NO_FH, 0 },
	[NFS3_READ]        = { "read", nfs3_proc_read, FH(read.fh), NO_FH, 0 },
	[NFS3_WRITE]       = { "write", nfs3_proc_write, FH(write.fh), NO_FH, 0 },
	[NFS3_CREATE]      = { "create", nfs3_proc_create, FH(create.where.dir), NO_FH, DRC },
	[NFS3_MKDIR]       = { "mkdir", nfs3_proc_mkdir, FH(mkdir.where.dir), NO_FH, DRC },
	[NFS3_SYMLINK]     = { "symlink", nfs3_proc_symlink, FH(symlink.where.dir), NO_FH, DRC },
	[NFS3_MKNOD]       = { "mknod", nfs3_proc_mknod, FH(mknod.where.dir), NO_FH, DRC },
	[NFS3_REMOVE]      = { "remove", nfs3_proc_remove, FH(lookup.dir), NO_FH, DRC },
	[NFS3_RMDIR]       = { "rmdir", nfs3_proc_remove, FH(lookup.dir), NO_FH, DRC },
	[NFS3_RENAME]      = { "rename", nfs3_proc_rename, FH(rename.from.dir), FH(rename.to.dir), DRC },
	[NFS3_LINK]        = { "link", nfs3_proc_link, FH(link.fh), FH(link.to.dir), DRC },
	[NFS3_READDIR]     = { "readdir", nfs3_proc_readdir, FH(readdir.fh), NO_FH, 0 },
	[NFS3_READDIRPLUS] = { "readdirplus", nfs3_proc_readdir, FH(readdir.fh), NO_FH, 0 },
	[NFS3_FSSTAT]      = { "fsstat", nfs3_proc_fsstat, FH(fh), NO_FH, 0 },
	[NFS3_FSINFO]      = { "fsinfo", nfs3_proc_fsinfo, FH(fh), NO_FH, 0 },
	[NFS3_PATHCONF]    = { "pathconf", nfs3_proc_pathconf, FH(fh), NO_FH, 0 },
	[NFS3_COMMIT]      = { "commit", nfs3_proc_commit, FH(commit.fh), NO_FH, 0 },
};

const char *nfs3_procname(uint32_t proc)
{
	return proc < NFS3_NPROC ? procs[proc].name : NULL;
}

int nfs3_drc_wanted(uint32_t proc)
{
	return proc < NFS3_NPROC && procs[proc].drc;
}

static const struct nfs3_fh *args_fh(const struct nfs3_args *a, size_t off)
{
	return off ? (const struct nfs3_fh *)((const uint8_t *)a + off) : NULL;
}

/* Where a call runs when the export is a namespace (route()). */
enum nfs3_route {
	ROUTE_HERE,		/* run the procedure on this node */
	ROUTE_FORWARDED,	/* sent to another node: NFS_FORWARDED, the reply comes later */
	ROUTE_ANSWERED,		/* the reply is in r->e already */
};

/*
 * Where a call runs when the export is a namespace, decided by the node id
 * in its handle (nfs_fh.h), the table's fh:
 *   - no such handle, or one that does not decode (MAC, format): HERE (the
 *     procedure answers NFS3ERR_BADHANDLE);
 *   - RENAME and LINK whose second handle decodes too: if either is the
 *     virtual root, ANSWERED NFS3ERR_ACCES.  On two different nodes: a LINK
 *     is ANSWERED NFS3ERR_XDEV (a hard link cannot span two disks); a
 *     RENAME whose source is homed here is copied to the target's home
 *     (nfs_xrename.c: FORWARDED, or ANSWERED when it cannot start); a
 *     RENAME whose source is homed elsewhere goes on by the first handle;
 *   - the virtual root: nfs3_vroot_call (ANSWERED, or FORWARDED for a
 *     LOOKUP of a top-level directory homed elsewhere);
 *   - a handle this node issued: HERE;
 *   - another node's: FORWARDED to it, or if that fails (unknown peer, queue
 *     full, a forwarded call is never forwarded again) ANSWERED
 *     NFS3ERR_JUKEBOX, NFS3ERR_STALE for node id 0 (no node).
 */
static enum nfs3_route route(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	const struct nfs3_fh *h = args_fh(a, procs[a->proc].fh);
	const struct nfs3_fh *h2 = args_fh(a, procs[a->proc].fh2);
	struct nfs_fh f, f2;

	if (!h || nfs3_fh_decode(s, h->data, h->len, &f) < 0)
		return ROUTE_HERE;
	int v = f.flags & NFS_FH_F_VROOT;
	if (h2 && nfs3_fh_decode(s, h2->data, h2->len, &f2) == 0) {
		if (v || (f2.flags & NFS_FH_F_VROOT)) {
			nfs3_fail(r, NFS3ERR_ACCES);
			return ROUTE_ANSWERED;
		}
		if (f2.node_id != f.node_id) {
			if (a->proc == NFS3_RENAME && f.node_id == s->cfg->node_id)
				return nfs_xrename_start(r, a, f2.node_id) == NFS_FORWARDED
					       ? ROUTE_FORWARDED : ROUTE_ANSWERED;
			if (a->proc != NFS3_RENAME) {
				nfs3_fail(r, NFS3ERR_XDEV);
				return ROUTE_ANSWERED;
			}
		}
	}
	if (v)
		return nfs3_vroot_call(r, a) == NFS_FORWARDED ? ROUTE_FORWARDED : ROUTE_ANSWERED;
	if (f.node_id == s->cfg->node_id)
		return ROUTE_HERE;
	if (nfs_proxy_forward(r, f.node_id) == 0)
		return ROUTE_FORWARDED;
	nfs3_fail(r, f.node_id ? NFS3ERR_JUKEBOX : NFS3ERR_STALE);
	return ROUTE_ANSWERED;
}

/* Whether proc changes the file system (read-only clients: NFS3ERR_ROFS). */
static int modifies(uint32_t proc)
{
	switch (proc) {
	case NFS3_SETATTR: case NFS3_WRITE: case NFS3_CREATE: case NFS3_MKDIR:
	case NFS3_SYMLINK: case NFS3_MKNOD: case NFS3_REMOVE: case NFS3_RMDIR:
	case NFS3_RENAME: case NFS3_LINK:
		return 1;
	}
	return 0;
}

/* A decoded call other than NULL, after the accepted header: refused
 * (client outside "clients"), routed, or run here.  NFS_FORWARDED or 0. */
static int run(struct nfs_req *r, const struct nfs3_args *a)
{
	enum nfs3_route rt = ROUTE_HERE;

	if (!r->allowed) {
		r->srv->pol.refused_calls++;
		nfs3_fail(r, NFS3ERR_ACCES);
		rt = ROUTE_ANSWERED;
	} else if (!r->acc->writable && modifies(a->proc)) {
		/* before routing: a call forwarded to its home node is refused
		 * here, where the client's policy is known */
		r->srv->pol.rofs_calls++;
		nfs3_fail(r, NFS3ERR_ROFS);
		rt = ROUTE_ANSWERED;
	} else if (r->srv->cfg->vroot) {
		rt = route(r, a);
	}
	if (rt == ROUTE_HERE)
		procs[a->proc].run(r, a);
	return rt == ROUTE_FORWARDED ? NFS_FORWARDED : 0;
}

int nfs3_call(struct nfs_req *r)
{
	struct nfs_server *s = r->srv;
	uint32_t proc = r->call->proc, xid = r->call->xid;
	struct nfs3_args *a;
	char err[160];

	if (proc >= NFS3_NPROC)
		return nfs_reply_proc_unavail(r);
	s->st.proc[proc]++;
	if (proc != NFS3_NULL && r->call->cred_flavor != RPC_AUTH_SYS) {
		/* file access needs an identity: AUTH_NONE is too weak */
		s->st.auth_errors++;
		return rpc_reply_auth_error(r->e, xid, RPC_AUTH_TOOWEAK);
	}
	a = malloc(sizeof(*a));		/* ~400 bytes; keeps the loop's stack small */
	if (!a)
		return rpc_reply_accepted(r->e, xid, RPC_SYSTEM_ERR);
	if (nfs3_decode_args(proc, r->args, r->alen, s->cfg->max_io, a, err, sizeof(err)) < 0) {
		log_debug("nfs conn %llu xid %#x: %s", (unsigned long long)r->c->id, xid, err);
		free(a);
		return nfs_reply_garbage(r);
	}
	rpc_reply_accepted(r->e, xid, RPC_SUCCESS);
	if (proc != NFS3_NULL && run(r, a) == NFS_FORWARDED) {
		free(a);
		return NFS_FORWARDED;
	}
	free(a);
	return r->e->err ? -1 : 0;
}
