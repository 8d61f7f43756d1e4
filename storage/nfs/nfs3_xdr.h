/*
 * nfs3_xdr.h - NFSv3 (RFC 1813), MOUNT v3 and portmapper v2 (RFC 1833)
 * arguments and results, pure.  One decoder per procedure's arguments
 * (bounded: handles <= 64 bytes, names <= 255, paths <= 1024, WRITE data <=
 * the caller's limit); one encoder per result.  Strings come back as
 * pointers into the record (not NUL-terminated): the server validates names.
 */
#ifndef TANDEM_NFS3_XDR_H
#define TANDEM_NFS3_XDR_H

#include <stddef.h>
#include <stdint.h>

#include "xdr.h"

#define NFS3_PROG 100003
#define NFS3_VERS 3
#define MOUNT_PROG 100005
#define MOUNT_VERS 3
#define PMAP_PROG 100000
#define PMAP_VERS 2
#define NFS3_PORT 2049
#define PMAP_PORT 111

#define NFS3_FHSIZE 64
#define NFS3_NAME_MAX 255
#define NFS3_PATH_MAX 1024
#define MNT_PATH_MAX 1024

enum nfs3_proc {
	NFS3_NULL = 0, NFS3_GETATTR, NFS3_SETATTR, NFS3_LOOKUP, NFS3_ACCESS, NFS3_READLINK,
	NFS3_READ, NFS3_WRITE, NFS3_CREATE, NFS3_MKDIR, NFS3_SYMLINK, NFS3_MKNOD, NFS3_REMOVE,
	NFS3_RMDIR, NFS3_RENAME, NFS3_LINK, NFS3_READDIR, NFS3_READDIRPLUS, NFS3_FSSTAT,
	NFS3_FSINFO, NFS3_PATHCONF, NFS3_COMMIT, NFS3_NPROC
};
enum { MNT3_NULL = 0, MNT3_MNT, MNT3_DUMP, MNT3_UMNT, MNT3_UMNTALL, MNT3_EXPORT };
enum { PMAP_NULL = 0, PMAP_SET, PMAP_UNSET, PMAP_GETPORT, PMAP_DUMP, PMAP_CALLIT };

enum nfsstat3 {
	NFS3_OK = 0, NFS3ERR_PERM = 1, NFS3ERR_NOENT = 2, NFS3ERR_IO = 5, NFS3ERR_NXIO = 6,
	NFS3ERR_ACCES = 13, NFS3ERR_EXIST = 17, NFS3ERR_XDEV = 18, NFS3ERR_NODEV = 19,
	NFS3ERR_NOTDIR = 20, NFS3ERR_ISDIR = 21, NFS3ERR_INVAL = 22, NFS3ERR_FBIG = 27,
	NFS3ERR_NOSPC = 28, NFS3ERR_ROFS = 30, NFS3ERR_MLINK = 31, NFS3ERR_NAMETOOLONG = 63,
	NFS3ERR_NOTEMPTY = 66, NFS3ERR_DQUOT = 69, NFS3ERR_STALE = 70, NFS3ERR_REMOTE = 71,
	NFS3ERR_BADHANDLE = 10001, NFS3ERR_NOT_SYNC = 10002, NFS3ERR_BAD_COOKIE = 10003,
	NFS3ERR_NOTSUPP = 10004, NFS3ERR_TOOSMALL = 10005, NFS3ERR_SERVERFAULT = 10006,
	NFS3ERR_BADTYPE = 10007, NFS3ERR_JUKEBOX = 10008,
};
enum { MNT3_OK = 0, MNT3ERR_PERM = 1, MNT3ERR_NOENT = 2, MNT3ERR_IO = 5, MNT3ERR_ACCES = 13,
       MNT3ERR_NOTDIR = 20, MNT3ERR_INVAL = 22, MNT3ERR_NAMETOOLONG = 63,
       MNT3ERR_NOTSUPP = 10004, MNT3ERR_SERVERFAULT = 10006 };
enum { NF3REG = 1, NF3DIR, NF3BLK, NF3CHR, NF3LNK, NF3SOCK, NF3FIFO };
enum { NFS3_UNSTABLE = 0, NFS3_DATA_SYNC = 1, NFS3_FILE_SYNC = 2 };
enum { NFS3_CREATE_UNCHECKED = 0, NFS3_CREATE_GUARDED = 1, NFS3_CREATE_EXCLUSIVE = 2 };
enum { SET_TIME_DONT = 0, SET_TIME_SERVER = 1, SET_TIME_CLIENT = 2 };
#define NFS3_ACCESS_READ 0x01
#define NFS3_ACCESS_LOOKUP 0x02
#define NFS3_ACCESS_MODIFY 0x04
#define NFS3_ACCESS_EXTEND 0x08
#define NFS3_ACCESS_DELETE 0x10
#define NFS3_ACCESS_EXECUTE 0x20
#define NFS3_FSF_LINK 0x01
#define NFS3_FSF_SYMLINK 0x02
#define NFS3_FSF_HOMOGENEOUS 0x08
#define NFS3_FSF_CANSETTIME 0x10

