/*
 * nfs3_proc.c - NFSv3 procedures over the export directory (RFC 1813).
 *
 * Confinement: every object is reached either through openat2(RESOLVE_BENEATH
 * | RESOLVE_NO_MAGICLINKS) relative to the export's directory (as export.c
 * does for HTTP), or as one validated name component (no '/', not "." or
 * "..") below a directory already reached that way, with AT_SYMLINK_NOFOLLOW
 * semantics.  Symlinks are stored and returned verbatim, never followed by
 * the server.
 *
 * Handles -> objects: an inode -> path cache, not open_by_handle_at().
 * open_by_handle_at needs CAP_DAC_READ_SEARCH, a file-system-specific kernel
 * handle (ours is a fixed cluster-wide format: inode + generation), and it
 * opens any inode of the file system: confinement would become "resolve,
 * then prove it is beneath the export".  The cache is filled by every
 * LOOKUP, CREATE, MKDIR, SYMLINK, LINK, RENAME, READDIR(PLUS); an entry is
 * only a hint: the path is opened beneath the export and the inode (and
 * generation) compared, so a stale entry (renamed parent, reused name) is
 * detected.  A miss (another node issued the handle, nasd restarted, a
 * parent was renamed) falls back to a bounded scan of the export tree;
 * not found: NFS3ERR_STALE.
 *
 * Credentials: handles are resolved as the daemon; the operation itself
 * runs with the caller's AUTH_SYS uid, gid and groups as the file system
 * ids (setfsuid/setfsgid/setgroups, restored after each call), so the
 * kernel's permission checks apply (root_squash maps uid/gid 0 to 65534).
 */
#include "nfs_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "nfs_fh.h"
#include "lib/wire.h"

#define NOBODY 65534
#define SCAN_MAX 200000		/* entries a handle scan may visit */

struct obj {
	int fd;			/* O_PATH | O_NOFOLLOW */
	struct stat st;
	char rel[NFS_REL_MAX];	/* "" = export root */
};

