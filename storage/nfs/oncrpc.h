/*
 * oncrpc.h - ONC RPC v2 (RFC 5531) over TCP: record marking and the call
 * header, pure.  A record is one or more fragments, each behind a 4-byte
 * big-endian mark: bit 31 = last fragment, bits 0..30 = fragment length.
 *
 * Replies are built with rpc_reply_*(); the server only ever accepts
 * AUTH_NONE and AUTH_SYS and answers with an AUTH_NONE verifier.
 */
#ifndef TANDEM_ONCRPC_H
#define TANDEM_ONCRPC_H

#include <stddef.h>
#include <stdint.h>

#include "xdr.h"

#define RPC_CALL 0
#define RPC_REPLY 1
#define RPC_VERS 2

/* reply_stat / accept_stat / reject_stat / auth_stat (RFC 5531 section 9) */
enum { RPC_MSG_ACCEPTED = 0, RPC_MSG_DENIED = 1 };
enum {
	RPC_SUCCESS = 0, RPC_PROG_UNAVAIL = 1, RPC_PROG_MISMATCH = 2, RPC_PROC_UNAVAIL = 3,
	RPC_GARBAGE_ARGS = 4, RPC_SYSTEM_ERR = 5,
};
enum { RPC_RPC_MISMATCH = 0, RPC_AUTH_ERROR = 1 };
enum {
	RPC_AUTH_OK = 0, RPC_AUTH_BADCRED = 1, RPC_AUTH_REJECTEDCRED = 2, RPC_AUTH_BADVERF = 3,
	RPC_AUTH_REJECTEDVERF = 4, RPC_AUTH_TOOWEAK = 5,
};
enum { RPC_AUTH_NONE = 0, RPC_AUTH_SYS = 1 };

#define RPC_AUTH_MAX 400	/* opaque_auth body limit (RFC 5531) */
#define RPC_MACHINE_MAX 255	/* AUTH_SYS machinename */
#define RPC_GIDS_MAX 16		/* AUTH_SYS gids */
#define RPC_MAX_FRAGMENTS 256	/* per record: bounds the work on tiny fragments */

/* ---- record marking ---- */

enum { RPC_REC_MORE = 0, RPC_REC_WHOLE = 1, RPC_REC_TOO_BIG = -1 };

/*
 * Look at stream bytes buf[0, len) received so far.  RPC_REC_WHOLE: a whole
 * record is there, *raw_len bytes of stream (marks included) holding
 * *rec_len bytes of payload.  RPC_REC_MORE: not yet.  RPC_REC_TOO_BIG: the
 * record's payload exceeds max or it has more than RPC_MAX_FRAGMENTS
 * fragments: the caller closes the connection (a TCP stream cannot be
 * resynchronised).  Decided from the marks alone, as soon as they arrive.
 */
int rpc_record_scan(const uint8_t *buf, size_t len, size_t max, size_t *raw_len,
		    size_t *rec_len);
/* How many more stream bytes finish the record in progress at the end of
 * buf[0, len) up to its next fragment boundary: the rest of the current
 * fragment, or of its mark, or 4 (the next fragment's mark) after a
 * fragment that is not the last; 0 when buf ends exactly at the end of a
 * record (or is empty).  Reading exactly that much never reads into the
 * next record (a connection about to be handed off stops at a call
 * boundary).  Marks are not checked against a maximum here
 * (rpc_record_scan does that).  Pure. */
size_t rpc_record_need(const uint8_t *buf, size_t len);
/* Copy the payload of a whole record (as scanned) to out, which may be buf
 * itself (the payload moves down over the marks).  Returns rec_len. */
size_t rpc_record_gather(uint8_t *buf, size_t raw_len, uint8_t *out);
/* Write a one-fragment record mark for len payload bytes at p[0..4). */
void rpc_record_mark(uint8_t *p, uint32_t len);

/* ---- call header ---- */