struct nfs3_fh { uint32_t len; uint8_t data[NFS3_FHSIZE]; };
struct nfs3_time { uint32_t sec, nsec; };
struct nfs3_str { const uint8_t *p; uint32_t len; };	/* into the record */

struct nfs3_sattr {
	int set_mode, set_uid, set_gid, set_size;
	uint32_t mode, uid, gid;
	uint64_t size;
	int set_atime, set_mtime;	/* SET_TIME_* */
	struct nfs3_time atime, mtime;
};

struct nfs3_diropargs { struct nfs3_fh dir; struct nfs3_str name; };

struct nfs3_fattr {
	uint32_t type, mode, nlink, uid, gid;
	uint64_t size, used;
	uint32_t rdev1, rdev2;
	uint64_t fsid, fileid;
	struct nfs3_time atime, mtime, ctime;
};
struct nfs3_wcc_attr { uint64_t size; struct nfs3_time mtime, ctime; };
struct nfs3_wcc {
	int has_pre, has_post;
	struct nfs3_wcc_attr pre;
	struct nfs3_fattr post;
};
struct nfs3_post_attr { int present; struct nfs3_fattr a; };

/* The arguments of any NFSv3 procedure (the member by proc). */
struct nfs3_args {
	uint32_t proc;
	union {
		struct nfs3_fh fh;	/* GETATTR READLINK FSSTAT FSINFO PATHCONF */
		struct { struct nfs3_fh fh; struct nfs3_sattr attr; int guard; struct nfs3_time ctime; } setattr;
		struct nfs3_diropargs lookup;	/* also REMOVE RMDIR */
		struct { struct nfs3_fh fh; uint32_t access; } access;
		struct { struct nfs3_fh fh; uint64_t offset; uint32_t count; } read;
		struct { struct nfs3_fh fh; uint64_t offset; uint32_t count, stable;
			 const uint8_t *data; uint32_t len; } write;
		struct { struct nfs3_diropargs where; uint32_t mode; struct nfs3_sattr attr;
			 uint8_t verf[8]; } create;
		struct { struct nfs3_diropargs where; struct nfs3_sattr attr; } mkdir;
		struct { struct nfs3_diropargs where; struct nfs3_sattr attr; struct nfs3_str path; } symlink;
		struct { struct nfs3_diropargs where; uint32_t type; } mknod;
		struct { struct nfs3_diropargs from, to; } rename;
		struct { struct nfs3_fh fh; struct nfs3_diropargs to; } link;
		struct { struct nfs3_fh fh; uint64_t cookie; uint8_t verf[8]; uint32_t count;
			 uint32_t maxcount; } readdir;	/* maxcount: READDIRPLUS only */
		struct { struct nfs3_fh fh; uint64_t offset; uint32_t count; } commit;
	} u;
};

/*
 * Decode the arguments of NFSv3 procedure proc (< NFS3_NPROC) from buf.
 * The arguments must fill buf exactly.  max_write bounds WRITE's data.
 * 0, or -1 (GARBAGE_ARGS) with a one-line reason in err (may be NULL).
 */
int nfs3_decode_args(uint32_t proc, const uint8_t *buf, size_t len, uint32_t max_write,
		     struct nfs3_args *a, char *err, size_t errlen);

/* MOUNT v3 MNT / UMNT argument: the directory path (<= 1024). */
int mnt3_decode_dirpath(const uint8_t *buf, size_t len, struct nfs3_str *path);
/* Portmapper GETPORT / SET argument: struct mapping. */
struct pmap_mapping { uint32_t prog, vers, prot, port; };
int pmap_decode_mapping(const uint8_t *buf, size_t len, struct pmap_mapping *m);

/* ---- result encoding: building blocks ---- */
int nfs3_put_fattr(struct xdr_enc *e, const struct nfs3_fattr *a);
int nfs3_put_post_attr(struct xdr_enc *e, const struct nfs3_post_attr *a);
int nfs3_put_wcc(struct xdr_enc *e, const struct nfs3_wcc *w);
int nfs3_put_fh(struct xdr_enc *e, const struct nfs3_fh *fh);
/* post_op_fh3: present (1) + handle, or absent. */
int nfs3_put_post_fh(struct xdr_enc *e, const struct nfs3_fh *fh);

