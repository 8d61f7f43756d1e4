/*
 * nfs3_vroot.c - the virtual root of a namespace ("namespace" in the "nfs"
 * section, doc/nasd.md "One namespace"): a directory that exists on no
 * disk, whose entries are the configured top-level directories, each living
 * on its home node.  Every node answers for it alike (its handle has node
 * id 0 and NFS_FH_F_VROOT; attributes and times are fixed), so a client
 * may reach any node through the VIP.  A LOOKUP of a top-level directory is
 * answered by its home (forwarded when that is another node); everything
 * that would change the root is refused: the configuration makes it.
 */
#include "nfs3_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define VROOT_FILEID 1
#define VROOT_TIME 1700000000u	/* the same on every node: it never changes */

void nfs3_vroot_attr(const struct nfs_server *s, struct nfs3_post_attr *p)
{
	struct nfs3_fattr *a = &p->a;

	memset(p, 0, sizeof(*p));
	p->present = 1;
	a->type = NF3DIR;
	a->mode = 0755;
	a->nlink = 2 + s->cfg->nhomes;
	a->size = a->used = 4096;
	a->fsid = s->cfg->export_id;
	a->fileid = VROOT_FILEID;
	a->atime.sec = a->mtime.sec = a->ctime.sec = VROOT_TIME;
}

static uint64_t name_fileid(const char *n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *n; n++)
		h = (h ^ (uint8_t)*n) * 0x100000001b3ull;
	return h | 1ull << 63;	/* apart from real inode numbers */
}

/* READDIR(PLUS): ".", "..", then the top-level directories in the order
 * of the configuration (cookie = index + 1).  Those homed here carry their
 * real inode (READDIRPLUS: attributes and handle) and are left out until
 * they exist on this disk; the others a name hash (their home answers the
 * LOOKUP). */
static int v_readdir(struct nfs_req *r, const struct nfs3_args *a, const struct nfs3_post_attr *pd)
{
	struct nfs_server *s = r->srv;
	struct xdr_enc *e = r->e;
	int plus = r->call->proc == NFS3_READDIRPLUS;
	static const uint8_t verf[8] = { 't', 'a', 'n', 'd', 'e', 'm', 'v', 'r' };
	size_t start = e->len, limit;
	uint64_t i = a->u.readdir.cookie;
	unsigned total = 2 + s->cfg->nhomes, n = 0;

	if (i && memcmp(a->u.readdir.verf, verf, 8) &&
	    memcmp(a->u.readdir.verf, "\0\0\0\0\0\0\0\0", 8)) {
		nfs3_enc_readdir_head(e, NFS3ERR_BAD_COOKIE, pd, verf);
		return 0;
	}
	limit = start + (plus ? a->u.readdir.maxcount : a->u.readdir.count);
	if (limit > e->cap)
		limit = e->cap;
	nfs3_enc_readdir_head(e, NFS3_OK, pd, verf);
	for (; i < total; i++) {
		const char *name = i == 0 ? "." : i == 1 ? ".." : s->cfg->homes[i - 2].dir;
		struct nfs3_post_attr ea = { 0 };
		struct nfs3_fh efh;
		int has_fh = 0;
		uint64_t fileid = VROOT_FILEID;
		if (i < 2) {
			nfs3_root_fh(s, &efh);
			nfs3_vroot_attr(s, &ea);
			has_fh = 1;
		} else if (s->cfg->homes[i - 2].node_id == s->cfg->node_id) {
			struct nfs3_obj c = {
				.fd = nfs3_open_beneath(s->dirfd, name, O_PATH | O_NOFOLLOW, 0)
			};
			if (c.fd < 0 || fstat(c.fd, &c.st) < 0) {
				nfs3_obj_close(&c);
				continue;	/* not on this node's disk (yet) */
			}
			fileid = (uint64_t)c.st.st_ino;
			snprintf(c.rel, sizeof(c.rel), "%s", name);
			nfs3_ino_put(s, fileid, name);
			if (plus) {
				nfs3_post_attr_of(s, &c.st, &ea);
				nfs3_obj_fh(s, &c, &efh);
				has_fh = 1;
			}
			nfs3_obj_close(&c);
		} else {
			fileid = name_fileid(name);	/* attributes: LOOKUP, answered by the home */
		}
		if (!nfs3_enc_readdir_entry(e, limit, fileid, name, (uint32_t)strlen(name), i + 1, &ea,
					    has_fh ? &efh : NULL, plus))
			break;
		n++;
	}
	if (i < total && n == 0) {
		e->len = start;
		nfs3_enc_readdir_head(e, NFS3ERR_TOOSMALL, pd, verf);
		return 0;
	}
	nfs3_enc_readdir_end(e, i >= total);
	return 0;
}


/* LOOKUP in the root: "." and ".." are the root, a top-level directory is
 * found on its home (forwarded when that is another node: JUKEBOX if it
 * cannot be), any other name is NOENT. */