struct rpc_auth_sys {
	uint32_t stamp;
	char machine[RPC_MACHINE_MAX + 1];	/* NUL-terminated copy */
	uint32_t uid, gid;
	uint32_t ngids;
	uint32_t gids[RPC_GIDS_MAX];
};

/*
 * A call one node forwards to another (nfs_proxy.c) says in its verifier
 * what the client's group lets it do as the forwarding node sees the
 * client (its address, its netgroup), so the home node applies that
 * group's root squash and anonymous ids, not its own view of the
 * forwarding node.  A flavor of RFC 5531's private range (400000-409999);
 * the home node takes it from a namespace peer's connection only
 * (nfs_call.c), refuses it from anyone else (AUTH_BADVERF).  Body: flags,
 * anonuid, anongid, the group's index (0xffffffff: none).
 */
#define RPC_AUTH_TANDEM_FWD 400019u
#define RPC_FWD_VERF_LEN 16
#define RPC_FWD_WRITABLE 1u
#define RPC_FWD_ROOT_SQUASH 2u
struct rpc_fwd {
	uint32_t flags;		/* RPC_FWD_* */
	uint32_t anonuid, anongid, group;
};

struct rpc_call {
	uint32_t xid, rpcvers, prog, vers, proc;
	uint32_t cred_flavor, verf_flavor;
	struct rpc_auth_sys sys;	/* cred_flavor == RPC_AUTH_SYS */
	int has_fwd;			/* verf_flavor == RPC_AUTH_TANDEM_FWD: */
	struct rpc_fwd fwd;		/* ... its body */
	size_t args_off;		/* procedure arguments start here in the record */
};

/*
 * The call rec[0, len) (decoded as c, with the AUTH_NONE verifier clients
 * send) with its verifier replaced by f's RPC_AUTH_TANDEM_FWD one, into
 * out[0, cap): the new length (len + RPC_FWD_VERF_LEN), or -1 (c has
 * another verifier, or out is too small).  Pure.
 */
long rpc_call_set_fwd(const uint8_t *rec, size_t len, const struct rpc_call *c,
		      const struct rpc_fwd *f, uint8_t *out, size_t cap);

/* What rpc_call_decode found. */
enum rpc_dec {
	RPC_DEC_OK = 0,
	RPC_DEC_DROP,		/* no xid, or not a CALL: nothing to answer (RFC 5531) */
	RPC_DEC_RPC_MISMATCH,	/* rpcvers != 2: MSG_DENIED RPC_MISMATCH 2..2 */
	RPC_DEC_BADCRED,	/* credential malformed or over its bounds: AUTH_BADCRED */
	RPC_DEC_BADVERF,	/* verifier malformed: AUTH_BADVERF */
	RPC_DEC_TOOWEAK,	/* a flavor other than AUTH_NONE / AUTH_SYS: AUTH_TOOWEAK */
};

/*
 * Decode a call header from a record's payload.  The xid is valid in every
 * outcome but RPC_DEC_DROP, so the caller can answer.  err (may be NULL)
 * receives a one-line reason.  AUTH_SYS bodies must be consumed exactly;
 * machinename <= 255 bytes, gids <= 16, the opaque_auth <= 400 bytes.
 */
enum rpc_dec rpc_call_decode(const uint8_t *buf, size_t len, struct rpc_call *c, char *err,
			     size_t errlen);

/* ---- calls nasd makes itself (callbacks, NSM, portmapper, forwarding) ---- */

/* A call's header up to the credential: xid, CALL, RPC version 2, prog,
 * vers, proc.  The caller appends the credential and verifier
 * (rpc_put_call_head puts AUTH_NONE for both).  0 / -1 (buffer too small). */
int rpc_put_call_prefix(struct xdr_enc *e, uint32_t xid, uint32_t prog, uint32_t vers,
			uint32_t proc);
/* The whole header of a call with AUTH_NONE credential and verifier. */
int rpc_put_call_head(struct xdr_enc *e, uint32_t xid, uint32_t prog, uint32_t vers,
		      uint32_t proc);

/* ---- replies (without the record mark) ---- */

