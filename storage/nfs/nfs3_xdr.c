/*
 * nfs3_xdr.c - NFSv3 / MOUNT v3 / portmapper v2 codecs (nfs3_xdr.h).  Pure.
 */
#include "nfs3_xdr.h"

#include <stdio.h>
#include <string.h>

/* ---- decoding ---- */

static int get_fh(struct xdr_dec *d, struct nfs3_fh *fh)
{
	const uint8_t *p;
	uint32_t n;

	if (xdr_get_opaque(d, &p, &n, NFS3_FHSIZE) < 0)
		return -1;
	fh->len = n;
	memcpy(fh->data, p, n);
	return 0;
}

static int get_str(struct xdr_dec *d, struct nfs3_str *s, uint32_t max)
{
	return xdr_get_opaque(d, &s->p, &s->len, max);
}

static int get_diropargs(struct xdr_dec *d, struct nfs3_diropargs *a)
{
	get_fh(d, &a->dir);
	return get_str(d, &a->name, NFS3_NAME_MAX);
}

static int get_time(struct xdr_dec *d, struct nfs3_time *t)
{
	xdr_get_u32(d, &t->sec);
	return xdr_get_u32(d, &t->nsec);
}

static int get_set_time(struct xdr_dec *d, int *how, struct nfs3_time *t)
{
	uint32_t h;

	if (xdr_get_u32(d, &h) < 0)
		return -1;
	if (h > SET_TIME_CLIENT) {
		d->err = 1;
		return -1;
	}
	*how = (int)h;
	if (h == SET_TIME_CLIENT)
		return get_time(d, t);
	return 0;
}

static int get_sattr(struct xdr_dec *d, struct nfs3_sattr *s)
{
	memset(s, 0, sizeof(*s));
	if (xdr_get_bool(d, &s->set_mode) == 0 && s->set_mode)
		xdr_get_u32(d, &s->mode);
	if (xdr_get_bool(d, &s->set_uid) == 0 && s->set_uid)
		xdr_get_u32(d, &s->uid);
	if (xdr_get_bool(d, &s->set_gid) == 0 && s->set_gid)
		xdr_get_u32(d, &s->gid);
	if (xdr_get_bool(d, &s->set_size) == 0 && s->set_size)
		xdr_get_u64(d, &s->size);
	get_set_time(d, &s->set_atime, &s->atime);
	get_set_time(d, &s->set_mtime, &s->mtime);
	return d->err ? -1 : 0;
}

/*
 * One procedure's argument decoder: it reads a's member for its procedure
 * from d, whose sticky error says whether that worked; *what names the
 * field for the message when it did not ("arguments" unless set).
 */
typedef void (*args_dec)(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write,
			 const char **what);

static void dec_none(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write, const char **what)
{
}

/* GETATTR READLINK FSSTAT FSINFO PATHCONF */
static void dec_fh(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write, const char **what)
{
	get_fh(d, &a->u.fh);
}

static void dec_setattr(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write,
			const char **what)
{
	get_fh(d, &a->u.setattr.fh);
	get_sattr(d, &a->u.setattr.attr);
	if (xdr_get_bool(d, &a->u.setattr.guard) == 0 && a->u.setattr.guard)
		get_time(d, &a->u.setattr.ctime);
}

/* LOOKUP REMOVE RMDIR */
static void dec_diropargs(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write,
			  const char **what)
{
	get_diropargs(d, &a->u.lookup);
}

static void dec_access(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write,
		       const char **what)
{
	get_fh(d, &a->u.access.fh);
	xdr_get_u32(d, &a->u.access.access);
}

static void dec_read(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write, const char **what)
{
	get_fh(d, &a->u.read.fh);
	xdr_get_u64(d, &a->u.read.offset);
	xdr_get_u32(d, &a->u.read.count);
}

static void dec_write(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write,
		      const char **what)
{
	get_fh(d, &a->u.write.fh);
	xdr_get_u64(d, &a->u.write.offset);
	xdr_get_u32(d, &a->u.write.count);
	if (xdr_get_u32(d, &a->u.write.stable) == 0 && a->u.write.stable > NFS3_FILE_SYNC) {
		*what = "WRITE stable_how";
		d->err = 1;
	}
	if (xdr_get_opaque(d, &a->u.write.data, &a->u.write.len, max_write) < 0)
		*what = "WRITE data (over the limit?)";
	else if (a->u.write.len != a->u.write.count) {
		*what = "WRITE count != data length";
		d->err = 1;
	}
}

