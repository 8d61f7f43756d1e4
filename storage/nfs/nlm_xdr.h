/*
 * nlm_xdr.h - NLM version 4 (the Network Lock Manager of NFSv3, X/Open
 * XNFS and RFC 1813 appendix) and NSM version 1 (the status monitor)
 * arguments and results, pure.  Strings and netobjs come back as pointers
 * into the record (not NUL-terminated), bounded by NLM_OBJ_MAX.
 */
#ifndef TANDEM_NLM_XDR_H
#define TANDEM_NLM_XDR_H

#include <stddef.h>
#include <stdint.h>

#include "xdr.h"

#define NLM_PROG 100021
#define NLM4_VERS 4
#define NSM_PROG 100024
#define NSM_VERS 1
#define NLM_OBJ_MAX 1024	/* MAXNETOBJ_SZ and LM_MAXSTRLEN */
#define NSM_PRIV_SIZE 16

enum nlm4_proc {
	NLM4_NULL = 0, NLM4_TEST, NLM4_LOCK, NLM4_CANCEL, NLM4_UNLOCK, NLM4_GRANTED,
	NLM4_TEST_MSG, NLM4_LOCK_MSG, NLM4_CANCEL_MSG, NLM4_UNLOCK_MSG, NLM4_GRANTED_MSG,
	NLM4_TEST_RES, NLM4_LOCK_RES, NLM4_CANCEL_RES, NLM4_UNLOCK_RES, NLM4_GRANTED_RES,
	NLM4_SHARE = 20, NLM4_UNSHARE, NLM4_NM_LOCK, NLM4_FREE_ALL,
};

enum nlm4_stat {
	NLM4_GRANTED_ST = 0, NLM4_DENIED = 1, NLM4_DENIED_NOLOCKS = 2, NLM4_BLOCKED = 3,
	NLM4_DENIED_GRACE_PERIOD = 4, NLM4_DEADLCK = 5, NLM4_ROFS = 6, NLM4_STALE_FH = 7,
	NLM4_FBIG = 8, NLM4_FAILED = 9,
};

enum nsm_proc {
	NSM_NULL = 0, NSM_STAT, NSM_MON, NSM_UNMON, NSM_UNMON_ALL, NSM_SIMU_CRASH, NSM_NOTIFY,
};
enum { NSM_STAT_SUCC = 0, NSM_STAT_FAIL = 1 };

struct nlm_obj {
	const uint8_t *p;
	uint32_t len;
};

struct nlm4_lock {
	struct nlm_obj caller, fh, oh;	/* caller_name, the NFS handle, the owner handle */
	int32_t svid;			/* the owner's process id on the client */
	uint64_t off, len;		/* len 0: to the end of the file */
};

/* One call's arguments.  Which members are set depends on proc:
 * TEST, GRANTED (nlm4_testargs): cookie, exclusive, lock;
 * LOCK (nlm4_lockargs): cookie, block, exclusive, lock, reclaim, state;
 * CANCEL (nlm4_cancargs): cookie, block, exclusive, lock;
 * UNLOCK (nlm4_unlockargs): cookie, lock;
 * the _MSG forms as their synchronous procedure; the _RES forms:
 * cookie, stat (TEST_RES: the stat only; its holder is skipped);
 * SHARE, UNSHARE (nlm4_shareargs): cookie, lock.caller, lock.fh, lock.oh
 * (svid, off, len 0), share_mode (fsh4_mode, 0-3), share_access
 * (fsh4_access, 0-3), reclaim; NM_LOCK as LOCK;
 * FREE_ALL (nlm4_notify): name, state. */
struct nlm4_args {
	uint32_t proc;
	struct nlm_obj cookie, name;
	int block, exclusive, reclaim;
	int32_t state;
	uint32_t stat;
	uint32_t share_mode, share_access;
	struct nlm4_lock lock;
};

/* Decode proc's arguments, exactly buf[0, len).  0, or -1 with the field
 * named in err.  NULL takes nothing; unknown procedures (16-19, past
 * FREE_ALL) are refused. */
int nlm4_decode_args(uint32_t proc, const uint8_t *buf, size_t len, struct nlm4_args *a,
		     char *err, size_t errlen);

/* nlm4_res: cookie, stat.  0 / -1 (e->err). */
int nlm4_put_res(struct xdr_enc *e, const struct nlm_obj *cookie, uint32_t stat);
/* nlm4_shareres: cookie, stat, sequence.  0 / -1 (e->err). */
int nlm4_put_shareres(struct xdr_enc *e, const struct nlm_obj *cookie, uint32_t stat,
		      int32_t sequence);
/* nlm4_testres: cookie, stat and, when stat is NLM4_DENIED, the holder
 * (exclusive, svid, oh, off, len of h; h may be NULL otherwise). */
int nlm4_put_testres(struct xdr_enc *e, const struct nlm_obj *cookie, uint32_t stat,
		     int exclusive, const struct nlm4_lock *h);
/* nlm4_testargs (the GRANTED callback's arguments). */
int nlm4_put_testargs(struct xdr_enc *e, const struct nlm_obj *cookie, int exclusive,
		      const struct nlm4_lock *l);

/* NSM arguments: SM_STAT (mon_name), SM_MON (mon_name, my_name, my_prog,
 * my_vers, my_proc, priv), SM_UNMON (mon_name and my_id), SM_UNMON_ALL
 * (my_id), SM_NOTIFY (mon_name, state). */
struct nsm_args {
	struct nlm_obj mon_name, my_name;
	uint32_t my_prog, my_vers, my_proc;
	uint8_t priv[NSM_PRIV_SIZE];
	int32_t state;
};
/* As nlm4_decode_args, for NSM's procedures (NULL and SIMU_CRASH take
 * nothing). */
int nsm_decode_args(uint32_t proc, const uint8_t *buf, size_t len, struct nsm_args *a,
		    char *err, size_t errlen);

/* The last byte of the range at off of len bytes (len 0, or past 2^64:
 * to the end, UINT64_MAX).  A range is never empty. */
uint64_t nlm_range_last(uint64_t off, uint64_t len);
/* Whether two ranges (as nlm_range_last sees them) share a byte. */
int nlm_ranges_overlap(uint64_t off1, uint64_t len1, uint64_t off2, uint64_t len2);

#endif
