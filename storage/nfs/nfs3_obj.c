/*
 * nfs3_obj.c - what every NFSv3 procedure does to an object (nfs3_int.h):
 * statuses from errno, attributes and wcc_data, the caller's identity,
 * names of entries, SETATTR's settable attributes.
 *
 * Credentials: handles are resolved as the daemon; the operation itself
 * runs with the caller's AUTH_SYS uid, gid and groups as the file system
 * ids (setfsuid/setfsgid/setgroups, restored after each call), so the
 * kernel's permission checks apply.  root_squash (the default) maps uid and
 * gid 0 to anonuid/anongid; a call without an AUTH_SYS credential (MOUNT
 * takes AUTH_NONE) runs as anonuid/anongid with no groups.
 */
#include "nfs3_int.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

uint32_t nfs3_errno_stat(int e)
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

/* ---- attributes ---- */

void nfs3_attr_of(const struct nfs_server *s, const struct stat *st, struct nfs3_fattr *a)
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

void nfs3_post_attr_of(const struct nfs_server *s, const struct stat *st,
			 struct nfs3_post_attr *p)
{
	p->present = 1;
	nfs3_attr_of(s, st, &p->a);
}

/* Post-op attributes of an O_PATH fd (absent if fstat fails). */
void nfs3_post_attr_fd(const struct nfs_server *s, int fd, struct nfs3_post_attr *p)
{
	struct stat st;

	p->present = 0;
	if (fd >= 0 && fstat(fd, &st) == 0)
		nfs3_post_attr_of(s, &st, p);
}

void nfs3_wcc_pre(const struct stat *st, struct nfs3_wcc *w)
{
	memset(w, 0, sizeof(*w));
	w->has_pre = 1;
	w->pre.size = (uint64_t)st->st_size;
	w->pre.mtime.sec = (uint32_t)st->st_mtim.tv_sec;
	w->pre.mtime.nsec = (uint32_t)st->st_mtim.tv_nsec;
	w->pre.ctime.sec = (uint32_t)st->st_ctim.tv_sec;
	w->pre.ctime.nsec = (uint32_t)st->st_ctim.tv_nsec;
}

void nfs3_wcc_post(const struct nfs_server *s, int fd, struct nfs3_wcc *w)
{
	struct stat st;

	if (fd >= 0 && fstat(fd, &st) == 0) {
		w->has_post = 1;
		nfs3_attr_of(s, &st, &w->post);
	}
}

/* ---- credentials ---- */

/* uid or gid id after root_squash: 0 becomes anon. */
static uint32_t squash(const struct nfs_access *acc, uint32_t id, uint32_t anon)
{
	return (id == 0 && acc->root_squash) ? anon : id;
}

/* a's ids as they act: squashed as acc says; with manage_gids the groups
 * of a's uid from NSS (nfs_gids.c), else a's own. */
static void effective(struct nfs_server *s, const struct nfs_access *acc,
		      const struct rpc_auth_sys *a, struct nfs_cred *out)
{
	const uint32_t *g = NULL;
	uint32_t n = 0;

	out->uid = squash(acc, a->uid, acc->anonuid);
	out->gid = squash(acc, a->gid, acc->anongid);
	/* a squashed root is nobody: no directory groups for it */
	if (s->cfg->manage_gids && (a->uid != 0 || !acc->root_squash))
		g = nfs_gids_of(s, a->uid, &n);
	if (!g) {
		g = a->gids;
		n = a->ngids;
	}
	out->ngids = n;
	for (uint32_t i = 0; i < n; i++)
		out->gids[i] = squash(acc, g[i], acc->anongid);
}

/* The thread's supplementary groups := g[n] (the raw syscall: this thread
 * only, nasd has one, no glibc broadcast); skipped when they are already
 * (s->keep_groups: a caller's groups stay set between calls). */