static void dec_create(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write,
		       const char **what)
{
	get_diropargs(d, &a->u.create.where);
	if (xdr_get_u32(d, &a->u.create.mode) < 0)
		return;
	if (a->u.create.mode == NFS3_CREATE_EXCLUSIVE)
		xdr_get_fixed(d, a->u.create.verf, 8);
	else if (a->u.create.mode <= NFS3_CREATE_GUARDED)
		get_sattr(d, &a->u.create.attr);
	else {
		*what = "CREATE mode";
		d->err = 1;
	}
}

static void dec_mkdir(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write, const char **what)
{
	get_diropargs(d, &a->u.mkdir.where);
	get_sattr(d, &a->u.mkdir.attr);
}

static void dec_symlink(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write,
			const char **what)
{
	get_diropargs(d, &a->u.symlink.where);
	get_sattr(d, &a->u.symlink.attr);
	get_str(d, &a->u.symlink.path, NFS3_PATH_MAX);
}

/* Answered NOTSUPP: the type is all we need; the rest (device numbers /
 * sattr) is skipped as the RFC lays it out. */
static void dec_mknod(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write, const char **what)
{
	get_diropargs(d, &a->u.mknod.where);
	if (xdr_get_u32(d, &a->u.mknod.type) < 0)
		return;
	if (a->u.mknod.type == NF3CHR || a->u.mknod.type == NF3BLK) {
		struct nfs3_sattr s;
		uint32_t maj, min;
		get_sattr(d, &s);
		xdr_get_u32(d, &maj);
		xdr_get_u32(d, &min);
	} else if (a->u.mknod.type == NF3SOCK || a->u.mknod.type == NF3FIFO) {
		struct nfs3_sattr s;
		get_sattr(d, &s);
	} else if (a->u.mknod.type < NF3REG || a->u.mknod.type > NF3FIFO) {
		*what = "MKNOD type";
		d->err = 1;
	}
}

static void dec_rename(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write,
		       const char **what)
{
	get_diropargs(d, &a->u.rename.from);
	get_diropargs(d, &a->u.rename.to);
}

static void dec_link(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write, const char **what)
{
	get_fh(d, &a->u.link.fh);
	get_diropargs(d, &a->u.link.to);
}

static void dec_readdir(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write,
			const char **what)
{
	get_fh(d, &a->u.readdir.fh);
	xdr_get_u64(d, &a->u.readdir.cookie);
	xdr_get_fixed(d, a->u.readdir.verf, 8);
	xdr_get_u32(d, &a->u.readdir.count);
}

static void dec_readdirplus(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write,
			    const char **what)
{
	dec_readdir(d, a, max_write, what);
	xdr_get_u32(d, &a->u.readdir.maxcount);
}

static void dec_commit(struct xdr_dec *d, struct nfs3_args *a, uint32_t max_write,
		       const char **what)
{
	get_fh(d, &a->u.commit.fh);
	xdr_get_u64(d, &a->u.commit.offset);
	xdr_get_u32(d, &a->u.commit.count);
}

static const args_dec decoders[NFS3_NPROC] = {
	[NFS3_NULL] = dec_none, [NFS3_GETATTR] = dec_fh, [NFS3_SETATTR] = dec_setattr,
	[NFS3_LOOKUP] = dec_diropargs, [NFS3_ACCESS] = dec_access, [NFS3_READLINK] = dec_fh,
	[NFS3_READ] = dec_read, [NFS3_WRITE] = dec_write, [NFS3_CREATE] = dec_create,
	[NFS3_MKDIR] = dec_mkdir, [NFS3_SYMLINK] = dec_symlink, [NFS3_MKNOD] = dec_mknod,
	[NFS3_REMOVE] = dec_diropargs, [NFS3_RMDIR] = dec_diropargs, [NFS3_RENAME] = dec_rename,
	[NFS3_LINK] = dec_link, [NFS3_READDIR] = dec_readdir, [NFS3_READDIRPLUS] = dec_readdirplus,
	[NFS3_FSSTAT] = dec_fh, [NFS3_FSINFO] = dec_fh, [NFS3_PATHCONF] = dec_fh,
	[NFS3_COMMIT] = dec_commit,
};

int nfs3_decode_args(uint32_t proc, const uint8_t *buf, size_t len, uint32_t max_write,
		     struct nfs3_args *a, char *err, size_t errlen)
{
	struct xdr_dec d;
	const char *what = "arguments";