static int openat2_beneath(int dirfd, const char *rel, uint64_t flags, uint64_t mode)
{
	struct open_how how = {
		.flags = flags | O_CLOEXEC,
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	do {
		fd = (int)syscall(SYS_openat2, dirfd, rel[0] ? rel : ".", &how, sizeof(how));
	} while (fd < 0 && errno == EAGAIN);
	return fd;
}

static uint32_t errno_stat(int e)
{
	switch (e) {
	case EPERM: return NFS3ERR_PERM;
	case ENOENT: return NFS3ERR_NOENT;
	case ENXIO: return NFS3ERR_NXIO;
	case EACCES: return NFS3ERR_ACCES;
	case EEXIST: return NFS3ERR_EXIST;
	case EXDEV: return NFS3ERR_XDEV;
	case ENODEV: return NFS3ERR_NODEV;
	case ENOTDIR: return NFS3ERR_NOTDIR;
	case EISDIR: return NFS3ERR_ISDIR;
	case EINVAL: return NFS3ERR_INVAL;
	case EFBIG: return NFS3ERR_FBIG;
	case ENOSPC: return NFS3ERR_NOSPC;
	case EROFS: return NFS3ERR_ROFS;
	case EMLINK: return NFS3ERR_MLINK;
	case ENAMETOOLONG: return NFS3ERR_NAMETOOLONG;
	case ENOTEMPTY: return NFS3ERR_NOTEMPTY;
	case EDQUOT: return NFS3ERR_DQUOT;
	case ESTALE: return NFS3ERR_STALE;
	case ELOOP: return NFS3ERR_ACCES;	/* a symlink where we do not follow one */
	default: return NFS3ERR_IO;
	}
}

/* ---- the inode -> path cache ---- */

static unsigned ino_bucket(uint64_t ino)
{
	return (unsigned)((ino * 0x9e3779b97f4a7c15ull) >> 52) & (NFS_INO_BUCKETS - 1);
}

static void ino_clear(struct nfs_server *s)
{
	for (unsigned i = 0; i < NFS_INO_BUCKETS; i++) {
		while (s->ino[i]) {
			struct nfs_ino_ent *e = s->ino[i];
			s->ino[i] = e->next;
			free(e);
		}
	}
	s->nino = 0;
}

static const char *ino_get(struct nfs_server *s, uint64_t ino)
{
	for (struct nfs_ino_ent *e = s->ino[ino_bucket(ino)]; e; e = e->next)
		if (e->ino == ino)
			return e->rel;
	return NULL;
}

static void ino_del(struct nfs_server *s, uint64_t ino)
{
	struct nfs_ino_ent **pp = &s->ino[ino_bucket(ino)];

	while (*pp) {
		if ((*pp)->ino == ino) {
			struct nfs_ino_ent *e = *pp;
			*pp = e->next;
			free(e);
			s->nino--;
			return;
		}
		pp = &(*pp)->next;
	}
}

/* Remember ino at rel (replacing an older path: the newest name wins). */
static void ino_put(struct nfs_server *s, uint64_t ino, const char *rel)
{
	const char *old = ino_get(s, ino);

	if (old && !strcmp(old, rel))
		return;
	ino_del(s, ino);
	if (s->nino >= NFS_INO_MAX)
		ino_clear(s);	/* a hint cache: rebuilding it is correct, only slower */
	size_t l = strlen(rel);
	struct nfs_ino_ent *e = malloc(sizeof(*e) + l + 1);
	if (!e)
		return;
	e->ino = ino;
	memcpy(e->rel, rel, l + 1);
	unsigned b = ino_bucket(ino);
	e->next = s->ino[b];
	s->ino[b] = e;
	s->nino++;
}

/* ---- handles ---- */

/* The generation of an object reached by an O_PATH fd; 0 where the file
 * system has none, and for anything but regular files and directories
 * (opening a device or FIFO to ask would have side effects). */
static uint32_t obj_gen(const struct nfs_server *s, int fd, mode_t mode)
{
	char p[32];
	int g[2] = { 0, 0 };	/* FS_IOC_GETVERSION is declared long, file systems write an int */

	if (!s->has_gen || !(S_ISREG(mode) || S_ISDIR(mode)))
		return 0;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	int rfd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (rfd < 0)
		return 0;
	if (ioctl(rfd, FS_IOC_GETVERSION, g) < 0)
		g[0] = 0;
	close(rfd);
	return (uint32_t)g[0];
}

static void make_fh_flags(struct nfs_server *s, uint16_t flags, uint64_t ino, uint32_t gen,
			  struct nfs3_fh *out)
{
	/* the virtual root is every node's: node id 0, the same handle everywhere */
	struct nfs_fh fh = { .node_id = (flags & NFS_FH_F_VROOT) ? 0 : (uint8_t)s->cfg->node_id,
			     .flags = flags,
			     .export_id = s->cfg->export_id, .ino = ino, .gen = gen };

	nfs_fh_encode(&fh, s->key, s->keylen, out->data);
	out->len = NFS_FH_LEN;
}

static void make_fh(struct nfs_server *s, uint64_t ino, uint32_t gen, struct nfs3_fh *out)
{
	make_fh_flags(s, 0, ino, gen, out);
}

void nfs3_root_fh(struct nfs_server *s, struct nfs3_fh *fh)
{
	if (s->cfg->vroot)
		make_fh_flags(s, NFS_FH_F_VROOT, 0, 0, fh);
	else
		make_fh(s, s->root_ino, s->root_gen, fh);
}

static void obj_close(struct obj *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
}

/* Open rel beneath the export (O_PATH, no follow) and check it is ino/gen. */
static int try_rel(struct nfs_server *s, const char *rel, uint64_t ino, uint32_t gen,
		   struct obj *o)
{
	int fd = openat2_beneath(s->dirfd, rel, O_PATH | O_NOFOLLOW, 0);

	if (fd < 0)
		return -1;
	if (fstat(fd, &o->st) < 0 || (uint64_t)o->st.st_ino != ino ||
	    obj_gen(s, fd, o->st.st_mode) != gen) {
		close(fd);
		return -1;
	}
	o->fd = fd;
	snprintf(o->rel, sizeof(o->rel), "%s", rel);
	return 0;
}

/* Breadth-first search of the export for ino; fills the cache with the
 * directories it passes.  0 and o set, or -1. */
static int scan(struct nfs_server *s, uint64_t ino, uint32_t gen, struct obj *o)
{
	char **q = NULL;
	size_t qh = 0, qt = 0, qcap = 0, seen = 0;
	int found = -1;

	s->st.scans++;
	q = malloc(sizeof(char *) * (qcap = 64));
	if (!q || !(q[qt++] = strdup("")))
		goto out;
	while (qh < qt && found < 0 && seen < SCAN_MAX) {
		char *dir = q[qh++];
		int dfd = openat2_beneath(s->dirfd, dir, O_RDONLY | O_DIRECTORY, 0);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;
		if (!d) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		while ((de = readdir(d)) && found < 0 && seen++ < SCAN_MAX) {
			char rel[NFS_REL_MAX];
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (snprintf(rel, sizeof(rel), "%s%s%s", dir, dir[0] ? "/" : "",
				     de->d_name) >= (int)sizeof(rel))
				continue;
			if ((uint64_t)de->d_ino == ino) {
				if (try_rel(s, rel, ino, gen, o) == 0) {
					ino_put(s, ino, rel);
					found = 0;
				}
				continue;
			}
			if (de->d_type == DT_DIR) {
				ino_put(s, de->d_ino, rel);
				if (qt == qcap) {
					char **nq = realloc(q, sizeof(char *) * qcap * 2);
					if (!nq)
						continue;
					q = nq;
					qcap *= 2;
				}
				if ((q[qt] = strdup(rel)))
					qt++;
			}
		}
		closedir(d);
	}
out:
	for (size_t i = 0; i < qt; i++)
		free(q[i]);
	free(q);
	return found;
}

/* Handle -> object.  NFS3_OK, BADHANDLE (not ours: MAC, format) or STALE. */
static uint32_t resolve(struct nfs_server *s, const struct nfs3_fh *h, struct obj *o)
{
	struct nfs_fh fh;
	const char *rel;

	o->fd = -1;
	if (nfs_fh_decode(h->data, h->len, s->key, s->keylen, &fh, NULL, 0) < 0) {
		s->st.bad_handles++;
		return NFS3ERR_BADHANDLE;
	}
	if (fh.export_id != s->cfg->export_id || (fh.flags & NFS_FH_F_VROOT))
		goto stale;	/* the virtual root never resolves to a local object */
	if (s->cfg->vroot && fh.node_id != s->cfg->node_id)
		goto stale;	/* another home's inode number means nothing on this disk */
	if (fh.ino == s->root_ino) {
		if (try_rel(s, "", fh.ino, fh.gen, o) == 0)
			return NFS3_OK;
		goto stale;
	}
	if ((rel = ino_get(s, fh.ino))) {
		char copy[NFS_REL_MAX];
		snprintf(copy, sizeof(copy), "%s", rel);
		if (try_rel(s, copy, fh.ino, fh.gen, o) == 0)
			return NFS3_OK;
		ino_del(s, fh.ino);
	}
	if (scan(s, fh.ino, fh.gen, o) == 0)
		return NFS3_OK;
stale:
	s->st.stale++;
	return NFS3ERR_STALE;
}

static void obj_fh(struct nfs_server *s, const struct obj *o, struct nfs3_fh *fh)
{
	make_fh(s, (uint64_t)o->st.st_ino, obj_gen(s, o->fd, o->st.st_mode), fh);
}

/* ---- attributes ---- */

static void fattr(const struct nfs_server *s, const struct stat *st, struct nfs3_fattr *a)
{
	memset(a, 0, sizeof(*a));
	switch (st->st_mode & S_IFMT) {
	case S_IFREG: a->type = NF3REG; break;
	case S_IFDIR: a->type = NF3DIR; break;
	case S_IFBLK: a->type = NF3BLK; break;
	case S_IFCHR: a->type = NF3CHR; break;
	case S_IFLNK: a->type = NF3LNK; break;
	case S_IFSOCK: a->type = NF3SOCK; break;
	default: a->type = NF3FIFO; break;
	}
	a->mode = st->st_mode & 07777;
	a->nlink = (uint32_t)st->st_nlink;
	a->uid = st->st_uid;
	a->gid = st->st_gid;
	a->size = (uint64_t)st->st_size;
	a->used = (uint64_t)st->st_blocks * 512;
	a->rdev1 = major(st->st_rdev);
	a->rdev2 = minor(st->st_rdev);
	a->fsid = s->cfg->export_id;	/* the same on every node */
	a->fileid = (uint64_t)st->st_ino;
	a->atime.sec = (uint32_t)st->st_atim.tv_sec;
	a->atime.nsec = (uint32_t)st->st_atim.tv_nsec;
	a->mtime.sec = (uint32_t)st->st_mtim.tv_sec;
	a->mtime.nsec = (uint32_t)st->st_mtim.tv_nsec;
	a->ctime.sec = (uint32_t)st->st_ctim.tv_sec;
	a->ctime.nsec = (uint32_t)st->st_ctim.tv_nsec;
}

static void post_attr_st(const struct nfs_server *s, const struct stat *st,
			 struct nfs3_post_attr *p)
{
	p->present = 1;
	fattr(s, st, &p->a);
}

/* Post-op attributes of an O_PATH fd (absent if fstat fails). */
static void post_attr_fd(const struct nfs_server *s, int fd, struct nfs3_post_attr *p)
{
	struct stat st;

	p->present = 0;
	if (fd >= 0 && fstat(fd, &st) == 0)
		post_attr_st(s, &st, p);
}

static void wcc_pre(const struct stat *st, struct nfs3_wcc *w)
{
	memset(w, 0, sizeof(*w));
	w->has_pre = 1;
	w->pre.size = (uint64_t)st->st_size;
	w->pre.mtime.sec = (uint32_t)st->st_mtim.tv_sec;
	w->pre.mtime.nsec = (uint32_t)st->st_mtim.tv_nsec;
	w->pre.ctime.sec = (uint32_t)st->st_ctim.tv_sec;
	w->pre.ctime.nsec = (uint32_t)st->st_ctim.tv_nsec;
}

static void wcc_post(const struct nfs_server *s, int fd, struct nfs3_wcc *w)
{
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0) {
		w->has_post = 1;
		fattr(s, &st, &w->post);
	}
}

/* ---- credentials ---- */

static void become_sys(const struct nfs_server *s, const struct rpc_auth_sys *a)
{
	uint32_t uid = a->uid, gid = a->gid;
	gid_t g[RPC_GIDS_MAX];

	if (geteuid() != 0)
		return;		/* unprivileged daemon: its own permissions apply */
	if (s->cfg->root_squash) {
		if (uid == 0)
			uid = NOBODY;
		if (gid == 0)
			gid = NOBODY;
	}
	for (uint32_t i = 0; i < a->ngids; i++)
		g[i] = (s->cfg->root_squash && a->gids[i] == 0) ? NOBODY : a->gids[i];
	/* the raw syscall: this thread only (nasd has one), no glibc broadcast */
	syscall(SYS_setgroups, (size_t)a->ngids, g);
	setfsgid(gid);
	setfsuid(uid);
}

static void become(struct nfs_req *r)
{
	become_sys(r->srv, &r->call->sys);
}

static void unbecome(void)
{
	if (geteuid() != 0)
		return;
	setfsuid(0);
	setfsgid(0);
	syscall(SYS_setgroups, (size_t)0, NULL);
}

