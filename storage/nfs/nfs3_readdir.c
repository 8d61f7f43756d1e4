/*
 * nfs3_readdir.c - READDIR and READDIRPLUS (RFC 1813 3.3.16, 3.3.17) of a
 * directory of the export: getdents64 on the directory opened as the
 * caller, cookies are the file system's own d_off, entries are written
 * while they fit the client's count (READDIRPLUS: maxcount) and the reply
 * buffer.  Every entry passed is put in the inode -> path cache.
 * READDIRPLUS gives the entries' attributes and handles only to a caller
 * who may search the directory (as LOOKUP would): reading it shows names,
 * not what they are.
 */
#include "nfs3_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/wire.h"

/* The cookie verifier of a directory: constant for its inode.  Cookies are
 * the file system's own directory offsets (d_off), which stay valid while
 * the directory changes (ext4 hashes, tmpfs stable offsets), so the
 * verifier need not change with the directory; it only refuses cookies a
 * client carries over from another directory. */
static void dir_verf(const struct stat *st, uint8_t v[8])
{
	wire_put64(v, (uint64_t)st->st_ino ^ 0x74616e64656d0003ull);
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* The directory d opened as the caller and positioned at the cookie.  The
 * fd, or -1 with the failure (NOTDIR, BAD_COOKIE, the open's errno) already
 * answered into r->e. */
static int readdir_open(struct nfs_req *r, const struct nfs3_args *a, const struct nfs3_obj *d,
			const struct nfs3_post_attr *pd, const uint8_t verf[8])
{
	struct xdr_enc *e = r->e;
	int dfd;

	if (!S_ISDIR(d->st.st_mode)) {
		nfs3_enc_readdir_head(e, NFS3ERR_NOTDIR, pd, verf);
		return -1;
	}
	if (a->u.readdir.cookie && memcmp(a->u.readdir.verf, verf, 8) &&
	    memcmp(a->u.readdir.verf, "\0\0\0\0\0\0\0\0", 8)) {
		nfs3_enc_readdir_head(e, NFS3ERR_BAD_COOKIE, pd, verf);
		return -1;
	}
	nfs3_become(r);
	dfd = nfs3_open_beneath(r->srv->dirfd, d->rel, O_RDONLY | O_DIRECTORY, 0);
	nfs3_unbecome(r->srv);
	if (dfd < 0) {
		nfs3_enc_readdir_head(e, nfs3_errno_stat(errno), pd, verf);
		return -1;
	}
	if (a->u.readdir.cookie && lseek(dfd, (off_t)a->u.readdir.cookie, SEEK_SET) < 0) {
		close(dfd);
		nfs3_enc_readdir_head(e, NFS3ERR_BAD_COOKIE, pd, verf);
		return -1;
	}
	return dfd;
}

/* One entry of directory d (plus 1, READDIRPLUS: with its attributes and
 * handle; plus 2: READDIRPLUS's format without them), put in the cache
 * unless it is "." or "..".  1 written, 0 it does not fit (the reply ends
 * before it), -1 skipped (its path is too long). */
static int put_entry(struct nfs_req *r, const struct nfs3_obj *d, const struct linux_dirent64 *de,
		     size_t limit, int plus)
{
	struct nfs_server *s = r->srv;
	char rel[NFS_REL_MAX];
	struct nfs3_post_attr ea = { 0 };
	struct nfs3_fh efh;
	int has_fh = 0;
	uint64_t fileid = de->d_ino;

	if (!strcmp(de->d_name, ".."))
		nfs3_parent_rel(d->rel, rel);
	else if (!strcmp(de->d_name, "."))
		snprintf(rel, sizeof(rel), "%s", d->rel);
	else if (nfs3_child_rel(d->rel, de->d_name, rel) < 0)
		return -1;
	if (plus == 1 || !strcmp(de->d_name, "..")) {
		struct nfs3_obj c = { .fd = -1 };
		c.fd = nfs3_open_beneath(s->dirfd, rel, O_PATH | O_NOFOLLOW, 0);
		if (c.fd >= 0 && fstat(c.fd, &c.st) == 0) {
			fileid = (uint64_t)c.st.st_ino;
			if (plus == 1) {
				nfs3_post_attr_of(s, &c.st, &ea);
				nfs3_obj_fh(s, &c, &efh);
				has_fh = 1;
			}
		}
		nfs3_obj_close(&c);
	}
	if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
		nfs3_ino_put(s, fileid, rel);
	return nfs3_enc_readdir_entry(r->e, limit, fileid, de->d_name, (uint32_t)strlen(de->d_name),
				      (uint64_t)de->d_off, &ea, has_fh ? &efh : NULL, plus != 0);
}

/* The entries of dfd from its position while they fit limit.  How many
 * were written (*eof: the directory ended), or -1 (errno: getdents64). */
static long put_entries(struct nfs_req *r, const struct nfs3_obj *d, int dfd, size_t limit,
			int plus, int *eof)
{
	uint8_t buf[32768];
	long n = 0;

	*eof = 0;
	for (;;) {
		long got = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
		if (got < 0)
			return -1;
		if (got == 0) {
			*eof = 1;
			return n;
		}
		for (long off = 0; off < got;) {
			const struct linux_dirent64 *de = (const void *)(buf + off);
			off += de->d_reclen;
			int w = put_entry(r, d, de, limit, plus);
			if (w == 0)
				return n;	/* full */
			if (w > 0)
				n++;
		}
	}
}

void nfs3_proc_readdir(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct xdr_enc *e = r->e;
	int plus = r->call->proc == NFS3_READDIRPLUS;
	struct nfs3_post_attr pd;
	uint8_t verf[8];
	struct nfs3_obj d;
	uint32_t st = nfs3_resolve(s, &a->u.readdir.fh, &d);
	size_t start = e->len, limit;
	int eof, dfd;
	long n;

	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	nfs3_post_attr_of(s, &d.st, &pd);
	dir_verf(&d.st, verf);
	if ((dfd = readdir_open(r, a, &d, &pd, verf)) < 0)
		goto out;
	limit = start + (plus ? a->u.readdir.maxcount : a->u.readdir.count);
	if (limit > e->cap)
		limit = e->cap;
	nfs3_enc_readdir_head(e, NFS3_OK, &pd, verf);
	/* plus: 1 with attributes and handles, 2 names only (no search permission) */
	if (plus && !nfs3_may_search(r, dfd))
		plus = 2;
	n = put_entries(r, &d, dfd, limit, plus, &eof);
	if (n < 0) {
		st = nfs3_errno_stat(errno);
		close(dfd);
		e->len = start;
		nfs3_enc_readdir_head(e, st, &pd, verf);
		goto out;
	}
	close(dfd);
	if (!eof && n == 0) {
		e->len = start;
		nfs3_enc_readdir_head(e, NFS3ERR_TOOSMALL, &pd, verf);
		goto out;
	}
	nfs3_enc_readdir_end(e, eof);
out:
	nfs3_obj_close(&d);
}