	memset(a, 0, sizeof(*a));
	a->proc = proc;
	if (proc >= NFS3_NPROC) {
		if (err)
			snprintf(err, errlen, "nfs3: procedure %u", proc);
		return -1;
	}
	xdr_dec_init(&d, buf, len);
	decoders[proc](&d, a, max_write, &what);
	if (d.err || xdr_left(&d) != 0) {
		if (err)
			snprintf(err, errlen, "nfs3: proc %u: %s %s", proc, what,
				 d.err ? "malformed or truncated" : "followed by extra bytes");
		return -1;
	}
	return 0;
}

int nfs3_decode_create_res(const uint8_t *buf, size_t len, uint32_t *status, struct nfs3_fh *fh,
			   int *has_fh)
{
	struct xdr_dec d;

	*has_fh = 0;
	xdr_dec_init(&d, buf, len);
	if (xdr_get_u32(&d, status) < 0)
		return -1;
	if (*status != NFS3_OK)
		return 0;
	if (xdr_get_bool(&d, has_fh) < 0 || (*has_fh && get_fh(&d, fh) < 0))
		return -1;
	return 0;	/* the attributes after it are not needed */
}

int mnt3_decode_dirpath(const uint8_t *buf, size_t len, struct nfs3_str *path)
{
	struct xdr_dec d;

	xdr_dec_init(&d, buf, len);
	if (get_str(&d, path, MNT_PATH_MAX) < 0 || xdr_left(&d) != 0)
		return -1;
	return 0;
}

int pmap_decode_mapping(const uint8_t *buf, size_t len, struct pmap_mapping *m)
{
	struct xdr_dec d;

	xdr_dec_init(&d, buf, len);
	xdr_get_u32(&d, &m->prog);
	xdr_get_u32(&d, &m->vers);
	xdr_get_u32(&d, &m->prot);
	xdr_get_u32(&d, &m->port);
	return d.err || xdr_left(&d) != 0 ? -1 : 0;
}

/* ---- encoding ---- */

static int put_time(struct xdr_enc *e, const struct nfs3_time *t)
{
	xdr_put_u32(e, t->sec);
	return xdr_put_u32(e, t->nsec);
}

int nfs3_put_fattr(struct xdr_enc *e, const struct nfs3_fattr *a)
{
	xdr_put_u32(e, a->type);
	xdr_put_u32(e, a->mode);
	xdr_put_u32(e, a->nlink);
	xdr_put_u32(e, a->uid);
	xdr_put_u32(e, a->gid);
	xdr_put_u64(e, a->size);
	xdr_put_u64(e, a->used);
	xdr_put_u32(e, a->rdev1);
	xdr_put_u32(e, a->rdev2);
	xdr_put_u64(e, a->fsid);
	xdr_put_u64(e, a->fileid);
	put_time(e, &a->atime);
	put_time(e, &a->mtime);
	return put_time(e, &a->ctime);
}

int nfs3_put_post_attr(struct xdr_enc *e, const struct nfs3_post_attr *a)
{
	if (!a || !a->present)
		return xdr_put_u32(e, 0);
	xdr_put_u32(e, 1);
	return nfs3_put_fattr(e, &a->a);
}

int nfs3_put_wcc(struct xdr_enc *e, const struct nfs3_wcc *w)
{
	if (w && w->has_pre) {
		xdr_put_u32(e, 1);
		xdr_put_u64(e, w->pre.size);
		put_time(e, &w->pre.mtime);
		put_time(e, &w->pre.ctime);
	} else {
		xdr_put_u32(e, 0);
	}
	if (w && w->has_post) {
		xdr_put_u32(e, 1);
		return nfs3_put_fattr(e, &w->post);
	}
	return xdr_put_u32(e, 0);
}

int nfs3_put_fh(struct xdr_enc *e, const struct nfs3_fh *fh)
{
	return xdr_put_opaque(e, fh->data, fh->len);
}

int nfs3_put_post_fh(struct xdr_enc *e, const struct nfs3_fh *fh)
{
	if (!fh)
		return xdr_put_u32(e, 0);
	xdr_put_u32(e, 1);
	return nfs3_put_fh(e, fh);
}

/* Empty attribute words after the status in each procedure's failure arm:
 * post_op_attr = 1 word, wcc_data = 2 words (RFC 1813). */
static const uint8_t fail_words[NFS3_NPROC] = {
	[NFS3_NULL] = 0, [NFS3_GETATTR] = 0, [NFS3_SETATTR] = 2, [NFS3_LOOKUP] = 1,
	[NFS3_ACCESS] = 1, [NFS3_READLINK] = 1, [NFS3_READ] = 1, [NFS3_WRITE] = 2,
	[NFS3_CREATE] = 2, [NFS3_MKDIR] = 2, [NFS3_SYMLINK] = 2, [NFS3_MKNOD] = 2,
	[NFS3_REMOVE] = 2, [NFS3_RMDIR] = 2, [NFS3_RENAME] = 4, [NFS3_LINK] = 3,
	[NFS3_READDIR] = 1, [NFS3_READDIRPLUS] = 1, [NFS3_FSSTAT] = 1, [NFS3_FSINFO] = 1,
	[NFS3_PATHCONF] = 1, [NFS3_COMMIT] = 2,
};