static int v_lookup(struct nfs_req *r, const struct nfs3_args *a, const struct nfs3_post_attr *pa)
{
	struct nfs_server *s = r->srv;
	const struct nfs3_str *nm = &a->u.lookup.name;
	char name[NFS3_NAME_MAX + 1];
	struct nfs3_fh fh;
	uint32_t st = nfs3_name_ok(nm, name);

	if (st == NFS3ERR_EXIST) {	/* "." and "..": the root itself */
		nfs3_root_fh(s, &fh);
		nfs3_enc_lookup(r->e, NFS3_OK, &fh, pa, pa);
		return 0;
	}
	uint8_t home = st == NFS3_OK ? nfs_home_of(s, nm->p, nm->len) : 0;
	if (st != NFS3_OK || !home) {
		nfs3_enc_lookup(r->e, st != NFS3_OK ? st : NFS3ERR_NOENT, NULL, NULL, pa);
		return 0;
	}
	if (home != s->cfg->node_id) {
		if (nfs_proxy_forward(r, home) == 0)
			return NFS_FORWARDED;
		nfs3_enc_lookup(r->e, NFS3ERR_JUKEBOX, NULL, NULL, pa);
		return 0;
	}
	struct nfs3_obj o = { .fd = nfs3_open_beneath(s->dirfd, name, O_PATH | O_NOFOLLOW, 0) };
	struct nfs3_post_attr oa;
	if (o.fd < 0 || fstat(o.fd, &o.st) < 0) {
		st = nfs3_errno_stat(errno);
		nfs3_obj_close(&o);
		nfs3_enc_lookup(r->e, st, NULL, NULL, pa);
		return 0;
	}
	snprintf(o.rel, sizeof(o.rel), "%s", name);
	nfs3_ino_put(s, (uint64_t)o.st.st_ino, name);
	nfs3_obj_fh(s, &o, &fh);
	nfs3_post_attr_of(s, &o.st, &oa);
	nfs3_obj_close(&o);
	nfs3_enc_lookup(r->e, NFS3_OK, &fh, &oa, pa);
	return 0;
}

static int v_getattr(struct nfs_req *r, const struct nfs3_args *a, const struct nfs3_post_attr *pa)
{
	nfs3_enc_getattr(r->e, NFS3_OK, &pa->a);
	return 0;
}

static int v_access(struct nfs_req *r, const struct nfs3_args *a, const struct nfs3_post_attr *pa)
{
	nfs3_enc_access(r->e, NFS3_OK, pa,
			a->u.access.access & (NFS3_ACCESS_READ | NFS3_ACCESS_LOOKUP));
	return 0;
}

/* The numbers of the export's file system (zeros if it cannot say). */
static int v_fsstat(struct nfs_req *r, const struct nfs3_args *a, const struct nfs3_post_attr *pa)
{
	struct nfs3_fsstat fs = { 0 };

	(void)nfs3_fsstat_of(r->srv->dirfd, &fs);
	nfs3_enc_fsstat(r->e, NFS3_OK, pa, &fs);
	return 0;
}

static int v_fsinfo(struct nfs_req *r, const struct nfs3_args *a, const struct nfs3_post_attr *pa)
{
	nfs3_fsinfo_reply(r, pa);
	return 0;
}

static int v_pathconf(struct nfs_req *r, const struct nfs3_args *a, const struct nfs3_post_attr *pa)
{
	nfs3_pathconf_reply(r, pa);
	return 0;
}

static int v_isdir(struct nfs_req *r, const struct nfs3_args *a, const struct nfs3_post_attr *pa)
{
	nfs3_fail(r, NFS3ERR_ISDIR);	/* READ WRITE COMMIT */
	return 0;
}

static int v_inval(struct nfs_req *r, const struct nfs3_args *a, const struct nfs3_post_attr *pa)
{
	nfs3_fail(r, NFS3ERR_INVAL);	/* READLINK */
	return 0;
}

/* What the root answers, by procedure: 0 (answered) or NFS_FORWARDED.  A
 * procedure without an entry would change the root: NFS3ERR_ACCES (the
 * top-level directories come from the configuration). */
typedef int (*vroot_fn)(struct nfs_req *r, const struct nfs3_args *a,
			const struct nfs3_post_attr *pa);
static const vroot_fn vroot_procs[NFS3_NPROC] = {
	[NFS3_GETATTR] = v_getattr, [NFS3_ACCESS] = v_access, [NFS3_LOOKUP] = v_lookup,
	[NFS3_READDIR] = v_readdir, [NFS3_READDIRPLUS] = v_readdir, [NFS3_FSSTAT] = v_fsstat,
	[NFS3_FSINFO] = v_fsinfo, [NFS3_PATHCONF] = v_pathconf, [NFS3_READ] = v_isdir,
	[NFS3_WRITE] = v_isdir, [NFS3_COMMIT] = v_isdir, [NFS3_READLINK] = v_inval,
};

int nfs3_vroot_call(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_post_attr pa;

	nfs3_vroot_attr(r->srv, &pa);
	if (a->proc < NFS3_NPROC && vroot_procs[a->proc])
		return vroot_procs[a->proc](r, a, &pa);
	nfs3_fail(r, NFS3ERR_ACCES);
	return 0;
}