static void set_groups(struct nfs_server *s, const gid_t *g, uint32_t n)
{
	if (s->keep_groups && s->groups_set && s->cur_ngids == n &&
	    !memcmp(s->cur_gids, g, n * sizeof(*g)))
		return;
	if (syscall(SYS_setgroups, (size_t)n, g) < 0) {
		s->groups_set = 0;
		return;
	}
	s->groups_set = 1;
	s->cur_ngids = n;
	memcpy(s->cur_gids, g, n * sizeof(*g));
}

/* Take e's ids as the file system ids (root only: else nothing to do). */
static void set_ids(struct nfs_server *s, const struct nfs_cred *e)
{
	gid_t g[NFS_CRED_GIDS_MAX];

	if (geteuid() != 0)
		return;		/* unprivileged daemon: its own permissions apply */
	for (uint32_t i = 0; i < e->ngids; i++)
		g[i] = e->gids[i];
	set_groups(s, g, e->ngids);
	if (!s->fsids_known || s->cur_fsgid != e->gid)
		setfsgid(e->gid);
	if (!s->fsids_known || s->cur_fsuid != e->uid)
		setfsuid(e->uid);
	s->cur_fsgid = e->gid;
	s->cur_fsuid = e->uid;
	s->fsids_known = 1;
}

void nfs3_become_sys(struct nfs_server *s, const struct rpc_auth_sys *a)
{
	struct nfs_cred e;
	struct nfs_access acc;

	/* a namespace peer's call: the section's options (its client was
	 * checked where it came in) */
	nfs_policy_access(s, NULL, 1, 1, &acc);
	effective(s, &acc, a, &e);
	set_ids(s, &e);
}

void nfs3_eff_cred(const struct nfs_req *r, struct nfs_cred *c)
{
	static const struct rpc_auth_sys none = { 0 };

	if (r->call->cred_flavor != RPC_AUTH_SYS) {
		/* without AUTH_SYS (MOUNT's AUTH_NONE): anonymous, whatever
		 * root_squash says */
		c->uid = r->acc->anonuid;
		c->gid = r->acc->anongid;
		c->ngids = none.ngids;
		return;
	}
	effective(r->srv, r->acc, &r->call->sys, c);
}

void nfs3_become(struct nfs_req *r)
{
	struct nfs_cred e;

	nfs3_eff_cred(r, &e);
	set_ids(r->srv, &e);
}

void nfs3_unbecome(struct nfs_server *s)
{
	int e = errno;	/* the caller's operation's, for its status */

	if (geteuid() != 0)
		return;
	if (!s->fsids_known || s->cur_fsuid != 0)
		setfsuid(0);
	if (!s->fsids_known || s->cur_fsgid != 0)
		setfsgid(0);
	s->cur_fsuid = s->cur_fsgid = 0;
	s->fsids_known = 1;
	if (!s->keep_groups) {
		gid_t none = 0;
		set_groups(s, &none, 0);
	}
	errno = e;
}

int nfs3_may_search(struct nfs_req *r, int fd)
{
	struct nfs_cred e;

	/* an unsquashed root with the capability may search anything: the
	 * kernel's check would say so (six system calls a LOOKUP spared) */
	nfs3_eff_cred(r, &e);
	if (e.uid == 0 && r->srv->root_searches)
		return 1;
	set_ids(r->srv, &e);
	int rc = faccessat(fd, "", X_OK, AT_EACCESS | AT_EMPTY_PATH);
	nfs3_unbecome(r->srv);
	return !(rc < 0 && errno == EACCES);
}

/* ---- names ---- */

/* A name for a new or existing entry: 1..255 bytes, no '/', no NUL, not
 * "." or "..".  Copied NUL-terminated into out[256]. */
uint32_t nfs3_name_ok(const struct nfs3_str *n, char *out)
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

int nfs3_child_rel(const char *dir, const char *name, char *out)
{
	return snprintf(out, NFS_REL_MAX, "%s%s%s", dir, dir[0] ? "/" : "", name) >= NFS_REL_MAX
		       ? -1 : 0;
}

void nfs3_parent_rel(const char *rel, char *out)
{
	const char *sl = strrchr(rel, '/');

	if (!sl) {
		out[0] = '\0';
		return;
	}
	memcpy(out, rel, (size_t)(sl - rel));
	out[sl - rel] = '\0';
}

