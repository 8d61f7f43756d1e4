/*
 * nfs3_attr.c - the NFSv3 procedures that read or set an object's
 * attributes, find it by name or read what it says about itself: GETATTR
 * SETATTR LOOKUP ACCESS READLINK FSSTAT FSINFO PATHCONF (RFC 1813 3.3.1-5,
 * 3.3.18-20).
 */
#include "nfs3_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

void nfs3_proc_getattr(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_fattr fa;
	struct nfs3_obj o;
	uint32_t st = nfs3_resolve(r->srv, &a->u.fh, &o);

	if (st == NFS3_OK)
		nfs3_attr_of(r->srv, &o.st, &fa);
	nfs3_enc_getattr(r->e, st, &fa);
	nfs3_obj_close(&o);
}

void nfs3_proc_setattr(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_wcc w;
	struct nfs3_obj o;
	uint32_t st = nfs3_resolve(r->srv, &a->u.setattr.fh, &o);

	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	nfs3_wcc_pre(&o.st, &w);
	if (!r->acc->writable)
		st = NFS3ERR_ROFS;
	else if (a->u.setattr.guard && (a->u.setattr.ctime.sec != (uint32_t)o.st.st_ctim.tv_sec ||
					a->u.setattr.ctime.nsec != (uint32_t)o.st.st_ctim.tv_nsec))
		st = NFS3ERR_NOT_SYNC;
	else {
		nfs3_become(r);
		st = nfs3_apply_sattr(&o, &a->u.setattr.attr);
		nfs3_unbecome(r->srv);
	}
	nfs3_wcc_post(r->srv, o.fd, &w);
	nfs3_enc_wccres(r->e, st, &w);
	nfs3_obj_close(&o);
}

/* LOOKUP of "." or "..": the directory d itself or its parent (the root's
 * is the root; above a top-level directory of a namespace, the virtual
 * root).  NFS3_OK with *o (or *vroot set), or the status. */
static uint32_t lookup_dots(struct nfs_server *s, const struct nfs3_obj *d, const char *name,
			    struct nfs3_obj *o, int *vroot)
{
	char prel[NFS_REL_MAX];

	if (!strcmp(name, "."))
		snprintf(prel, sizeof(prel), "%s", d->rel);
	else
		nfs3_parent_rel(d->rel, prel);
	if (s->cfg->vroot && !prel[0]) {
		*vroot = 1;
		return NFS3_OK;
	}
	o->fd = nfs3_open_beneath(s->dirfd, prel, O_PATH | O_NOFOLLOW, 0);
	if (o->fd < 0 || fstat(o->fd, &o->st) < 0)
		return nfs3_errno_stat(errno);
	return NFS3_OK;
}

void nfs3_proc_lookup(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct nfs3_post_attr pa, pd;
	struct nfs3_fh fh;
	struct nfs3_obj d, o = { .fd = -1 };
	char name[NFS3_NAME_MAX + 1];
	int vroot = 0;
	uint32_t st = nfs3_resolve(s, &a->u.lookup.dir, &d);

	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	nfs3_post_attr_of(s, &d.st, &pd);
	/* nfs3_name_ok: EXIST for "." and ".." */
	st = S_ISDIR(d.st.st_mode) ? nfs3_name_ok(&a->u.lookup.name, name) : NFS3ERR_NOTDIR;
	if (st == NFS3_OK || st == NFS3ERR_EXIST) {
		if (!nfs3_may_search(r, d.fd))
			st = NFS3ERR_ACCES;	/* as the caller, "." and ".." too */
		else if (st == NFS3ERR_EXIST)
			st = lookup_dots(s, &d, name, &o, &vroot);
		else if (nfs3_open_child(s, &d, name, &o) < 0)
			st = nfs3_errno_stat(errno);
	}
	if (st == NFS3_OK && vroot) {
		nfs3_root_fh(s, &fh);
		nfs3_vroot_attr(s, &pa);
	} else if (st == NFS3_OK) {
		nfs3_obj_fh(s, &o, &fh);
		nfs3_post_attr_of(s, &o.st, &pa);
	}
	nfs3_enc_lookup(r->e, st, &fh, &pa, &pd);
	nfs3_obj_close(&o);
	nfs3_obj_close(&d);
}