static uint32_t eff_uid(const struct nfs_req *r)
{
	uint32_t u = r->call->sys.uid;
	return (u == 0 && r->srv->cfg->root_squash) ? NOBODY : u;
}

/* ---- helpers ---- */

/* A name for a new or existing entry: 1..255 bytes, no '/', no NUL, not
 * "." or "..".  Copied NUL-terminated into out[256]. */
static uint32_t name_ok(const struct nfs3_str *n, char *out)
{
	if (n->len == 0)
		return NFS3ERR_INVAL;
	if (n->len > NFS3_NAME_MAX)
		return NFS3ERR_NAMETOOLONG;
	if (memchr(n->p, '/', n->len) || memchr(n->p, '\0', n->len))
		return NFS3ERR_INVAL;
	memcpy(out, n->p, n->len);
	out[n->len] = '\0';
	if (!strcmp(out, ".") || !strcmp(out, ".."))
		return NFS3ERR_EXIST;
	return NFS3_OK;
}

static int child_rel(const char *dir, const char *name, char *out)
{
	return snprintf(out, NFS_REL_MAX, "%s%s%s", dir, dir[0] ? "/" : "", name) >= NFS_REL_MAX
		       ? -1 : 0;
}

static void parent_rel(const char *rel, char *out)
{
	const char *sl = strrchr(rel, '/');

	if (!sl) {
		out[0] = '\0';
		return;
	}
	memcpy(out, rel, (size_t)(sl - rel));
	out[sl - rel] = '\0';
}

/* Open name below dir (O_PATH, no follow) as an obj; cache it. */
static int open_child(struct nfs_server *s, const struct obj *dir, const char *name, struct obj *o)
{
	o->fd = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (o->fd < 0)
		return -1;
	if (fstat(o->fd, &o->st) < 0 || child_rel(dir->rel, name, o->rel) < 0) {
		obj_close(o);
		errno = ENAMETOOLONG;
		return -1;
	}
	ino_put(s, (uint64_t)o->st.st_ino, o->rel);
	return 0;
}

static char *proc_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
	return buf;
}