/* MSG_ACCEPTED header with an AUTH_NONE verifier and accept_stat; the
 * caller appends the results after SUCCESS.  PROG_MISMATCH: use
 * rpc_reply_prog_mismatch.  0 / -1 (buffer too small). */
int rpc_reply_accepted(struct xdr_enc *e, uint32_t xid, uint32_t accept_stat);
int rpc_reply_prog_mismatch(struct xdr_enc *e, uint32_t xid, uint32_t low, uint32_t high);
/* MSG_DENIED RPC_MISMATCH (low = high = 2). */
int rpc_reply_rpc_mismatch(struct xdr_enc *e, uint32_t xid);
/* MSG_DENIED AUTH_ERROR with auth_stat. */
int rpc_reply_auth_error(struct xdr_enc *e, uint32_t xid, uint32_t auth_stat);
/* The reply a decode outcome calls for (not OK, not DROP). */
int rpc_reply_for_dec(struct xdr_enc *e, uint32_t xid, enum rpc_dec r);

/*
 * Decode a reply's header (the client side: nasd forwarding calls to other
 * nodes).  MSG_ACCEPTED: 0, *accept_stat and *res_off (the results start
 * there; PROG_MISMATCH's low/high too).  -1: not a reply, MSG_DENIED, or
 * malformed.  Pure.
 */
int rpc_reply_decode(const uint8_t *buf, size_t len, uint32_t *xid, uint32_t *accept_stat,
		     size_t *res_off);

/* ---- a connection's state, for the session handoff (doc/nasd.md "NFS") ----
 *
 * Between two events an NFS connection of tandem-nasd is exactly: the
 * stream bytes received and not yet answered (whole records and the start
 * of the next: record marking needs no other state), the reply bytes not yet
 * written, and its recent duplicate-request-cache entries.  Blob:
 *   u16 0x4e46 ("NF"), u8 version 1, u8 0, u32 body length, then records
 *   u16 type, u16 length, value:
 *     1 IN      the unparsed stream bytes (once, may be empty)
 *     2 OUT     the reply bytes still to write (once, may be absent)
 *     3 CALLS   u64 calls answered on the connection (once, required)
 *     4 DRC     u32 xid, u32 prog, u32 proc, u64 args hash, reply bytes
 *               (at most RPC_CONN_DRC_MAX, reply <= RPC_CONN_DRC_REPLY;
 *               the hash is opaque here: nasd's nfs_drc_key, over the
 *               version, the credential and the arguments)
 *   types >= 0x8000 are optional (skipped when unknown); any other unknown
 *   type, a duplicate, a wrong size or a missing CALLS is refused.
 * The blob fits libtch's application state (64 KiB): a connection holding
 * more (a large WRITE half received) cannot be frozen until it is answered.
 */
#define RPC_CONN_MAGIC 0x4e46
#define RPC_CONN_VERSION 1
#define RPC_CONN_MAX_BLOB 65536
#define RPC_CONN_DRC_MAX 8
#define RPC_CONN_DRC_REPLY 1024

struct rpc_conn_drc {
	uint32_t xid, prog, proc;
	uint64_t ahash;		/* the cache's key hash (nfs_drc_key) */
	const uint8_t *reply;	/* into the caller's / the blob's buffer */
	uint32_t len;
};

struct rpc_conn_state {
	const uint8_t *in;
	uint32_t in_len;
	const uint8_t *out;
	uint32_t out_len;
	uint64_t calls;
	unsigned ndrc;
	struct rpc_conn_drc drc[RPC_CONN_DRC_MAX];
};

/* Encode into buf; the length, or -1 (errno EMSGSIZE: over cap or a field
 * over its limit). */
long rpc_conn_state_encode(const struct rpc_conn_state *st, uint8_t *buf, size_t cap);
/* Decode (pointers into buf).  0, or -1 with a one-line reason in err. */
int rpc_conn_state_decode(const uint8_t *buf, size_t len, struct rpc_conn_state *st, char *err,
			  size_t errlen);

#endif
