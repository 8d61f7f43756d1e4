/*
 * nfs3_int.h - what the NFSv3 modules nfs3_*.c share (nfs_int.h lists them;
 * RFC 1813): objects of the export and what is done to them, the
 * procedures the table in nfs3_call.c runs, the virtual root.
 *
 * Confinement: every object is reached either through openat2(RESOLVE_BENEATH
 * | RESOLVE_NO_MAGICLINKS) relative to the export's directory (as export.c
 * does for HTTP), or as one validated name component (no '/', not "." or
 * "..") below a directory already reached that way, with AT_SYMLINK_NOFOLLOW
 * semantics.  Symlinks are stored and returned verbatim, never followed by
 * the server.
 */
#ifndef TANDEM_NFS3_INT_H
#define TANDEM_NFS3_INT_H

#include <sys/stat.h>

#include "nfs_int.h"

/* An object of the export, reached by a handle or a name.  fd -1 when not
 * open; nfs3_obj_close() closes it (safe on a closed one). */
struct nfs3_obj {
	int fd;			/* O_PATH | O_NOFOLLOW */
	struct stat st;
	char rel[NFS_REL_MAX];	/* "" = export root */
};

/* The signature of every NFSv3 procedure: it writes the result (status and
 * arm) after the accepted reply header r->e already holds. */
typedef void (*nfs3_proc_fn)(struct nfs_req *r, const struct nfs3_args *a);

/* ---- nfs3_handle.c ---- */

/* openat2 of rel ("" = dirfd itself) beneath dirfd, no magic links; -1 errno. */
int nfs3_open_beneath(int dirfd, const char *rel, uint64_t flags, uint64_t mode);
/* The inode -> path cache: remember ino at rel (the newest name wins), forget ino. */
void nfs3_ino_put(struct nfs_server *s, uint64_t ino, const char *rel);
void nfs3_ino_del(struct nfs_server *s, uint64_t ino);
/* nfs_fh_decode of p[len] with the server's key, from the cache of
 * handles verified before: 0, or -1 (not ours: MAC, format). */
int nfs3_fh_decode(struct nfs_server *s, const uint8_t *p, size_t len, struct nfs_fh *out);
/* Handle -> object (o->fd -1 unless NFS3_OK).  NFS3_OK, BADHANDLE (not ours:
 * MAC, format) or STALE. */
uint32_t nfs3_resolve(struct nfs_server *s, const struct nfs3_fh *h, struct nfs3_obj *o);
/* The handle of an open object. */
void nfs3_obj_fh(struct nfs_server *s, const struct nfs3_obj *o, struct nfs3_fh *fh);
void nfs3_obj_close(struct nfs3_obj *o);

/* ---- nfs3_obj.c ---- */

uint32_t nfs3_errno_stat(int e);	/* errno -> NFS3ERR_* (NFS3ERR_IO for the rest) */
void nfs3_attr_of(const struct nfs_server *s, const struct stat *st, struct nfs3_fattr *a);
void nfs3_post_attr_of(const struct nfs_server *s, const struct stat *st,
		       struct nfs3_post_attr *p);
/* Post-op attributes of an fd (absent if fstat fails or fd < 0). */
void nfs3_post_attr_fd(const struct nfs_server *s, int fd, struct nfs3_post_attr *p);
/* wcc_data: the "before" from st (clears w), the "after" from fstat(fd). */
void nfs3_wcc_pre(const struct stat *st, struct nfs3_wcc *w);
void nfs3_wcc_post(const struct nfs_server *s, int fd, struct nfs3_wcc *w);
/* Run as the caller (file system ids of its AUTH_SYS credential, root
 * squashed as configured, its groups from NSS with manage_gids;
 * anonuid/anongid without AUTH_SYS) until
 * nfs3_unbecome(); a no-op when nasd is not root.  Handles are resolved as
 * the daemon, the operation as the caller. */