/*
 * A failed result of NFSv3 procedure proc: the status, then the empty
 * attribute slots every failure arm of that procedure carries (post_op_attr
 * absent, wcc_data with neither side).  Used for errors found before the
 * procedure runs (bad handle, refused client).
 */
int nfs3_put_error(struct xdr_enc *e, uint32_t proc, uint32_t status);

/* ---- one encoder per result (status then the arm; RFC 1813 section 3.3) ---- */
int nfs3_enc_getattr(struct xdr_enc *e, uint32_t st, const struct nfs3_fattr *a);
int nfs3_enc_wccres(struct xdr_enc *e, uint32_t st, const struct nfs3_wcc *w); /* SETATTR REMOVE RMDIR */
int nfs3_enc_lookup(struct xdr_enc *e, uint32_t st, const struct nfs3_fh *fh,
		    const struct nfs3_post_attr *obj, const struct nfs3_post_attr *dir);
int nfs3_enc_access(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		    uint32_t access);
int nfs3_enc_readlink(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		      const char *path, uint32_t len);
/* READ: the head up to the data; the caller reserves the data with
 * xdr_reserve() and fills it (count bytes: the length word is written here). */
int nfs3_enc_read_head(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		       uint32_t count, int eof);
int nfs3_enc_write(struct xdr_enc *e, uint32_t st, const struct nfs3_wcc *w, uint32_t count,
		   uint32_t committed, const uint8_t verf[8]);
/* CREATE MKDIR SYMLINK MKNOD */
int nfs3_enc_create(struct xdr_enc *e, uint32_t st, const struct nfs3_fh *fh,
		    const struct nfs3_post_attr *obj, const struct nfs3_wcc *dir);
int nfs3_enc_rename(struct xdr_enc *e, uint32_t st, const struct nfs3_wcc *from,
		    const struct nfs3_wcc *to);
int nfs3_enc_link(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		  const struct nfs3_wcc *dir);
/* READDIR / READDIRPLUS: head, then entries, then the end.  An entry is
 * written only if it fits in the remaining budget (returns 1 if written,
 * 0 if not: the reply ends there with eof = 0). */
int nfs3_enc_readdir_head(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *dir,
			  const uint8_t verf[8]);
int nfs3_enc_readdir_entry(struct xdr_enc *e, size_t limit, uint64_t fileid, const char *name,
			   uint32_t namelen, uint64_t cookie, const struct nfs3_post_attr *plus_attr,
			   const struct nfs3_fh *plus_fh, int plus);
int nfs3_enc_readdir_end(struct xdr_enc *e, int eof);
struct nfs3_fsstat { uint64_t tbytes, fbytes, abytes, tfiles, ffiles, afiles; uint32_t invarsec; };
int nfs3_enc_fsstat(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		    const struct nfs3_fsstat *s);
struct nfs3_fsinfo {
	uint32_t rtmax, rtpref, rtmult, wtmax, wtpref, wtmult, dtpref;
	uint64_t maxfilesize;
	struct nfs3_time delta;
	uint32_t properties;
};
int nfs3_enc_fsinfo(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		    const struct nfs3_fsinfo *s);
struct nfs3_pathconf { uint32_t linkmax, name_max; int no_trunc, chown_restricted,
		       case_insensitive, case_preserving; };
int nfs3_enc_pathconf(struct xdr_enc *e, uint32_t st, const struct nfs3_post_attr *obj,
		      const struct nfs3_pathconf *s);
int nfs3_enc_commit(struct xdr_enc *e, uint32_t st, const struct nfs3_wcc *w,
		    const uint8_t verf[8]);

/* Client side (nasd calling another node): the status and handle of a
 * CREATE/MKDIR/SYMLINK result.  0 (*has_fh 0 when the server gave none),
 * or -1 malformed. */
int nfs3_decode_create_res(const uint8_t *buf, size_t len, uint32_t *status, struct nfs3_fh *fh,
			   int *has_fh);

/* MOUNT v3: MNT result (AUTH_SYS is the one flavor offered). */
int mnt3_enc_mnt(struct xdr_enc *e, uint32_t st, const struct nfs3_fh *fh);
/* EXPORT: one export with its groups (CIDR strings, may be 0 groups). */
int mnt3_enc_export(struct xdr_enc *e, const char *dir, const char *const *groups,
		    unsigned ngroups);

#endif