int nfs3_put_error(struct xdr_enc *e, uint32_t proc, uint32_t status)
{
	if (proc == NFS3_NULL || proc >= NFS3_NPROC)
		return -1;
	xdr_put_u32(e, status);
	for (unsigned i = 0; i < fail_words[proc]; i++)
		xdr_put_u32(e, 0);
	return e->err ? -1 : 0;
}

int nfs3_enc_getattr(struct xdr_enc *e, uint32_t st, const struct nfs3_fattr *a)
{
	xdr_put_u32(e, st);
	if (st == NFS3_OK)
		nfs3_put_fattr(e, a);
	return e->err ? -1 : 0;
}

int nfs3_enc_wccres(struct xdr_enc *e, uint32_t st, const struct nfs3_wcc *w)
{
	xdr_put_u32(e, st);
	return nfs3_put_wcc(e, w);
}

int nfs3_enc_lookup(struct xdr_enc *e, uint32_t st, const struct nfs3_fh *fh,
		    const struct nfs3_post_attr *obj, const struct nfs3_post_attr *dir)
{
	xdr_put_u32(e, st);
	if (st == NFS3_OK) {
		nfs3_put_fh(e, fh);
		nfs3_put_post_attr(e, obj);
	}
	return nfs3_put_post_attr(e, dir);
}

int nfs3_enc_access(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		    uint32_t access)
{
	xdr_put_u32(e, st);
	nfs3_put_post_attr(e, obj);
	if (st == NFS3_OK)
		xdr_put_u32(e, access);
	return e->err ? -1 : 0;
}

int nfs3_enc_readlink(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		      const char *path, uint32_t len)
{
	xdr_put_u32(e, st);
	nfs3_put_post_attr(e, obj);
	if (st == NFS3_OK)
		xdr_put_opaque(e, path, len);
	return e->err ? -1 : 0;
}

int nfs3_enc_read_head(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		       uint32_t count, int eof)
{
	xdr_put_u32(e, st);
	nfs3_put_post_attr(e, obj);
	if (st == NFS3_OK) {
		xdr_put_u32(e, count);
		xdr_put_u32(e, eof ? 1 : 0);
		xdr_put_u32(e, count);	/* the data's length word */
	}
	return e->err ? -1 : 0;
}

int nfs3_enc_write(struct xdr_enc *e, uint32_t st, const struct nfs3_wcc *w, uint32_t count,
		   uint32_t committed, const uint8_t verf[8])
{
	xdr_put_u32(e, st);
	nfs3_put_wcc(e, w);
	if (st == NFS3_OK) {
		xdr_put_u32(e, count);
		xdr_put_u32(e, committed);
		xdr_put_fixed(e, verf, 8);
	}
	return e->err ? -1 : 0;
}

int nfs3_enc_create(struct xdr_enc *e, uint32_t st, const struct nfs3_fh *fh,
		    const struct nfs3_post_attr *obj, const struct nfs3_wcc *dir)
{
	xdr_put_u32(e, st);
	if (st == NFS3_OK) {
		nfs3_put_post_fh(e, fh);
		nfs3_put_post_attr(e, obj);
	}
	return nfs3_put_wcc(e, dir);
}

int nfs3_enc_rename(struct xdr_enc *e, uint32_t st, const struct nfs3_wcc *from,
		    const struct nfs3_wcc *to)
{
	xdr_put_u32(e, st);
	nfs3_put_wcc(e, from);
	return nfs3_put_wcc(e, to);
}

int nfs3_enc_link(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		  const struct nfs3_wcc *dir)
{
	xdr_put_u32(e, st);
	nfs3_put_post_attr(e, obj);
	return nfs3_put_wcc(e, dir);
}

int nfs3_enc_readdir_head(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *dir,
			  const uint8_t verf[8])
{
	xdr_put_u32(e, st);
	nfs3_put_post_attr(e, dir);
	if (st == NFS3_OK)
		xdr_put_fixed(e, verf, 8);
	return e->err ? -1 : 0;
}