/* Apply the settable attributes (already as the caller). */
static uint32_t apply_sattr(const struct obj *o, const struct nfs3_sattr *a)
{
	char pp[32];
	int lnk = S_ISLNK(o->st.st_mode);

	if ((a->set_uid || a->set_gid) &&
	    fchownat(o->fd, "", a->set_uid ? a->uid : (uid_t)-1, a->set_gid ? a->gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return errno_stat(errno);
	if (a->set_mode && !lnk && chmod(proc_path(o->fd, pp, sizeof(pp)), a->mode & 07777) < 0)
		return errno_stat(errno);
	if (a->set_size) {
		if (S_ISDIR(o->st.st_mode))
			return NFS3ERR_ISDIR;
		if (!S_ISREG(o->st.st_mode))
			return NFS3ERR_INVAL;
		int wfd = open(proc_path(o->fd, pp, sizeof(pp)), O_WRONLY | O_CLOEXEC);
		if (wfd < 0)
			return errno_stat(errno);
		int rc = ftruncate(wfd, (off_t)a->size);
		int e = errno;
		close(wfd);
		if (rc < 0)
			return errno_stat(e);
	}
	if ((a->set_atime || a->set_mtime) && !lnk) {
		struct timespec ts[2];
		ts[0].tv_nsec = a->set_atime == SET_TIME_DONT ? UTIME_OMIT :
				a->set_atime == SET_TIME_SERVER ? UTIME_NOW : (long)a->atime.nsec;
		ts[0].tv_sec = a->atime.sec;
		ts[1].tv_nsec = a->set_mtime == SET_TIME_DONT ? UTIME_OMIT :
				a->set_mtime == SET_TIME_SERVER ? UTIME_NOW : (long)a->mtime.nsec;
		ts[1].tv_sec = a->mtime.sec;
		if (utimensat(AT_FDCWD, proc_path(o->fd, pp, sizeof(pp)), ts, 0) < 0)
			return errno_stat(errno);
	}
	return NFS3_OK;
}

static void vroot_attr(const struct nfs_server *s, struct nfs3_post_attr *p);

/* ---- procedures ---- */

static void fail(struct nfs_req *r, uint32_t st)
{
	nfs3_put_error(r->e, r->call->proc, st);
}

static void p_getattr(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_fattr fa;
	struct obj o;
	uint32_t st = resolve(r->srv, &a->u.fh, &o);

	if (st == NFS3_OK)
		fattr(r->srv, &o.st, &fa);
	nfs3_enc_getattr(r->e, st, &fa);
	obj_close(&o);
}

static void p_setattr(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_wcc w;
	struct obj o;
	uint32_t st = resolve(r->srv, &a->u.setattr.fh, &o);

	if (st != NFS3_OK)
		return fail(r, st);
	wcc_pre(&o.st, &w);
	if (!r->srv->cfg->writable)
		st = NFS3ERR_ROFS;
	else if (a->u.setattr.guard && (a->u.setattr.ctime.sec != (uint32_t)o.st.st_ctim.tv_sec ||
					a->u.setattr.ctime.nsec != (uint32_t)o.st.st_ctim.tv_nsec))
		st = NFS3ERR_NOT_SYNC;
	else {
		become(r);
		st = apply_sattr(&o, &a->u.setattr.attr);
		unbecome();
	}
	wcc_post(r->srv, o.fd, &w);
	nfs3_enc_wccres(r->e, st, &w);
	obj_close(&o);
}

static void p_lookup(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct nfs3_post_attr pa, pd;
	struct nfs3_fh fh;
	struct obj d, o = { .fd = -1 };
	char name[NFS3_NAME_MAX + 1];
	uint32_t st = resolve(s, &a->u.lookup.dir, &d);

	if (st != NFS3_OK)
		return fail(r, st);
	post_attr_st(s, &d.st, &pd);
	if (!S_ISDIR(d.st.st_mode)) {
		st = NFS3ERR_NOTDIR;
	} else if ((st = name_ok(&a->u.lookup.name, name)) == NFS3ERR_EXIST) {
		/* "." and "..": the directory itself or its parent (the root's is the root) */
		char prel[NFS_REL_MAX];
		if (!strcmp(name, "."))
			snprintf(prel, sizeof(prel), "%s", d.rel);
		else
			parent_rel(d.rel, prel);
		if (s->cfg->vroot && !prel[0]) {
			/* above a top-level directory: the namespace's virtual root */
			nfs3_root_fh(s, &fh);
			vroot_attr(s, &pa);
			nfs3_enc_lookup(r->e, NFS3_OK, &fh, &pa, &pd);
			obj_close(&d);
			return;
		}
		o.fd = openat2_beneath(s->dirfd, prel, O_PATH | O_NOFOLLOW, 0);
		if (o.fd < 0 || fstat(o.fd, &o.st) < 0)
			st = errno_stat(errno);
		else
			st = NFS3_OK;
	} else if (st == NFS3_OK) {
		/* search permission on the directory: as the caller */
		become(r);
		int rc = faccessat(d.fd, "", X_OK, AT_EACCESS | AT_EMPTY_PATH);
		unbecome();
		if (rc < 0 && errno == EACCES)
			st = NFS3ERR_ACCES;
		else if (open_child(s, &d, name, &o) < 0)
			st = errno_stat(errno);
	}
	if (st == NFS3_OK) {
		obj_fh(s, &o, &fh);
		post_attr_st(s, &o.st, &pa);
	}
	nfs3_enc_lookup(r->e, st, &fh, &pa, &pd);
	obj_close(&o);
	obj_close(&d);
}

static void p_access(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_post_attr pa;
	struct obj o;
	uint32_t st = resolve(r->srv, &a->u.access.fh, &o), want = a->u.access.access, got = 0;

	if (st != NFS3_OK)
		return fail(r, st);
	post_attr_st(r->srv, &o.st, &pa);
	uint32_t uid = eff_uid(r), m = o.st.st_mode, bits;
	if (uid == 0) {
		bits = 7;
		if (!S_ISDIR(m) && !(m & 0111))
			bits = 6;	/* root may not execute a file nobody may */
	} else if (uid == o.st.st_uid) {
		bits = (m >> 6) & 7;
	} else {
		int ingrp = r->call->sys.gid == o.st.st_gid;
		for (uint32_t i = 0; i < r->call->sys.ngids && !ingrp; i++)
			ingrp = r->call->sys.gids[i] == o.st.st_gid;
		bits = ingrp ? (m >> 3) & 7 : m & 7;
	}
	if (bits & 4)
		got |= NFS3_ACCESS_READ;
	if (bits & 2 && r->srv->cfg->writable)
		got |= NFS3_ACCESS_MODIFY | NFS3_ACCESS_EXTEND |
		       (S_ISDIR(m) ? NFS3_ACCESS_DELETE : 0);
	if (bits & 1)
		got |= S_ISDIR(m) ? NFS3_ACCESS_LOOKUP : NFS3_ACCESS_EXECUTE;
	nfs3_enc_access(r->e, NFS3_OK, &pa, got & want);
	obj_close(&o);
}

static void p_readlink(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_post_attr pa;
	char buf[NFS3_PATH_MAX];
	struct obj o;
	ssize_t n = 0;
	uint32_t st = resolve(r->srv, &a->u.fh, &o);

	if (st != NFS3_OK)
		return fail(r, st);
	post_attr_st(r->srv, &o.st, &pa);
	if (!S_ISLNK(o.st.st_mode))
		st = NFS3ERR_INVAL;
	else if ((n = readlinkat(o.fd, "", buf, sizeof(buf))) < 0)
		st = errno_stat(errno);
	else if ((size_t)n == sizeof(buf))
		st = NFS3ERR_NAMETOOLONG;
	nfs3_enc_readlink(r->e, st, &pa, buf, (uint32_t)(n > 0 ? n : 0));
	obj_close(&o);
}

static void p_read(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct xdr_enc *e = r->e;
	struct nfs3_post_attr pa;
	struct obj o;
	uint32_t count = a->u.read.count, st = resolve(s, &a->u.read.fh, &o);
	size_t start = e->len;
	int fd;

	if (st != NFS3_OK)
		return fail(r, st);
	if (!S_ISREG(o.st.st_mode)) {
		post_attr_st(s, &o.st, &pa);
		nfs3_enc_read_head(e, S_ISDIR(o.st.st_mode) ? NFS3ERR_ISDIR : NFS3ERR_INVAL, &pa, 0, 0);
		goto out;
	}
	if (count > s->cfg->max_io)
		count = s->cfg->max_io;
	become(r);
	fd = openat2_beneath(s->dirfd, o.rel, O_RDONLY | O_NOFOLLOW, 0);
	unbecome();
	if (fd < 0) {
		st = errno_stat(errno);
		post_attr_st(s, &o.st, &pa);
		nfs3_enc_read_head(e, st, &pa, 0, 0);
		goto out;
	}
	post_attr_st(s, &o.st, &pa);
	nfs3_enc_read_head(e, NFS3_OK, &pa, count, 0);
	size_t words = e->len;		/* ... count, eof, length | data */
	uint8_t *data = xdr_reserve(e, count);
	ssize_t n = 0;
	while (data && (uint32_t)n < count) {
		ssize_t k = pread(fd, data + n, count - (size_t)n, (off_t)(a->u.read.offset + (uint64_t)n));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			n = -1;
			break;
		}
		if (k == 0)
			break;
		n += k;
	}
	if (!data || n < 0) {
		st = data ? errno_stat(errno) : NFS3ERR_IO;
		e->len = start;
		e->err = 0;
		nfs3_enc_read_head(e, st, &pa, 0, 0);
		close(fd);
		goto out;
	}
	xdr_shrink(e, count, (size_t)n);
	struct stat now;
	uint64_t size = fstat(fd, &now) == 0 ? (uint64_t)now.st_size : (uint64_t)o.st.st_size;
	wire_put32(e->p + words - 12, (uint32_t)n);
	wire_put32(e->p + words - 8, a->u.read.offset + (uint64_t)n >= size ? 1 : 0);
	wire_put32(e->p + words - 4, (uint32_t)n);
	s->st.bytes_read += (uint64_t)n;
	close(fd);
out:
	obj_close(&o);
}

static void p_write(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct nfs3_wcc w;
	struct obj o;
	uint32_t st = resolve(s, &a->u.write.fh, &o), committed = NFS3_UNSTABLE;
	size_t done = 0;
	int fd = -1;

	if (st != NFS3_OK)
		return fail(r, st);
	wcc_pre(&o.st, &w);
	if (!s->cfg->writable) {
		st = NFS3ERR_ROFS;
		goto reply;
	}
	if (!S_ISREG(o.st.st_mode)) {
		st = S_ISDIR(o.st.st_mode) ? NFS3ERR_ISDIR : NFS3ERR_INVAL;
		goto reply;
	}
	become(r);
	fd = openat2_beneath(s->dirfd, o.rel, O_WRONLY | O_NOFOLLOW, 0);
	unbecome();
	if (fd < 0) {
		st = errno_stat(errno);
		goto reply;
	}
	while (done < a->u.write.len) {
		ssize_t k = pwrite(fd, a->u.write.data + done, a->u.write.len - done,
				   (off_t)(a->u.write.offset + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			st = errno_stat(k < 0 ? errno : ENOSPC);
			break;
		}
		done += (size_t)k;
	}
	if (st == NFS3_OK && a->u.write.stable != NFS3_UNSTABLE) {
		if (fdatasync(fd) < 0)
			st = errno_stat(errno);
		committed = NFS3_FILE_SYNC;
	}
	s->st.bytes_written += done;
reply:
	wcc_post(s, fd >= 0 ? fd : o.fd, &w);
	if (fd >= 0)
		close(fd);
	nfs3_enc_write(r->e, st, &w, (uint32_t)done, committed, s->wverf);
	obj_close(&o);
}

static void p_commit(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct nfs3_wcc w;
	struct obj o;
	uint32_t st = resolve(s, &a->u.commit.fh, &o);

	if (st != NFS3_OK)
		return fail(r, st);
	wcc_pre(&o.st, &w);
	if (S_ISREG(o.st.st_mode)) {
		int fd = openat2_beneath(s->dirfd, o.rel, O_RDONLY | O_NOFOLLOW, 0);
		if (fd < 0 || fdatasync(fd) < 0)
			st = errno_stat(errno);
		if (fd >= 0)
			close(fd);
	}
	wcc_post(s, o.fd, &w);
	nfs3_enc_commit(r->e, st, &w, s->wverf);
	obj_close(&o);
}

/* CREATE MKDIR SYMLINK: resolve the directory and check the name. */
static uint32_t where(struct nfs_req *r, const struct nfs3_diropargs *wh, struct obj *d,
		      char *name, struct nfs3_wcc *w)
{
	uint32_t st = resolve(r->srv, &wh->dir, d);

	memset(w, 0, sizeof(*w));
	if (st != NFS3_OK)
		return st;
	wcc_pre(&d->st, w);
	if (!S_ISDIR(d->st.st_mode))
		return NFS3ERR_NOTDIR;
	if (!r->srv->cfg->writable)
		return NFS3ERR_ROFS;
	return name_ok(&wh->name, name);
}

static void created(struct nfs_req *r, uint32_t st, struct obj *d, const char *name,
		    struct nfs3_wcc *w)
{
	struct nfs_server *s = r->srv;
	struct nfs3_post_attr pa = { 0 };
	struct nfs3_fh fh;
	struct obj o = { .fd = -1 };

	if (st == NFS3_OK && open_child(s, d, name, &o) == 0) {
		obj_fh(s, &o, &fh);
		post_attr_st(s, &o.st, &pa);
	}
	if (d->fd >= 0)
		wcc_post(s, d->fd, w);
	nfs3_enc_create(r->e, st, st == NFS3_OK && o.fd >= 0 ? &fh : NULL, &pa, w);
	obj_close(&o);
	obj_close(d);
}

static void p_create(struct nfs_req *r, const struct nfs3_args *a)
{
	const struct nfs3_sattr *sa = &a->u.create.attr;
	char name[NFS3_NAME_MAX + 1];
	struct nfs3_wcc w;
	struct obj d;
	uint32_t st = where(r, &a->u.create.where, &d, name, &w);
	uint32_t mode = a->u.create.mode;
	int fd = -1;

	if (st != NFS3_OK)
		goto out;
	become(r);
	if (mode == NFS3_CREATE_EXCLUSIVE) {
		/* the verifier lives in atime/mtime seconds until the client's
		 * SETATTR: a retransmitted CREATE finds it and succeeds */
		uint32_t v0 = wire_get32(a->u.create.verf), v1 = wire_get32(a->u.create.verf + 4);
		fd = openat(d.fd, name, O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			struct timespec ts[2] = { { .tv_sec = v0 }, { .tv_sec = v1 } };
			futimens(fd, ts);
		} else if (errno == EEXIST) {
			struct stat ex;
			if (fstatat(d.fd, name, &ex, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(ex.st_mode) &&
			    (uint32_t)ex.st_atim.tv_sec == v0 && (uint32_t)ex.st_mtim.tv_sec == v1)
				st = NFS3_OK;
			else
				st = NFS3ERR_EXIST;
		} else {
			st = errno_stat(errno);
		}
	} else {
		int fl = O_CREAT | O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
			 (mode == NFS3_CREATE_GUARDED ? O_EXCL : 0);
		fd = openat(d.fd, name, fl, sa->set_mode ? sa->mode & 07777 : 0644);
		if (fd < 0) {
			st = errno_stat(errno);
		} else {
			struct obj o = { .fd = fd };
			struct nfs3_sattr rest = *sa;
			fstat(fd, &o.st);
			if (rest.set_mode && fchmod(fd, rest.mode & 07777) == 0)	/* umask */
				rest.set_mode = 0;
			/* size through a write open of the new file */
			if (rest.set_size) {
				int wfd = openat(d.fd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
				if (wfd < 0 || ftruncate(wfd, (off_t)rest.size) < 0)
					st = errno_stat(errno);
				if (wfd >= 0)
					close(wfd);
				rest.set_size = 0;
			}
			if (st == NFS3_OK && (rest.set_uid || rest.set_gid || rest.set_atime ||
					      rest.set_mtime)) {
				int pfd = openat(d.fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
				if (pfd >= 0) {
					o.fd = pfd;
					fstat(pfd, &o.st);
					st = apply_sattr(&o, &rest);
					close(pfd);
				}
			}
		}
	}
	unbecome();
	if (fd >= 0)
		close(fd);
out:
	created(r, st, &d, name, &w);
}

static void p_mkdir(struct nfs_req *r, const struct nfs3_args *a)
{
	const struct nfs3_sattr *sa = &a->u.mkdir.attr;
	char name[NFS3_NAME_MAX + 1];
	struct nfs3_wcc w;
	struct obj d;
	uint32_t st = where(r, &a->u.mkdir.where, &d, name, &w);

	if (st == NFS3_OK) {
		become(r);
		if (mkdirat(d.fd, name, sa->set_mode ? sa->mode & 07777 : 0755) < 0)
			st = errno_stat(errno);
		else if (sa->set_mode && fchmodat(d.fd, name, sa->mode & 07777, 0) < 0) {
			/* past the umask; best effort: the directory exists */
		}
		unbecome();
	}
	created(r, st, &d, name, &w);
}

static void p_symlink(struct nfs_req *r, const struct nfs3_args *a)
{
	char name[NFS3_NAME_MAX + 1], target[NFS3_PATH_MAX + 1];
	const struct nfs3_str *t = &a->u.symlink.path;
	struct nfs3_wcc w;
	struct obj d;
	uint32_t st = where(r, &a->u.symlink.where, &d, name, &w);

	if (st == NFS3_OK && (t->len == 0 || memchr(t->p, '\0', t->len)))
		st = NFS3ERR_INVAL;
	if (st == NFS3_OK) {
		memcpy(target, t->p, t->len);
		target[t->len] = '\0';
		become(r);
		if (symlinkat(target, d.fd, name) < 0)
			st = errno_stat(errno);
		unbecome();
	}
	created(r, st, &d, name, &w);
}

static void p_mknod(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_wcc w;
	struct obj d;
	uint32_t st = resolve(r->srv, &a->u.mknod.where.dir, &d);

	if (st != NFS3_OK)
		return fail(r, st);
	wcc_pre(&d.st, &w);
	wcc_post(r->srv, d.fd, &w);
	nfs3_enc_create(r->e, NFS3ERR_NOTSUPP, NULL, NULL, &w);
	obj_close(&d);
}

/* REMOVE / RMDIR */
static void p_remove(struct nfs_req *r, const struct nfs3_args *a)
{
	char name[NFS3_NAME_MAX + 1];
	struct nfs3_wcc w;
	struct obj d;
	struct stat ex;
	uint32_t st = where(r, &a->u.lookup, &d, name, &w);

	if (st == NFS3ERR_EXIST)
		st = NFS3ERR_INVAL;	/* "." / ".." */
	if (st == NFS3_OK) {
		int isdir = r->call->proc == NFS3_RMDIR;
		int have = fstatat(d.fd, name, &ex, AT_SYMLINK_NOFOLLOW) == 0;
		become(r);
		if (!have)
			st = NFS3ERR_NOENT;
		else if (!isdir && S_ISDIR(ex.st_mode))
			st = NFS3ERR_ISDIR;
		else if (isdir && !S_ISDIR(ex.st_mode))
			st = NFS3ERR_NOTDIR;
		else if (unlinkat(d.fd, name, isdir ? AT_REMOVEDIR : 0) < 0)
			st = errno == EEXIST ? NFS3ERR_NOTEMPTY : errno_stat(errno);
		unbecome();
		if (st == NFS3_OK && ex.st_nlink <= 1)
			ino_del(r->srv, (uint64_t)ex.st_ino);
	}
	if (d.fd >= 0)
		wcc_post(r->srv, d.fd, &w);
	nfs3_enc_wccres(r->e, st, &w);
	obj_close(&d);
}

static void p_rename(struct nfs_req *r, const struct nfs3_args *a)
{
	char n1[NFS3_NAME_MAX + 1], n2[NFS3_NAME_MAX + 1];
	struct nfs3_wcc w1, w2;
	struct obj d1, d2 = { .fd = -1 };
	struct stat ex;
	uint32_t st = where(r, &a->u.rename.from, &d1, n1, &w1);

	memset(&w2, 0, sizeof(w2));
	if (st == NFS3_OK)
		st = where(r, &a->u.rename.to, &d2, n2, &w2);
	if (st == NFS3ERR_EXIST)
		st = NFS3ERR_INVAL;
	if (st == NFS3_OK) {
		become(r);
		int have = fstatat(d1.fd, n1, &ex, AT_SYMLINK_NOFOLLOW) == 0;
		if (renameat(d1.fd, n1, d2.fd, n2) < 0)
			st = errno == EEXIST ? NFS3ERR_NOTEMPTY : errno_stat(errno);
		unbecome();
		if (st == NFS3_OK && have) {
			char rel[NFS_REL_MAX];
			if (child_rel(d2.rel, n2, rel) == 0)
				ino_put(r->srv, (uint64_t)ex.st_ino, rel);
		}
	}
	if (d1.fd >= 0)
		wcc_post(r->srv, d1.fd, &w1);
	if (d2.fd >= 0)
		wcc_post(r->srv, d2.fd, &w2);
	nfs3_enc_rename(r->e, st, &w1, &w2);
	obj_close(&d1);
	obj_close(&d2);
}

static void p_link(struct nfs_req *r, const struct nfs3_args *a)
{
	char name[NFS3_NAME_MAX + 1], pp[32];
	struct nfs3_post_attr pa = { 0 };
	struct nfs3_wcc w;
	struct obj o, d = { .fd = -1 };
	uint32_t st = resolve(r->srv, &a->u.link.fh, &o);

	memset(&w, 0, sizeof(w));
	if (st != NFS3_OK)
		return fail(r, st);
	st = where(r, &a->u.link.to, &d, name, &w);
	if (st == NFS3_OK && S_ISDIR(o.st.st_mode))
		st = NFS3ERR_ISDIR;
	if (st == NFS3_OK) {
		become(r);
		/* through /proc: linkat(AT_EMPTY_PATH) would need CAP_DAC_READ_SEARCH */
		if (linkat(AT_FDCWD, proc_path(o.fd, pp, sizeof(pp)), d.fd, name, AT_SYMLINK_FOLLOW) < 0)
			st = errno_stat(errno);
		unbecome();
	}
	post_attr_fd(r->srv, o.fd, &pa);
	if (d.fd >= 0)
		wcc_post(r->srv, d.fd, &w);
	nfs3_enc_link(r->e, st, &pa, &w);
	obj_close(&o);
	obj_close(&d);
}

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

static void p_readdir(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct xdr_enc *e = r->e;
	int plus = r->call->proc == NFS3_READDIRPLUS;
	struct nfs3_post_attr pd;
	uint8_t verf[8], buf[32768];
	struct obj d;
	uint32_t st = resolve(s, &a->u.readdir.fh, &d);
	size_t start = e->len, limit;
	int eof = 0, n = 0, dfd;

	if (st != NFS3_OK)
		return fail(r, st);
	post_attr_st(s, &d.st, &pd);
	dir_verf(&d.st, verf);
	if (!S_ISDIR(d.st.st_mode)) {
		nfs3_enc_readdir_head(e, NFS3ERR_NOTDIR, &pd, verf);
		goto out;
	}
	if (a->u.readdir.cookie && memcmp(a->u.readdir.verf, verf, 8) &&
	    memcmp(a->u.readdir.verf, "\0\0\0\0\0\0\0\0", 8)) {
		nfs3_enc_readdir_head(e, NFS3ERR_BAD_COOKIE, &pd, verf);
		goto out;
	}
	become(r);
	dfd = openat2_beneath(s->dirfd, d.rel, O_RDONLY | O_DIRECTORY, 0);
	unbecome();
	if (dfd < 0) {
		nfs3_enc_readdir_head(e, errno_stat(errno), &pd, verf);
		goto out;
	}
	if (a->u.readdir.cookie && lseek(dfd, (off_t)a->u.readdir.cookie, SEEK_SET) < 0) {
		close(dfd);
		nfs3_enc_readdir_head(e, NFS3ERR_BAD_COOKIE, &pd, verf);
		goto out;
	}
	limit = start + (plus ? a->u.readdir.maxcount : a->u.readdir.count);
	if (limit > e->cap)
		limit = e->cap;
	nfs3_enc_readdir_head(e, NFS3_OK, &pd, verf);
	for (int full = 0; !full;) {
		long got = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
		if (got < 0) {
			close(dfd);
			e->len = start;
			nfs3_enc_readdir_head(e, errno_stat(errno), &pd, verf);
			goto out;
		}
		if (got == 0) {
			eof = 1;
			break;
		}
		for (long off = 0; off < got;) {
			struct linux_dirent64 *de = (struct linux_dirent64 *)(buf + off);
			char rel[NFS_REL_MAX];
			struct nfs3_post_attr ea = { 0 };
			struct nfs3_fh efh;
			int has_fh = 0;
			uint64_t fileid = de->d_ino;
			off += de->d_reclen;
			if (!strcmp(de->d_name, ".."))
				parent_rel(d.rel, rel);
			else if (!strcmp(de->d_name, "."))
				snprintf(rel, sizeof(rel), "%s", d.rel);
			else if (child_rel(d.rel, de->d_name, rel) < 0)
				continue;
			if (plus || !strcmp(de->d_name, "..")) {
				struct obj c = { .fd = -1 };
				c.fd = openat2_beneath(s->dirfd, rel, O_PATH | O_NOFOLLOW, 0);
				if (c.fd >= 0 && fstat(c.fd, &c.st) == 0) {
					fileid = (uint64_t)c.st.st_ino;
					if (plus) {
						post_attr_st(s, &c.st, &ea);
						obj_fh(s, &c, &efh);
						has_fh = 1;
					}
				}
				obj_close(&c);
			}
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				ino_put(s, fileid, rel);
			if (!nfs3_enc_readdir_entry(e, limit, fileid, de->d_name,
						    (uint32_t)strlen(de->d_name), (uint64_t)de->d_off,
						    &ea, has_fh ? &efh : NULL, plus)) {
				full = 1;
				break;
			}
			n++;
		}
	}
	close(dfd);
	if (!eof && n == 0) {
		e->len = start;
		nfs3_enc_readdir_head(e, NFS3ERR_TOOSMALL, &pd, verf);
		goto out;
	}
	nfs3_enc_readdir_end(e, eof);
out:
	obj_close(&d);
}

static void p_fsstat(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_post_attr pa;
	struct nfs3_fsstat fs = { 0 };
	struct statvfs v;
	struct obj o;
	uint32_t st = resolve(r->srv, &a->u.fh, &o);

	if (st != NFS3_OK)
		return fail(r, st);
	post_attr_st(r->srv, &o.st, &pa);
	if (fstatvfs(o.fd, &v) < 0) {
		st = errno_stat(errno);
	} else {
		fs.tbytes = (uint64_t)v.f_blocks * v.f_frsize;
		fs.fbytes = (uint64_t)v.f_bfree * v.f_frsize;
		fs.abytes = (uint64_t)v.f_bavail * v.f_frsize;
		fs.tfiles = v.f_files;
		fs.ffiles = v.f_ffree;
		fs.afiles = v.f_favail;
	}
	nfs3_enc_fsstat(r->e, st, &pa, &fs);
	obj_close(&o);
}

static void fsinfo_reply(struct nfs_req *r, const struct nfs3_post_attr *pa)
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

static void pathconf_reply(struct nfs_req *r, const struct nfs3_post_attr *pa)
{
	static const struct nfs3_pathconf pc = {
		.linkmax = 65000, .name_max = NFS3_NAME_MAX, .no_trunc = 1, .chown_restricted = 1,
		.case_insensitive = 0, .case_preserving = 1,
	};

	nfs3_enc_pathconf(r->e, NFS3_OK, pa, &pc);
}

static void p_fsinfo(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_post_attr pa;
	struct obj o;
	uint32_t st = resolve(r->srv, &a->u.fh, &o);

	if (st != NFS3_OK)
		return fail(r, st);
	post_attr_st(r->srv, &o.st, &pa);
	fsinfo_reply(r, &pa);
	obj_close(&o);
}

static void p_pathconf(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs3_post_attr pa;
	struct obj o;
	uint32_t st = resolve(r->srv, &a->u.fh, &o);

	if (st != NFS3_OK)
		return fail(r, st);
	post_attr_st(r->srv, &o.st, &pa);
	pathconf_reply(r, &pa);
	obj_close(&o);
}

/* ---- the namespace's virtual root ---- */

#define VROOT_FILEID 1
#define VROOT_TIME 1700000000u	/* the same on every node: it never changes */

static void vroot_attr(const struct nfs_server *s, struct nfs3_post_attr *p)
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

/* The handle a call is about (its home decides where it runs), and the
 * second one of RENAME and LINK. */
static const struct nfs3_fh *primary_fh(const struct nfs3_args *a, const struct nfs3_fh **second)
{
	*second = NULL;
	switch (a->proc) {
	case NFS3_GETATTR: case NFS3_READLINK: case NFS3_FSSTAT: case NFS3_FSINFO:
	case NFS3_PATHCONF: return &a->u.fh;
	case NFS3_SETATTR: return &a->u.setattr.fh;
	case NFS3_LOOKUP: case NFS3_REMOVE: case NFS3_RMDIR: return &a->u.lookup.dir;
	case NFS3_ACCESS: return &a->u.access.fh;
	case NFS3_READ: return &a->u.read.fh;
	case NFS3_WRITE: return &a->u.write.fh;
	case NFS3_CREATE: return &a->u.create.where.dir;
	case NFS3_MKDIR: return &a->u.mkdir.where.dir;
	case NFS3_SYMLINK: return &a->u.symlink.where.dir;
	case NFS3_MKNOD: return &a->u.mknod.where.dir;
	case NFS3_RENAME: *second = &a->u.rename.to.dir; return &a->u.rename.from.dir;
	case NFS3_LINK: *second = &a->u.link.to.dir; return &a->u.link.fh;
	case NFS3_READDIR: case NFS3_READDIRPLUS: return &a->u.readdir.fh;
	case NFS3_COMMIT: return &a->u.commit.fh;
	default: return NULL;
	}
}

static uint64_t name_fileid(const char *n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *n; n++)
		h = (h ^ (uint8_t)*n) * 0x100000001b3ull;
	return h | 1ull << 63;	/* apart from real inode numbers */
}

static void vroot_readdir(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct xdr_enc *e = r->e;
	int plus = r->call->proc == NFS3_READDIRPLUS;
	static const uint8_t verf[8] = { 't', 'a', 'n', 'd', 'e', 'm', 'v', 'r' };
	struct nfs3_post_attr pd;
	size_t start = e->len, limit;
	uint64_t i = a->u.readdir.cookie;
	unsigned total = 2 + s->cfg->nhomes, n = 0;

	vroot_attr(s, &pd);
	if (i && memcmp(a->u.readdir.verf, verf, 8) && memcmp(a->u.readdir.verf, "\0\0\0\0\0\0\0\0", 8)) {
		nfs3_enc_readdir_head(e, NFS3ERR_BAD_COOKIE, &pd, verf);
		return;
	}
	limit = start + (plus ? a->u.readdir.maxcount : a->u.readdir.count);
	if (limit > e->cap)
		limit = e->cap;
	nfs3_enc_readdir_head(e, NFS3_OK, &pd, verf);
	for (; i < total; i++) {
		const char *name = i == 0 ? "." : i == 1 ? ".." : s->cfg->homes[i - 2].dir;
		struct nfs3_post_attr ea = { 0 };
		struct nfs3_fh efh;
		int has_fh = 0;
		uint64_t fileid = VROOT_FILEID;
		if (i < 2) {
			nfs3_root_fh(s, &efh);
			vroot_attr(s, &ea);
			has_fh = 1;
		} else if (s->cfg->homes[i - 2].node_id == s->cfg->node_id) {
			struct obj c = { .fd = openat2_beneath(s->dirfd, name, O_PATH | O_NOFOLLOW, 0) };
			if (c.fd < 0 || fstat(c.fd, &c.st) < 0) {
				obj_close(&c);
				continue;	/* not on this node's disk (yet) */
			}
			fileid = (uint64_t)c.st.st_ino;
			snprintf(c.rel, sizeof(c.rel), "%s", name);
			ino_put(s, fileid, name);
			if (plus) {
				post_attr_st(s, &c.st, &ea);
				obj_fh(s, &c, &efh);
				has_fh = 1;
			}
			obj_close(&c);
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
		nfs3_enc_readdir_head(e, NFS3ERR_TOOSMALL, &pd, verf);
		return;
	}
	nfs3_enc_readdir_end(e, i >= total);
}

/* A call on the virtual root: answered here (LOOKUP of another node's
 * directory: forwarded).  0 answered, NFS_FORWARDED. */
static int vroot_call(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	struct nfs3_post_attr pa;
	struct nfs3_fh fh;

	vroot_attr(s, &pa);
	switch (a->proc) {
	case NFS3_GETATTR:
		nfs3_enc_getattr(r->e, NFS3_OK, &pa.a);
		return 0;
	case NFS3_ACCESS:
		nfs3_enc_access(r->e, NFS3_OK, &pa,
				a->u.access.access & (NFS3_ACCESS_READ | NFS3_ACCESS_LOOKUP));
		return 0;
	case NFS3_LOOKUP: {
		const struct nfs3_str *nm = &a->u.lookup.name;
		char name[NFS3_NAME_MAX + 1];
		uint32_t st = name_ok(nm, name);
		if (st == NFS3ERR_EXIST) {	/* "." and "..": the root itself */
			nfs3_root_fh(s, &fh);
			nfs3_enc_lookup(r->e, NFS3_OK, &fh, &pa, &pa);
			return 0;
		}
		uint8_t home = st == NFS3_OK ? nfs_home_of(s, nm->p, nm->len) : 0;
		if (st != NFS3_OK || !home) {
			nfs3_enc_lookup(r->e, st != NFS3_OK ? st : NFS3ERR_NOENT, NULL, NULL, &pa);
			return 0;
		}
		if (home != s->cfg->node_id) {
			if (nfs_proxy_forward(r, home) == 0)
				return NFS_FORWARDED;
			nfs3_enc_lookup(r->e, NFS3ERR_JUKEBOX, NULL, NULL, &pa);
			return 0;
		}
		struct obj o = { .fd = openat2_beneath(s->dirfd, name, O_PATH | O_NOFOLLOW, 0) };
		struct nfs3_post_attr oa;
		if (o.fd < 0 || fstat(o.fd, &o.st) < 0) {
			st = errno_stat(errno);
			obj_close(&o);
			nfs3_enc_lookup(r->e, st, NULL, NULL, &pa);
			return 0;
		}
		snprintf(o.rel, sizeof(o.rel), "%s", name);
		ino_put(s, (uint64_t)o.st.st_ino, name);
		obj_fh(s, &o, &fh);
		post_attr_st(s, &o.st, &oa);
		obj_close(&o);
		nfs3_enc_lookup(r->e, NFS3_OK, &fh, &oa, &pa);
		return 0;
	}
	case NFS3_READDIR: case NFS3_READDIRPLUS:
		vroot_readdir(r, a);
		return 0;
	case NFS3_FSSTAT: {
		struct nfs3_fsstat fs = { 0 };
		struct statvfs v;
		if (fstatvfs(s->dirfd, &v) == 0) {
			fs.tbytes = (uint64_t)v.f_blocks * v.f_frsize;
			fs.fbytes = (uint64_t)v.f_bfree * v.f_frsize;
			fs.abytes = (uint64_t)v.f_bavail * v.f_frsize;
			fs.tfiles = v.f_files;
			fs.ffiles = v.f_ffree;
			fs.afiles = v.f_favail;
		}
		nfs3_enc_fsstat(r->e, NFS3_OK, &pa, &fs);
		return 0;
	}
	case NFS3_FSINFO:
		fsinfo_reply(r, &pa);
		return 0;
	case NFS3_PATHCONF:
		pathconf_reply(r, &pa);
		return 0;
	case NFS3_READ: case NFS3_WRITE: case NFS3_COMMIT:
		fail(r, NFS3ERR_ISDIR);
		return 0;
	case NFS3_READLINK:
		fail(r, NFS3ERR_INVAL);
		return 0;
	default:	/* the top-level directories come from the configuration */
		fail(r, NFS3ERR_ACCES);
		return 0;
	}
}

/*
 * Where a call runs with a namespace: 0 here (local), NFS_FORWARDED to the
 * handle's home node, or 2: answered already (the virtual root; RENAME or
 * LINK across nodes: NFS3ERR_XDEV, not supported yet).
 */
static int route(struct nfs_req *r, const struct nfs3_args *a)
{
	struct nfs_server *s = r->srv;
	const struct nfs3_fh *h2, *h = primary_fh(a, &h2);
	struct nfs_fh f, f2;

	if (!h || nfs_fh_decode(h->data, h->len, s->key, s->keylen, &f, NULL, 0) < 0)
		return 0;	/* resolved here: BADHANDLE */
	int v = f.flags & NFS_FH_F_VROOT;
	if (h2 && nfs_fh_decode(h2->data, h2->len, s->key, s->keylen, &f2, NULL, 0) == 0) {
		if (v || (f2.flags & NFS_FH_F_VROOT)) {
			fail(r, NFS3ERR_ACCES);
			return 2;
		}
		if (f2.node_id != f.node_id) {
			if (a->proc == NFS3_RENAME && f.node_id == s->cfg->node_id)
				return nfs_xrename_start(r, a, f2.node_id) == NFS_FORWARDED
					       ? NFS_FORWARDED : 2;
			if (a->proc != NFS3_RENAME) {
				fail(r, NFS3ERR_XDEV);	/* a hard link cannot span two disks */
				return 2;
			}
			/* RENAME from another home: that home runs it (below) */
		}
	}
	if (v) {
		int rc = vroot_call(r, a);
		return rc == NFS_FORWARDED ? NFS_FORWARDED : 2;
	}
	if (f.node_id == s->cfg->node_id)
		return 0;
	if (nfs_proxy_forward(r, f.node_id) == 0)
		return NFS_FORWARDED;
	fail(r, f.node_id ? NFS3ERR_JUKEBOX : NFS3ERR_STALE);
	return 2;
}

typedef void (*nfs3_proc_fn)(struct nfs_req *, const struct nfs3_args *);

static const nfs3_proc_fn procs[NFS3_NPROC] = {
	[NFS3_GETATTR] = p_getattr, [NFS3_SETATTR] = p_setattr, [NFS3_LOOKUP] = p_lookup,
	[NFS3_ACCESS] = p_access, [NFS3_READLINK] = p_readlink, [NFS3_READ] = p_read,
	[NFS3_WRITE] = p_write, [NFS3_CREATE] = p_create, [NFS3_MKDIR] = p_mkdir,
	[NFS3_SYMLINK] = p_symlink, [NFS3_MKNOD] = p_mknod, [NFS3_REMOVE] = p_remove,
	[NFS3_RMDIR] = p_remove, [NFS3_RENAME] = p_rename, [NFS3_LINK] = p_link,
	[NFS3_READDIR] = p_readdir, [NFS3_READDIRPLUS] = p_readdir, [NFS3_FSSTAT] = p_fsstat,
	[NFS3_FSINFO] = p_fsinfo, [NFS3_PATHCONF] = p_pathconf, [NFS3_COMMIT] = p_commit,
};

int nfs3_call(struct nfs_req *r)
{
	struct nfs_server *s = r->srv;
	uint32_t proc = r->call->proc, xid = r->call->xid;
	struct nfs3_args *a;
	char err[160];

	if (proc >= NFS3_NPROC) {
		s->st.proc_unavail++;
		return rpc_reply_accepted(r->e, xid, RPC_PROC_UNAVAIL);
	}
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
		s->st.garbage_args++;
		log_debug("nfs conn %llu xid %#x: %s", (unsigned long long)r->c->id, xid, err);
		free(a);
		return rpc_reply_accepted(r->e, xid, RPC_GARBAGE_ARGS);
	}
	rpc_reply_accepted(r->e, xid, RPC_SUCCESS);
	if (proc != NFS3_NULL) {
		int rc = 0;
		if (!r->c->allowed)
			fail(r, NFS3ERR_ACCES);
		else if (s->cfg->vroot && (rc = route(r, a)) != 0)
			;	/* forwarded, or answered */
		else
			procs[proc](r, a);
		if (rc == NFS_FORWARDED) {
			free(a);
			return NFS_FORWARDED;
		}
	}
	free(a);
	return r->e->err ? -1 : 0;
}

int nfs3_export_open(struct nfs_server *s)
{
	struct stat st;
	int g[2] = { 0, 0 };

	s->dirfd = open(s->cfg->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0 || fstat(s->dirfd, &st) < 0) {
		log_warn("nfs: export %s", s->cfg->path);
		return -1;
	}
	int probe = openat2_beneath(s->dirfd, "", O_PATH, 0);
	if (probe < 0) {
		log_warn("nfs: export %s: openat2 (needs Linux >= 5.6)", s->cfg->path);
		return -1;
	}
	close(probe);
	int rfd = open(s->cfg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->has_gen = rfd >= 0 && ioctl(rfd, FS_IOC_GETVERSION, g) == 0;
	if (rfd >= 0)
		close(rfd);
	s->root_ino = (uint64_t)st.st_ino;
	s->root_gen = s->has_gen ? (uint32_t)g[0] : 0;
	ino_put(s, s->root_ino, "");
	return 0;
}

void nfs3_export_close(struct nfs_server *s)
{
	ino_clear(s);
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->dirfd = -1;
}

uint32_t nfs3_subdir_fh(struct nfs_server *s, const char *rel, struct nfs3_fh *fh)
{
	struct obj o;

	/* RESOLVE_BENEATH refuses ".." above the export and absolute symlinks */
	o.fd = openat2_beneath(s->dirfd, rel, O_PATH | O_DIRECTORY, 0);
	if (o.fd < 0)
		return errno == ENOENT ? MNT3ERR_NOENT : errno == ENOTDIR ? MNT3ERR_NOTDIR
									 : MNT3ERR_ACCES;
	if (fstat(o.fd, &o.st) < 0) {
		obj_close(&o);
		return MNT3ERR_IO;
	}
	snprintf(o.rel, sizeof(o.rel), "%s", rel);
	ino_put(s, (uint64_t)o.st.st_ino, rel);
	obj_fh(s, &o, fh);
	obj_close(&o);
	return MNT3_OK;
}

uint32_t nfs3_xrename_source(struct nfs_req *r, const struct nfs3_diropargs *from, int *dirfd,
			     int *fd, struct stat *st, char *name)
{
	struct nfs3_wcc w;
	struct obj d;
	uint32_t rc = where(r, from, &d, name, &w);

	*dirfd = *fd = -1;
	if (rc == NFS3ERR_EXIST)
		rc = NFS3ERR_INVAL;
	if (rc != NFS3_OK) {
		obj_close(&d);
		return rc;
	}
	if (fstatat(d.fd, name, st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = errno_stat(errno);
	} else if (!S_ISREG(st->st_mode)) {
		rc = NFS3ERR_XDEV;	/* directories and the rest stay on their home */
	} else {
		become(r);
		/* the caller must be able to remove it here and read it */
		if (faccessat(d.fd, "", W_OK | X_OK, AT_EACCESS | AT_EMPTY_PATH) < 0 && errno == EACCES)
			rc = NFS3ERR_ACCES;
		else if ((*fd = openat(d.fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			rc = errno_stat(errno);
		unbecome();
	}
	if (rc != NFS3_OK) {
		obj_close(&d);
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

	become_sys(s, cred);
	if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) < 0 || (uint64_t)now.st_ino != ino)
		rc = NFS3ERR_NOENT;	/* replaced meanwhile: leave the newcomer alone */
	else if (unlinkat(dirfd, name, 0) < 0)
		rc = errno_stat(errno);
	unbecome();
	if (rc == NFS3_OK && now.st_nlink <= 1)
		ino_del(s, ino);
	return rc;
}
