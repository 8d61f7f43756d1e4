/*
 * nfs3_handle.c - the export and its handles (nfs3_int.h).
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
 * not found: NFS3ERR_STALE, and the handle is remembered as stale for a
 * while (nfs_int.h, struct nfs_stale_ent), so a client repeating it (or
 * sending it on purpose) does not make every call scan the export.
 */
#include "nfs3_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/log.h"
#include "nfs_fh.h"

#define SCAN_MAX 200000		/* entries a handle scan may visit */

int nfs3_open_beneath(int dirfd, const char *rel, uint64_t flags, uint64_t mode)
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

/* ---- the inode -> path cache ---- */

static unsigned ino_bucket(uint64_t ino)
{
	return (unsigned)((ino * 0x9e3779b97f4a7c15ull) >> 52) & (NFS_INO_BUCKETS - 1);
}

/* ---- handles found stale (nfs_int.h) ---- */

static struct nfs_stale_ent *stale_slot(struct nfs_server *s, uint64_t ino)
{
	return &s->stale[(unsigned)((ino * 0x9e3779b97f4a7c15ull) >> 40) % NFS_STALE_SLOTS];
}

/* Whether ino/gen was found stale within NFS_STALE_TTL_MS. */
static int stale_known(struct nfs_server *s, uint64_t ino, uint32_t gen)
{
	const struct nfs_stale_ent *e = stale_slot(s, ino);

	return e->at_ms && e->ino == ino && e->gen == gen &&
	       loop_now_ms() - e->at_ms < NFS_STALE_TTL_MS;
}

static void stale_put(struct nfs_server *s, uint64_t ino, uint32_t gen)
{
	struct nfs_stale_ent *e = stale_slot(s, ino);
	uint64_t now = loop_now_ms();

	*e = (struct nfs_stale_ent){ .ino = ino, .gen = gen, .at_ms = now ? now : 1 };
}