void nfs3_become_sys(struct nfs_server *s, const struct rpc_auth_sys *a);
void nfs3_become(struct nfs_req *r);
void nfs3_unbecome(struct nfs_server *s);	/* errno kept */
/* The ids the caller acts with (uid, gid, groups; as nfs3_become takes them). */
void nfs3_eff_cred(const struct nfs_req *r, struct nfs_cred *c);
/* Whether the caller may search (execute) directory fd: 1, or 0 (EACCES). */
int nfs3_may_search(struct nfs_req *r, int fd);
/* A name for a new or existing entry: 1..255 bytes, no '/', no NUL, not
 * "." or ".." (those: NFS3ERR_EXIST).  Copied NUL-terminated into out[256]. */
uint32_t nfs3_name_ok(const struct nfs3_str *n, char *out);
/* dir/name into out[NFS_REL_MAX]; -1 if it does not fit. */
int nfs3_child_rel(const char *dir, const char *name, char *out);
void nfs3_parent_rel(const char *rel, char *out);	/* "" for a top-level rel */
/* Open name below dir (O_PATH, no follow) as an object; cache it.  0 / -1 errno. */
int nfs3_open_child(struct nfs_server *s, const struct nfs3_obj *dir, const char *name,
		    struct nfs3_obj *o);
/*
 * Open o (resolved from a handle) for I/O as the caller: by its path
 * beneath the export with O_NONBLOCK | O_NOFOLLOW | O_NOCTTY added to flags,
 * then fstat of that fd (into *st): it must still be o's inode and a
 * regular file.  Between the handle's resolution and this open a rename
 * may put something else at the path (a FIFO opened without O_NONBLOCK
 * would block the loop).  The fd, or -1 with *status: the open's error,
 * ISDIR / INVAL (not a regular file), JUKEBOX (the path names another
 * inode now: the client retries).
 */
int nfs3_open_file(struct nfs_req *r, const struct nfs3_obj *o, int flags, struct stat *st,
		   uint32_t *status);
char *nfs3_proc_path(int fd, char *buf, size_t len);	/* "/proc/self/fd/N" */
/* Apply the settable attributes (already as the caller).  NFS3_OK or why not. */
uint32_t nfs3_apply_sattr(const struct nfs3_obj *o, const struct nfs3_sattr *a);
/* The failure arm of r's procedure with status st (no attributes). */
void nfs3_fail(struct nfs_req *r, uint32_t st);

/* ---- the procedures (the table is in nfs3_call.c) ---- */

/* nfs3_attr.c */
void nfs3_proc_getattr(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_setattr(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_lookup(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_access(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_readlink(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_fsstat(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_fsinfo(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_pathconf(struct nfs_req *r, const struct nfs3_args *a);
/* FSSTAT's numbers of the file system of fd (fs untouched if fstatvfs
 * fails: -1 errno); FSINFO and PATHCONF's OK results with attributes pa. */
int nfs3_fsstat_of(int fd, struct nfs3_fsstat *fs);
void nfs3_fsinfo_reply(struct nfs_req *r, const struct nfs3_post_attr *pa);
void nfs3_pathconf_reply(struct nfs_req *r, const struct nfs3_post_attr *pa);
/* nfs3_io.c */
void nfs3_proc_read(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_write(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_commit(struct nfs_req *r, const struct nfs3_args *a);
/* nfs3_readdir.c: READDIR and READDIRPLUS (by r->call->proc) */
void nfs3_proc_readdir(struct nfs_req *r, const struct nfs3_args *a);
/* nfs3_entry.c; nfs3_proc_remove serves REMOVE and RMDIR (by r->call->proc) */
void nfs3_proc_create(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_mkdir(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_symlink(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_mknod(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_remove(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_rename(struct nfs_req *r, const struct nfs3_args *a);
void nfs3_proc_link(struct nfs_req *r, const struct nfs3_args *a);

/* ---- nfs3_vroot.c ---- */

/* The attributes of the virtual root: the same on every node. */
void nfs3_vroot_attr(const struct nfs_server *s, struct nfs3_post_attr *p);
/* A call on the virtual root's handle: answered into r->e (0), or LOOKUP of
 * a top-level directory homed elsewhere forwarded there (NFS_FORWARDED). */
int nfs3_vroot_call(struct nfs_req *r, const struct nfs3_args *a);

#endif
