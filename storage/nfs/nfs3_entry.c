/*
 * nfs3_entry.c - the procedures that make, remove and rename directory
 * entries: CREATE MKDIR SYMLINK MKNOD (NOTSUPP) REMOVE RMDIR RENAME LINK
 * (RFC 1813 3.3.8-3.3.15), each run as the caller below a directory reached
 * by its handle, with one validated name.  The inode -> path cache follows
 * what they change.  And the two local halves of a RENAME to another home
 * (nfs_xrename.c): opening the source, unlinking it once copied.
 */
#include "nfs3_int.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/wire.h"

/* CREATE MKDIR SYMLINK: resolve the directory and check the name. */
static uint32_t where(struct nfs_req *r, const struct nfs3_diropargs *wh, struct nfs3_obj *d,
		      char *name, struct nfs3_wcc *w)
{
	uint32_t st = nfs3_resolve(r->srv, &wh->dir, d);

	memset(w, 0, sizeof(*w));
	if (st != NFS3_OK)
		return st;
	nfs3_wcc_pre(&d->st, w);
	if (!S_ISDIR(d->st.st_mode))
		return NFS3ERR_NOTDIR;
	if (!r->acc->writable)
		return NFS3ERR_ROFS;
	return nfs3_name_ok(&wh->name, name);
}

static void created(struct nfs_req *r, uint32_t st, struct nfs3_obj *d, const char *name,
		    struct nfs3_wcc *w)
{
	struct nfs_server *s = r->srv;
	struct nfs3_post_attr pa = { 0 };
	struct nfs3_fh fh;
	struct nfs3_obj o = { .fd = -1 };

	if (st == NFS3_OK && nfs3_open_child(s, d, name, &o) == 0) {
		nfs3_obj_fh(s, &o, &fh);
		nfs3_post_attr_of(s, &o.st, &pa);
	}
	if (d->fd >= 0)
		nfs3_wcc_post(s, d->fd, w);
	nfs3_enc_create(r->e, st, st == NFS3_OK && o.fd >= 0 ? &fh : NULL, &pa, w);
	nfs3_obj_close(&o);
	nfs3_obj_close(d);
}

/* An fd just opened by name: NFS3_OK if it is a regular file (*st its
 * stat), else EXIST (a CREATE never opens anything else: a FIFO or device
 * found under the name is left alone). */
static uint32_t created_reg(int fd, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return nfs3_errno_stat(errno);
	return S_ISREG(st->st_mode) ? NFS3_OK : NFS3ERR_EXIST;
}

/* CREATE EXCLUSIVE (as the caller): the verifier lives in atime/mtime
 * seconds until the client's SETATTR, so a retransmitted CREATE finds it
 * and succeeds. */