void nfs3_proc_access(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_post_attr pa;
	struct nfs3_obj o;
	uint32_t st = nfs3_resolve(r->srv, &a->u.access.fh, &o), want = a->u.access.access, got = 0;

	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	nfs3_post_attr_of(r->srv, &o.st, &pa);
	struct nfs_cred cr;
	nfs3_eff_cred(r, &cr);
	uint32_t m = o.st.st_mode, bits;
	if (cr.uid == 0) {
		bits = 7;
		if (!S_ISDIR(m) && !(m & 0111))
			bits = 6;	/* root may not execute a file nobody may */
	} else if (cr.uid == o.st.st_uid) {
		bits = (m >> 6) & 7;
	} else {
		int ingrp = cr.gid == o.st.st_gid;
		for (uint32_t i = 0; i < cr.ngids && !ingrp; i++)
			ingrp = cr.gids[i] == o.st.st_gid;
		bits = ingrp ? (m >> 3) & 7 : m & 7;
	}
	if (bits & 4)
		got |= NFS3_ACCESS_READ;
	if (bits & 2 && r->acc->writable)
		got |= NFS3_ACCESS_MODIFY | NFS3_ACCESS_EXTEND |
		       (S_ISDIR(m) ? NFS3_ACCESS_DELETE : 0);
	if (bits & 1)
		got |= S_ISDIR(m) ? NFS3_ACCESS_LOOKUP : NFS3_ACCESS_EXECUTE;
	nfs3_enc_access(r->e, NFS3_OK, &pa, got & want);
	nfs3_obj_close(&o);
}

void nfs3_proc_readlink(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_post_attr pa;
	char buf[NFS3_PATH_MAX];
	struct nfs3_obj o;
	ssize_t n = 0;
	uint32_t st = nfs3_resolve(r->srv, &a->u.fh, &o);

	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	nfs3_post_attr_of(r->srv, &o.st, &pa);
	if (!S_ISLNK(o.st.st_mode))
		st = NFS3ERR_INVAL;
	else if ((n = readlinkat(o.fd, "", buf, sizeof(buf))) < 0)
		st = nfs3_errno_stat(errno);
	else if ((size_t)n == sizeof(buf))
		st = NFS3ERR_NAMETOOLONG;
	nfs3_enc_readlink(r->e, st, &pa, buf, (uint32_t)(n > 0 ? n : 0));
	nfs3_obj_close(&o);
}

int nfs3_fsstat_of(int fd, struct nfs3_fsstat *fs)
{
	struct statvfs v;

	if (fstatvfs(fd, &v) < 0)
		return -1;
	fs->tbytes = (uint64_t)v.f_blocks * v.f_frsize;
	fs->fbytes = (uint64_t)v.f_bfree * v.f_frsize;
	fs->abytes = (uint64_t)v.f_bavail * v.f_frsize;
	fs->tfiles = v.f_files;
	fs->ffiles = v.f_ffree;
	fs->afiles = v.f_favail;
	return 0;
}

void nfs3_proc_fsstat(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_post_attr pa;
	struct nfs3_fsstat fs = { 0 };
	struct nfs3_obj o;
	uint32_t st = nfs3_resolve(r->srv, &a->u.fh, &o);

	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	nfs3_post_attr_of(r->srv, &o.st, &pa);
	if (nfs3_fsstat_of(o.fd, &fs) < 0)
		st = nfs3_errno_stat(errno);
	nfs3_enc_fsstat(r->e, st, &pa, &fs);
	nfs3_obj_close(&o);
}

void nfs3_fsinfo_reply(struct nfs_req *r, const struct nfs3_post_attr *pa)
{
	uint32_t io = r->srv->cfg->max_io;
	struct nfs3_fsinfo fi = {
		.rtmax = io, .rtpref = io, .rtmult = 4096, .wtmax = io, .wtpref = io,
		.wtmult = 4096, .dtpref = 65536, .maxfilesize = 0x7fffffffffffffffull,
		.delta = { 0, 1 },
		.properties = NFS3_FSF_LINK | NFS3_FSF_SYMLINK | NFS3_FSF_HOMOGENEOUS |
			      NFS3_FSF_CANSETTIME,
	};

	nfs3_enc_fsinfo(r->e, NFS3_OK, pa, &fi);
}

void nfs3_pathconf_reply(struct nfs_req *r, const struct nfs3_post_attr *pa)
{
	static const struct nfs3_pathconf pc = {
		.linkmax = 65000, .name_max = NFS3_NAME_MAX, .no_trunc = 1, .chown_restricted = 1,
		.case_insensitive = 0, .case_preserving = 1,
	};

	nfs3_enc_pathconf(r->e, NFS3_OK, pa, &pc);
}

/* FSINFO and PATHCONF: the object's attributes, then what is the same for
 * every object of the export. */
static void fs_info(struct nfs_req *r, const struct nfs3_args *a,
		    void (*reply)(struct nfs_req *r, const struct nfs3_post_attr *pa))
{
	struct nfs3_post_attr pa;
	struct nfs3_obj o;
	uint32_t st = nfs3_resolve(r->srv, &a->u.fh, &o);

	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	nfs3_post_attr_of(r->srv, &o.st, &pa);
	reply(r, &pa);
	nfs3_obj_close(&o);
}

void nfs3_proc_fsinfo(struct nfs_req *r, const struct nfs3_args *a)
{
	fs_info(r, a, nfs3_fsinfo_reply);
}

void nfs3_proc_pathconf(struct nfs_req *r, const struct nfs3_args *a)
{
	fs_info(r, a, nfs3_pathconf_reply);
}