/* Open name below dir (O_PATH, no follow) as an object; cache it. */
int nfs3_open_child(struct nfs_server *s, const struct nfs3_obj *dir, const char *name,
		    struct nfs3_obj *o)
{
	o->fd = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (o->fd < 0)
		return -1;
	if (fstat(o->fd, &o->st) < 0 || nfs3_child_rel(dir->rel, name, o->rel) < 0) {
		nfs3_obj_close(o);
		errno = ENAMETOOLONG;
		return -1;
	}
	nfs3_ino_put(s, (uint64_t)o->st.st_ino, o->rel);
	return 0;
}

int nfs3_open_file(struct nfs_req *r, const struct nfs3_obj *o, int flags, struct stat *st,
		   uint32_t *status)
{
	nfs3_become(r);
	int fd = nfs3_open_beneath(r->srv->dirfd, o->rel,
				   (uint64_t)(flags | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY), 0);
	nfs3_unbecome(r->srv);
	if (fd < 0) {
		*status = nfs3_errno_stat(errno);
		return -1;
	}
	if (fstat(fd, st) < 0) {
		*status = nfs3_errno_stat(errno);
	} else if (st->st_ino != o->st.st_ino || st->st_dev != o->st.st_dev) {
		*status = NFS3ERR_JUKEBOX;	/* renamed under us: the client retries */
	} else if (!S_ISREG(st->st_mode)) {
		*status = S_ISDIR(st->st_mode) ? NFS3ERR_ISDIR : NFS3ERR_INVAL;
	} else {
		*status = NFS3_OK;
		return fd;
	}
	close(fd);
	return -1;
}

char *nfs3_proc_path(int fd, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
	return buf;
}

/* ---- SETATTR ---- */

/* Apply the settable attributes (already as the caller). */
uint32_t nfs3_apply_sattr(const struct nfs3_obj *o, const struct nfs3_sattr *a)
{
	char pp[32];
	int lnk = S_ISLNK(o->st.st_mode);

	if ((a->set_uid || a->set_gid) &&
	    fchownat(o->fd, "", a->set_uid ? a->uid : (uid_t)-1, a->set_gid ? a->gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return nfs3_errno_stat(errno);
	if (a->set_mode && !lnk && chmod(nfs3_proc_path(o->fd, pp, sizeof(pp)), a->mode & 07777) < 0)
		return nfs3_errno_stat(errno);
	if (a->set_size) {
		if (S_ISDIR(o->st.st_mode))
			return NFS3ERR_ISDIR;
		if (!S_ISREG(o->st.st_mode))
			return NFS3ERR_INVAL;
		/* the same inode again (a regular file: no FIFO to block on) */
		int wfd = open(nfs3_proc_path(o->fd, pp, sizeof(pp)),
			       O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (wfd < 0)
			return nfs3_errno_stat(errno);
		int rc = ftruncate(wfd, (off_t)a->size);
		int e = errno;
		close(wfd);
		if (rc < 0)
			return nfs3_errno_stat(e);
	}
	if ((a->set_atime || a->set_mtime) && !lnk) {
		struct timespec ts[2];
		ts[0].tv_nsec = a->set_atime == SET_TIME_DONT ? UTIME_OMIT :
				a->set_atime == SET_TIME_SERVER ? UTIME_NOW : (long)a->atime.nsec;
		ts[0].tv_sec = a->atime.sec;
		ts[1].tv_nsec = a->set_mtime == SET_TIME_DONT ? UTIME_OMIT :
				a->set_mtime == SET_TIME_SERVER ? UTIME_NOW : (long)a->mtime.nsec;
		ts[1].tv_sec = a->mtime.sec;
		if (utimensat(AT_FDCWD, nfs3_proc_path(o->fd, pp, sizeof(pp)), ts, 0) < 0)
			return nfs3_errno_stat(errno);
	}
	return NFS3_OK;
}

/* ---- replies ---- */

void nfs3_fail(struct nfs_req *r, uint32_t st)
{
	nfs3_put_error(r->e, r->call->proc, st);
}