/* ino has a path now: whatever was found stale under it may resolve. */
static void stale_forget(struct nfs_server *s, uint64_t ino)
{
	struct nfs_stale_ent *e = stale_slot(s, ino);

	if (e->ino == ino)
		e->at_ms = 0;
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

void nfs3_ino_del(struct nfs_server *s, uint64_t ino)
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
void nfs3_ino_put(struct nfs_server *s, uint64_t ino, const char *rel)
{
	const char *old = ino_get(s, ino);

	stale_forget(s, ino);
	if (old && !strcmp(old, rel))
		return;
	nfs3_ino_del(s, ino);
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

/* A handle's MAC as a slot: HMAC output, spread evenly already. */
static unsigned fhc_mac_slot(const uint8_t *h)
{
	return (unsigned)(h[NFS_FH_BODY] | h[NFS_FH_BODY + 1] << 8) % NFS_FHC_SLOTS;
}

/* nfs_fh_decode with s's key, answered from the cache of handles verified
 * before (nfs_int.h, struct nfs_fhc_ent): the same bytes, the same key,
 * the same result. */
int nfs3_fh_decode(struct nfs_server *s, const uint8_t *p, size_t len, struct nfs_fh *out)
{
	struct nfs_fhc_ent *e = NULL;

	if (len == NFS_FH_LEN && s->fhc_dec) {
		e = &s->fhc_dec[fhc_mac_slot(p)];
		if (e->used && !memcmp(e->h, p, NFS_FH_LEN)) {
			s->st.fh_hits++;
			*out = e->f;
			return 0;
		}
	}
	s->st.fh_macs++;
	if (nfs_fh_decode(p, len, s->key, s->keylen, out, NULL, 0) < 0)
		return -1;
	if (e) {
		memcpy(e->h, p, NFS_FH_LEN);
		e->f = *out;
		e->used = 1;
	}
	return 0;
}

static int fh_same(const struct nfs_fh *a, const struct nfs_fh *b)
{
	return a->node_id == b->node_id && a->flags == b->flags && a->export_id == b->export_id &&
	       a->ino == b->ino && a->gen == b->gen;
}

/* nfs_fh_encode with s's key, from the cache of handles signed before. */
static void fh_encode(struct nfs_server *s, const struct nfs_fh *fh, uint8_t *out)
{
	struct nfs_fhc_ent *e = s->fhc_enc ? &s->fhc_enc[ino_bucket(fh->ino) % NFS_FHC_SLOTS] : NULL;

	if (e && e->used && fh_same(&e->f, fh)) {
		s->st.fh_hits++;
		memcpy(out, e->h, NFS_FH_LEN);
		return;
	}
	s->st.fh_macs++;
	nfs_fh_encode(fh, s->key, s->keylen, out);
	if (e) {
		memcpy(e->h, out, NFS_FH_LEN);
		e->f = *fh;
		e->used = 1;
	}
}

/* FS_IOC_GETVERSION of fd (O_PATH) through a new fd of the same inode. */
static uint32_t gen_ioctl(int fd)
{
	char p[32];
	int g[2] = { 0, 0 };	/* FS_IOC_GETVERSION is declared long, file systems write an int */

	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	int rfd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (rfd < 0)
		return 0;
	if (ioctl(rfd, FS_IOC_GETVERSION, g) < 0)
		g[0] = 0;
	close(rfd);
	return (uint32_t)g[0];
}

/* The generation of fd's object (mode) from the cache by (dev, ino, birth
 * time) of sx (nfs_int.h, struct nfs_gen_ent), read by the ioctl where sx
 * is NULL or has no birth time; 0 where the file system has none, and for
 * anything but regular files and directories (opening a device or FIFO to
 * ask would have side effects). */
static uint32_t gen_of(struct nfs_server *s, int fd, mode_t mode, const struct statx *sx)
{
	struct nfs_gen_ent *e;

	if (!s->has_gen || !(S_ISREG(mode) || S_ISDIR(mode)))
		return 0;
	if (!s->gens || !sx || !(sx->stx_mask & STATX_BTIME) ||
	    (!sx->stx_btime.tv_sec && !sx->stx_btime.tv_nsec)) {
		s->st.gen_reads++;
		return gen_ioctl(fd);
	}
	uint64_t dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
	e = &s->gens[ino_bucket(sx->stx_ino) % NFS_GEN_SLOTS];
	if (e->ino == sx->stx_ino && e->dev == dev && e->bsec == sx->stx_btime.tv_sec &&
	    e->bnsec == sx->stx_btime.tv_nsec) {
		s->st.gen_hits++;
		return e->gen;
	}
	s->st.gen_reads++;
	*e = (struct nfs_gen_ent){ .ino = sx->stx_ino, .dev = dev, .bsec = sx->stx_btime.tv_sec,
				   .bnsec = sx->stx_btime.tv_nsec, .gen = gen_ioctl(fd) };
	return e->gen;
}

static int statx_fd(int fd, unsigned mask, struct statx *sx)
{
	return statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, mask, sx);
}

/* The generation of an object reached by an O_PATH fd (gen_of). */
static uint32_t obj_gen(struct nfs_server *s, int fd, mode_t mode)
{
	struct statx sx;

	if (!s->has_gen || !(S_ISREG(mode) || S_ISDIR(mode)))
		return 0;
	return gen_of(s, fd, mode, s->gens && statx_fd(fd, STATX_INO | STATX_BTIME, &sx) == 0
					   ? &sx : NULL);
}

/* fstat of fd and its object's generation with one statx (a file system
 * without the basic fields there: fstat, then obj_gen).  0 or -1. */
static int stat_gen(struct nfs_server *s, int fd, struct stat *st, uint32_t *gen)
{
	struct statx sx;

	if (statx_fd(fd, STATX_BASIC_STATS | STATX_BTIME, &sx) < 0 ||
	    (sx.stx_mask & STATX_BASIC_STATS) != STATX_BASIC_STATS) {
		if (fstat(fd, st) < 0)
			return -1;
		*gen = obj_gen(s, fd, st->st_mode);
		return 0;
	}
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	st->st_ino = sx.stx_ino;
	st->st_mode = sx.stx_mode;
	st->st_nlink = sx.stx_nlink;
	st->st_uid = sx.stx_uid;
	st->st_gid = sx.stx_gid;
	st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
	st->st_size = (off_t)sx.stx_size;
	st->st_blksize = (blksize_t)sx.stx_blksize;
	st->st_blocks = (blkcnt_t)sx.stx_blocks;
	st->st_atim = (struct timespec){ sx.stx_atime.tv_sec, sx.stx_atime.tv_nsec };
	st->st_mtim = (struct timespec){ sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec };
	st->st_ctim = (struct timespec){ sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec };
	*gen = gen_of(s, fd, st->st_mode, &sx);
	return 0;
}

static void make_fh_flags(struct nfs_server *s, uint16_t flags, uint64_t ino, uint32_t gen,
			  struct nfs3_fh *out)
{
	/* the virtual root is every node's: node id 0, the same handle everywhere */
	struct nfs_fh fh = { .node_id = (flags & NFS_FH_F_VROOT) ? 0 : (uint8_t)s->cfg->node_id,
			     .flags = flags,
			     .export_id = s->cfg->export_id, .ino = ino, .gen = gen };

	fh_encode(s, &fh, out->data);
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

void nfs3_obj_close(struct nfs3_obj *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
}

/* Open rel beneath the export (O_PATH, no follow) and check it is ino/gen. */
static int try_rel(struct nfs_server *s, const char *rel, uint64_t ino, uint32_t gen,
		   struct nfs3_obj *o)
{
	int fd = nfs3_open_beneath(s->dirfd, rel, O_PATH | O_NOFOLLOW, 0);
	uint32_t g;

	if (fd < 0)
		return -1;
	if (stat_gen(s, fd, &o->st, &g) < 0 || (uint64_t)o->st.st_ino != ino || g != gen) {
		close(fd);
		return -1;
	}
	o->fd = fd;
	snprintf(o->rel, sizeof(o->rel), "%s", rel);
	return 0;
}

/* Breadth-first search of the export for ino; fills the cache with the
 * directories it passes.  0 and o set, or -1. */
static int scan(struct nfs_server *s, uint64_t ino, uint32_t gen, struct nfs3_obj *o)
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
		int dfd = nfs3_open_beneath(s->dirfd, dir, O_RDONLY | O_DIRECTORY, 0);
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
					nfs3_ino_put(s, ino, rel);
					found = 0;
				}
				continue;
			}
			if (de->d_type == DT_DIR) {
				nfs3_ino_put(s, de->d_ino, rel);
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
uint32_t nfs3_resolve(struct nfs_server *s, const struct nfs3_fh *h, struct nfs3_obj *o)
{
	struct nfs_fh fh;
	const char *rel;

	o->fd = -1;
	if (nfs3_fh_decode(s, h->data, h->len, &fh) < 0) {
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
		nfs3_ino_del(s, fh.ino);
	}
	if (stale_known(s, fh.ino, fh.gen)) {
		s->st.stale_cached++;
		goto stale;
	}
	if (scan(s, fh.ino, fh.gen, o) == 0)
		return NFS3_OK;
	stale_put(s, fh.ino, fh.gen);
stale:
	s->st.stale++;
	return NFS3ERR_STALE;
}

void nfs3_obj_fh(struct nfs_server *s, const struct nfs3_obj *o, struct nfs3_fh *fh)
{
	make_fh(s, (uint64_t)o->st.st_ino, obj_gen(s, o->fd, o->st.st_mode), fh);
}

/* ---- the export ---- */

/* Whether this process runs as euid 0 with capability cap effective. */
static int root_with(int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (geteuid() != 0 || syscall(SYS_capget, &h, d) < 0)
		return 0;
	return !!(d[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap));
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
	int probe = nfs3_open_beneath(s->dirfd, "", O_PATH, 0);
	if (probe < 0) {
		log_warn("nfs: export %s: openat2 (needs Linux >= 5.6)", s->cfg->path);
		return -1;
	}
	close(probe);
	int rfd = open(s->cfg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->has_gen = rfd >= 0 && ioctl(rfd, FS_IOC_GETVERSION, g) == 0;
	if (rfd >= 0)
		close(rfd);
	/* fs uid 0 may search every directory: LOOKUP's check as an
	 * unsquashed root is skipped (a daemon started with fewer
	 * capabilities keeps the kernel's check) */
	s->root_searches = root_with(CAP_DAC_READ_SEARCH);
	s->keep_groups = s->root_searches && root_with(CAP_DAC_OVERRIDE);
	s->root_ino = (uint64_t)st.st_ino;
	s->root_gen = s->has_gen ? (uint32_t)g[0] : 0;
	nfs3_ino_put(s, s->root_ino, "");
	return 0;
}

void nfs3_export_close(struct nfs_server *s)
{
	ino_clear(s);
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->dirfd = -1;
}

uint32_t nfs3_subdir_fh(struct nfs_req *r, const char *rel, struct nfs3_fh *fh)
{
	struct nfs_server *s = r->srv;
	struct nfs3_obj o;

	/* RESOLVE_BENEATH refuses ".." above the export and absolute symlinks;
	 * as the caller: every directory on the way must be searchable by it */
	nfs3_become(r);
	o.fd = nfs3_open_beneath(s->dirfd, rel, O_PATH | O_DIRECTORY, 0);
	nfs3_unbecome(r->srv);
	if (o.fd < 0)
		return errno == ENOENT ? MNT3ERR_NOENT : errno == ENOTDIR ? MNT3ERR_NOTDIR
									 : MNT3ERR_ACCES;
	if (fstat(o.fd, &o.st) < 0) {
		nfs3_obj_close(&o);
		return MNT3ERR_IO;
	}
	snprintf(o.rel, sizeof(o.rel), "%s", rel);
	nfs3_ino_put(s, (uint64_t)o.st.st_ino, rel);
	nfs3_obj_fh(s, &o, fh);
	nfs3_obj_close(&o);
	return MNT3_OK;
}