int nfs3_enc_readdir_entry(struct xdr_enc *e, size_t limit, uint64_t fileid, const char *name,
			   uint32_t namelen, uint64_t cookie, const struct nfs3_post_attr *plus_attr,
			   const struct nfs3_fh *plus_fh, int plus)
{
	size_t need = 4 + 8 + 4 + ((namelen + 3u) & ~3u) + 8;

	if (plus)
		need += 4 + (plus_attr && plus_attr->present ? 84 : 0) + 4 +
			(plus_fh ? 4 + ((plus_fh->len + 3u) & ~3u) : 0);
	/* 8 more: the end (no next entry, eof) must still fit */
	if (e->err || e->len + need + 8 > limit || e->len + need + 8 > e->cap)
		return 0;
	xdr_put_u32(e, 1);	/* value follows */
	xdr_put_u64(e, fileid);
	xdr_put_opaque(e, name, namelen);
	xdr_put_u64(e, cookie);
	if (plus) {
		nfs3_put_post_attr(e, plus_attr);
		nfs3_put_post_fh(e, plus_fh);
	}
	return e->err ? 0 : 1;
}

int nfs3_enc_readdir_end(struct xdr_enc *e, int eof)
{
	xdr_put_u32(e, 0);
	return xdr_put_u32(e, eof ? 1 : 0);
}

int nfs3_enc_fsstat(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		    const struct nfs3_fsstat *s)
{
	xdr_put_u32(e, st);
	nfs3_put_post_attr(e, obj);
	if (st == NFS3_OK) {
		xdr_put_u64(e, s->tbytes);
		xdr_put_u64(e, s->fbytes);
		xdr_put_u64(e, s->abytes);
		xdr_put_u64(e, s->tfiles);
		xdr_put_u64(e, s->ffiles);
		xdr_put_u64(e, s->afiles);
		xdr_put_u32(e, s->invarsec);
	}
	return e->err ? -1 : 0;
}

int nfs3_enc_fsinfo(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		    const struct nfs3_fsinfo *s)
{
	xdr_put_u32(e, st);
	nfs3_put_post_attr(e, obj);
	if (st == NFS3_OK) {
		xdr_put_u32(e, s->rtmax);
		xdr_put_u32(e, s->rtpref);
		xdr_put_u32(e, s->rtmult);
		xdr_put_u32(e, s->wtmax);
		xdr_put_u32(e, s->wtpref);
		xdr_put_u32(e, s->wtmult);
		xdr_put_u32(e, s->dtpref);
		xdr_put_u64(e, s->maxfilesize);
		put_time(e, &s->delta);
		xdr_put_u32(e, s->properties);
	}
	return e->err ? -1 : 0;
}

int nfs3_enc_pathconf(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		      const struct nfs3_pathconf *s)
{
	xdr_put_u32(e, st);
	nfs3_put_post_attr(e, obj);
	if (st == NFS3_OK) {
		xdr_put_u32(e, s->linkmax);
		xdr_put_u32(e, s->name_max);
		xdr_put_u32(e, s->no_trunc ? 1 : 0);
		xdr_put_u32(e, s->chown_restricted ? 1 : 0);
		xdr_put_u32(e, s->case_insensitive ? 1 : 0);
		xdr_put_u32(e, s->case_preserving ? 1 : 0);
	}
	return e->err ? -1 : 0;
}

int nfs3_enc_commit(struct xdr_enc *e, uint32_t st, const struct nfs3_wcc *w,
		    const uint8_t verf[8])
{
	xdr_put_u32(e, st);
	nfs3_put_wcc(e, w);
	if (st == NFS3_OK)
		xdr_put_fixed(e, verf, 8);
	return e->err ? -1 : 0;
}

int mnt3_enc_mnt(struct xdr_enc *e, uint32_t st, const struct nfs3_fh *fh)
{
	xdr_put_u32(e, st);
	if (st == MNT3_OK) {
		nfs3_put_fh(e, fh);
		xdr_put_u32(e, 1);		/* auth_flavors<> */
		xdr_put_u32(e, 1);		/* AUTH_SYS */
	}
	return e->err ? -1 : 0;
}

int mnt3_enc_export(struct xdr_enc *e, const char *dir, const char *const *groups,
		    unsigned ngroups)
{
	xdr_put_u32(e, 1);			/* an export follows */
	xdr_put_opaque(e, dir, (uint32_t)strlen(dir));
	for (unsigned i = 0; i < ngroups; i++) {
		xdr_put_u32(e, 1);
		xdr_put_opaque(e, groups[i], (uint32_t)strlen(groups[i]));
	}
	xdr_put_u32(e, 0);			/* no more groups */
	return xdr_put_u32(e, 0);		/* no more exports */
}