static uint32_t create_excl(const struct nfs3_obj *d, const char *name, const uint8_t verf[8])
{
	uint32_t v0 = wire_get32(verf), v1 = wire_get32(verf + 4), st;
	struct stat ex;
	int fd = openat(d->fd, name, O_CREAT | O_EXCL | O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
				     O_NOCTTY | O_CLOEXEC, 0600);

	if (fd >= 0) {
		struct timespec ts[2] = { { .tv_sec = v0 }, { .tv_sec = v1 } };
		if ((st = created_reg(fd, &ex)) == NFS3_OK)
			futimens(fd, ts);
		close(fd);
		return st;
	}
	if (errno != EEXIST)
		return nfs3_errno_stat(errno);
	if (fstatat(d->fd, name, &ex, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(ex.st_mode) &&
	    (uint32_t)ex.st_atim.tv_sec == v0 && (uint32_t)ex.st_mtim.tv_sec == v1)
		return NFS3_OK;
	return NFS3ERR_EXIST;
}

/* CREATE UNCHECKED / GUARDED (as the caller): open (GUARDED: O_EXCL) without
 * blocking, refuse what is not a regular file, then the attributes through
 * the fd that was opened (never by the name again). */
static uint32_t create_open(const struct nfs3_obj *d, const char *name, uint32_t how,
			    const struct nfs3_sattr *sa)
{
	int fl = O_CREAT | O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC |
		 (how == NFS3_CREATE_GUARDED ? O_EXCL : 0);
	struct nfs3_obj o = { .fd = openat(d->fd, name, fl, sa->set_mode ? sa->mode & 07777 : 0644) };
	struct nfs3_sattr rest = *sa;
	uint32_t st;

	if (o.fd < 0)
		return nfs3_errno_stat(errno);
	if ((st = created_reg(o.fd, &o.st)) != NFS3_OK)
		goto out;
	if (rest.set_mode && fchmod(o.fd, rest.mode & 07777) == 0)	/* past the umask */
		rest.set_mode = 0;
	if (rest.set_size || rest.set_uid || rest.set_gid || rest.set_atime || rest.set_mtime)
		st = nfs3_apply_sattr(&o, &rest);	/* size: a write open of this inode */
out:
	close(o.fd);
	return st;
}

void nfs3_proc_create(struct nfs_req *r, const struct nfs3_args *a)
{
	char name[NFS3_NAME_MAX + 1];
	struct nfs3_wcc w;
	struct nfs3_obj d;
	uint32_t st = where(r, &a->u.create.where, &d, name, &w);

	if (st == NFS3_OK) {
		nfs3_become(r);
		if (a->u.create.mode == NFS3_CREATE_EXCLUSIVE)
			st = create_excl(&d, name, a->u.create.verf);
		else
			st = create_open(&d, name, a->u.create.mode, &a->u.create.attr);
		nfs3_unbecome(r->srv);
	}
	created(r, st, &d, name, &w);
}

void nfs3_proc_mkdir(struct nfs_req *r, const struct nfs3_args *a)
{
	const struct nfs3_sattr *sa = &a->u.mkdir.attr;
	char name[NFS3_NAME_MAX + 1];
	struct nfs3_wcc w;
	struct nfs3_obj d;
	uint32_t st = where(r, &a->u.mkdir.where, &d, name, &w);

	if (st == NFS3_OK) {
		nfs3_become(r);
		if (mkdirat(d.fd, name, sa->set_mode ? sa->mode & 07777 : 0755) < 0)
			st = nfs3_errno_stat(errno);
		else if (sa->set_mode && fchmodat(d.fd, name, sa->mode & 07777, 0) < 0) {
			/* past the umask; best effort: the directory exists */
		}
		nfs3_unbecome(r->srv);
	}
	created(r, st, &d, name, &w);
}

void nfs3_proc_symlink(struct nfs_req *r, const struct nfs3_args *a)
{
	char name[NFS3_NAME_MAX + 1], target[NFS3_PATH_MAX + 1];
	const struct nfs3_str *t = &a->u.symlink.path;
	struct nfs3_wcc w;
	struct nfs3_obj d;
	uint32_t st = where(r, &a->u.symlink.where, &d, name, &w);

	if (st == NFS3_OK && (t->len == 0 || memchr(t->p, '\0', t->len)))
		st = NFS3ERR_INVAL;
	if (st == NFS3_OK) {
		memcpy(target, t->p, t->len);
		target[t->len] = '\0';
		nfs3_become(r);
		if (symlinkat(target, d.fd, name) < 0)
			st = nfs3_errno_stat(errno);
		nfs3_unbecome(r->srv);
	}
	created(r, st, &d, name, &w);
}

void nfs3_proc_mknod(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_wcc w;
	struct nfs3_obj d;
	uint32_t st = nfs3_resolve(r->srv, &a->u.mknod.where.dir, &d);

	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	nfs3_wcc_pre(&d.st, &w);
	nfs3_wcc_post(r->srv, d.fd, &w);
	nfs3_enc_create(r->e, NFS3ERR_NOTSUPP, NULL, NULL, &w);
	nfs3_obj_close(&d);
}

/* REMOVE / RMDIR */
void nfs3_proc_remove(struct nfs_req *r, const struct nfs3_args *a)
{
	char name[NFS3_NAME_MAX + 1];
	struct nfs3_wcc w;
	struct nfs3_obj d;
	struct stat ex;
	uint32_t st = where(r, &a->u.lookup, &d, name, &w);

	if (st == NFS3ERR_EXIST)
		st = NFS3ERR_INVAL;	/* "." / ".." */
	if (st == NFS3_OK) {
		int isdir = r->call->proc == NFS3_RMDIR;
		nfs3_become(r);
		if (fstatat(d.fd, name, &ex, AT_SYMLINK_NOFOLLOW) < 0)
			st = nfs3_errno_stat(errno);	/* as the caller: no search, no answer */
		else if (!isdir && S_ISDIR(ex.st_mode))
			st = NFS3ERR_ISDIR;
		else if (isdir && !S_ISDIR(ex.st_mode))
			st = NFS3ERR_NOTDIR;
		else if (unlinkat(d.fd, name, isdir ? AT_REMOVEDIR : 0) < 0)
			st = errno == EEXIST ? NFS3ERR_NOTEMPTY : nfs3_errno_stat(errno);
		nfs3_unbecome(r->srv);
		if (st == NFS3_OK && ex.st_nlink <= 1)
			nfs3_ino_del(r->srv, (uint64_t)ex.st_ino);
	}
	if (d.fd >= 0)
		nfs3_wcc_post(r->srv, d.fd, &w);
	nfs3_enc_wccres(r->e, st, &w);
	nfs3_obj_close(&d);
}

void nfs3_proc_rename(struct nfs_req *r, const struct nfs3_args *a)
{
	char n1[NFS3_NAME_MAX + 1], n2[NFS3_NAME_MAX + 1];
	struct nfs3_wcc w1, w2;
	struct nfs3_obj d1, d2 = { .fd = -1 };
	struct stat ex;
	uint32_t st = where(r, &a->u.rename.from, &d1, n1, &w1);

	memset(&w2, 0, sizeof(w2));
	if (st == NFS3_OK)
		st = where(r, &a->u.rename.to, &d2, n2, &w2);
	if (st == NFS3ERR_EXIST)
		st = NFS3ERR_INVAL;
	if (st == NFS3_OK) {
		nfs3_become(r);
		int have = fstatat(d1.fd, n1, &ex, AT_SYMLINK_NOFOLLOW) == 0;
		if (renameat(d1.fd, n1, d2.fd, n2) < 0)
			st = errno == EEXIST ? NFS3ERR_NOTEMPTY : nfs3_errno_stat(errno);
		nfs3_unbecome(r->srv);
		if (st == NFS3_OK && have) {
			char rel[NFS_REL_MAX];
			if (nfs3_child_rel(d2.rel, n2, rel) == 0)
				nfs3_ino_put(r->srv, (uint64_t)ex.st_ino, rel);
		}
	}
	if (d1.fd >= 0)
		nfs3_wcc_post(r->srv, d1.fd, &w1);
	if (d2.fd >= 0)
		nfs3_wcc_post(r->srv, d2.fd, &w2);
	nfs3_enc_rename(r->e, st, &w1, &w2);
	nfs3_obj_close(&d1);
	nfs3_obj_close(&d2);
}

void nfs3_proc_link(struct nfs_req *r, const struct nfs3_args *a)
{
	char name[NFS3_NAME_MAX + 1], pp[32];
	struct nfs3_post_attr pa = { 0 };
	struct nfs3_wcc w;
	struct nfs3_obj o, d = { .fd = -1 };
	uint32_t st = nfs3_resolve(r->srv, &a->u.link.fh, &o);

	memset(&w, 0, sizeof(w));
	if (st != NFS3_OK)
		return nfs3_fail(r, st);
	st = where(r, &a->u.link.to, &d, name, &w);
	if (st == NFS3_OK && S_ISDIR(o.st.st_mode))
		st = NFS3ERR_ISDIR;
	if (st == NFS3_OK) {
		nfs3_become(r);
		/* through /proc: linkat(AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH */
		if (linkat(AT_FDCWD, nfs3_proc_path(o.fd, pp, sizeof(pp)), d.fd, name, AT_SYMLINK_FOLLOW) < 0)
			st = nfs3_errno_stat(errno);
		nfs3_unbecome(r->srv);
	}
	nfs3_post_attr_fd(r->srv, o.fd, &pa);
	if (d.fd >= 0)
		nfs3_wcc_post(r->srv, d.fd, &w);
	nfs3_enc_link(r->e, st, &pa, &w);
	nfs3_obj_close(&o);
	nfs3_obj_close(&d);
}

/* ---- a RENAME to another home: the source's half (nfs_xrename.c) ---- */

/* The source of a cross-home RENAME opened for reading without blocking:
 * still the regular file *st found under name (a rename may have put a FIFO
 * there since).  NFS3_OK with *fd, or the status. */
static uint32_t open_source(int dirfd, const char *name, const struct stat *st, int *fd)
{
	struct stat now;

	*fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (*fd < 0)
		return nfs3_errno_stat(errno);
	if (fstat(*fd, &now) == 0 && S_ISREG(now.st_mode) && now.st_ino == st->st_ino)
		return NFS3_OK;
	close(*fd);
	*fd = -1;
	return NFS3ERR_JUKEBOX;	/* renamed under us: the client retries */
}

uint32_t nfs3_xrename_source(struct nfs_req *r, const struct nfs3_diropargs *from, int *dirfd,
			     int *fd, struct stat *st, char *name)
{
	struct nfs3_wcc w;
	struct nfs3_obj d;
	uint32_t rc = where(r, from, &d, name, &w);

	*dirfd = *fd = -1;
	if (rc == NFS3ERR_EXIST)
		rc = NFS3ERR_INVAL;
	if (rc != NFS3_OK) {
		nfs3_obj_close(&d);
		return rc;
	}
	nfs3_become(r);
	if (fstatat(d.fd, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = nfs3_errno_stat(errno);
	} else if (!S_ISREG(st->st_mode)) {
		rc = NFS3ERR_XDEV;	/* directories and the rest stay on their home */
	} else if (faccessat(d.fd, "", W_OK | X_OK, AT_EACCESS | AT_EMPTY_PATH) < 0 &&
		   errno == EACCES) {
		rc = NFS3ERR_ACCES;	/* the caller must be able to remove it here and read it */
	} else {
		rc = open_source(d.fd, name, st, fd);
	}
	nfs3_unbecome(r->srv);
	if (rc != NFS3_OK) {
		nfs3_obj_close(&d);
		return rc;
	}
	*dirfd = d.fd;	/* the caller owns it now */
	return NFS3_OK;
}

uint32_t nfs3_xrename_unlink(struct nfs_server *s, const struct rpc_auth_sys *cred, int dirfd,
			     const char *name, uint64_t ino)
{
	struct stat now;
	uint32_t rc = NFS3_OK;

	nfs3_become_sys(s, cred);
	if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) < 0 || (uint64_t)now.st_ino != ino)
		rc = NFS3ERR_NOENT;	/* replaced meanwhile: leave the newcomer alone */
	else if (unlinkat(dirfd, name, 0) < 0)
		rc = nfs3_errno_stat(errno);
	nfs3_unbecome(s);
	if (rc == NFS3_OK && now.st_nlink <= 1)
		nfs3_ino_del(s, ino);
	return rc;
}
