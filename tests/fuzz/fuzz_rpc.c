/* libFuzzer target: tandem-nasd's NFS front end, as a byte stream, and the
 * NFS connection blob of a handoff (rpc_conn_state: what decode accepts must
 * re-encode to a blob that decodes the same), and the client side nasd uses
 * toward other nodes (reply header, CREATE result).
 * Record marking -> call header -> procedure arguments (NFSv3, MOUNT,
 * portmapper, rpcbind v3/v4 and universal addresses, NLM v4 and its lock
 * table, NSM) -> file handle check, the path every received byte takes
 * before any file system work.  Invariants: the scanner never claims more
 * bytes than it was given, a whole record's payload is what gather returns,
 * every decode outcome but DROP has a reply that fits, and anything the
 * argument decoder accepts was consumed exactly (re-decoding agrees). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "storage/nfs/nfs3_xdr.h"
#include "storage/nfs/nfs_fh.h"
#include "storage/nfs/oncrpc.h"
#include "storage/nfs/nlm_lock.h"
#include "storage/nfs/nlm_xdr.h"
#include "storage/nfs/rpcb_xdr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REC (1u << 16)

/* rpcbind v3/v4: a struct rpcb is consumed exactly and re-encodes to the
 * same fields; a universal address that parses formats back to one that
 * parses to the same address and port. */
static void rpcb_args(const uint8_t *args, size_t alen)
{
	uint8_t out[512];
	char ns[RPCB_NETID_MAX + 1], as[RPCB_UADDR_MAX + 1], os[RPCB_OWNER_MAX + 1], ua[80];
	struct rpcb_args a, b;
	struct rpcb_netid n;
	struct sockaddr_storage s1, s2;
	struct xdr_enc e;
	char err[120];

	if (rpcb_decode(args, alen, &a, err, sizeof(err)) < 0)
		return;
	if (a.netid_len > RPCB_NETID_MAX || a.addr_len > RPCB_UADDR_MAX || a.owner_len > RPCB_OWNER_MAX)
		abort();
	if (rpcb_netid_parse(a.netid, a.netid_len, &n) == 0) {
		const char *name = rpcb_netid_name(n.family, n.prot);
		if (!name || strlen(name) != a.netid_len || memcmp(name, a.netid, a.netid_len) != 0)
			abort();
	}
	if (!memchr(a.netid, 0, a.netid_len) && !memchr(a.addr, 0, a.addr_len) &&
	    !memchr(a.owner, 0, a.owner_len)) {
		memcpy(ns, a.netid, a.netid_len);
		ns[a.netid_len] = 0;
		memcpy(as, a.addr, a.addr_len);
		as[a.addr_len] = 0;
		memcpy(os, a.owner, a.owner_len);
		os[a.owner_len] = 0;
		xdr_enc_init(&e, out, sizeof(out));
		/* the same length (padding bytes may differ: XDR takes any) and
		 * the same fields again */
		if (rpcb_put(&e, a.prog, a.vers, ns, as, os) < 0 || e.len != alen ||
		    rpcb_decode(out, e.len, &b, err, sizeof(err)) < 0 || b.prog != a.prog ||
		    b.vers != a.vers || b.netid_len != a.netid_len || b.addr_len != a.addr_len ||
		    b.owner_len != a.owner_len || memcmp(b.addr, a.addr, a.addr_len) != 0)
			abort();
	}
	if (rpcb_uaddr_parse(a.addr, a.addr_len, &s1, err, sizeof(err)) < 0)
		return;
	uint16_t port = ntohs(s1.ss_family == AF_INET ? ((struct sockaddr_in *)&s1)->sin_port
						      : ((struct sockaddr_in6 *)&s1)->sin6_port);
	int l = rpcb_uaddr_fmt(&s1, port, ua, sizeof(ua));
	if (l < 0 || rpcb_uaddr_parse((const uint8_t *)ua, (size_t)l, &s2, err, sizeof(err)) < 0 ||
	    memcmp(&s1, &s2, sizeof(s1)) != 0)
		abort();
}

/* NLM: what decodes re-decodes the same, its results encode, and the
 * lock table keeps its invariants over the decoded lock: a lock added is
 * seen by another owner as a conflict where exclusive, the owner's own
 * unlock of the same range leaves nothing of it overlapping, and the
 * table empties. */
static void nlm_args(uint32_t proc, const uint8_t *args, size_t alen)
{
	static struct nlm_table t;
	struct nlm4_args a, b;
	static uint8_t out[16384];
	struct xdr_enc e;
	char err[160];

	if (nlm4_decode_args(proc, args, alen, &a, err, sizeof(err)) < 0)
		return;
	if (nlm4_decode_args(proc, args, alen, &b, err, sizeof(err)) < 0 || a.lock.off != b.lock.off ||
	    a.lock.caller.len > NLM_OBJ_MAX || a.lock.fh.len > NLM_OBJ_MAX || a.cookie.len > NLM_OBJ_MAX)
		abort();
	xdr_enc_init(&e, out, sizeof(out));
	if (nlm4_put_testres(&e, &a.cookie, NLM4_DENIED, a.exclusive, &a.lock) < 0 ||
	    nlm4_put_testargs(&e, &a.cookie, a.exclusive, &a.lock) < 0)
		abort();	/* 7 objects of 1 KiB at most: fits */
	struct nlm_file f = { 1, 2, 3 };
	struct nlm4_lock other = a.lock;
	other.svid = a.lock.svid ^ 1;
	if (proc == NLM4_SHARE || proc == NLM4_UNSHARE) {	/* a share and its conflicts */
		if (a.share_mode > 3 || a.share_access > 3 ||
		    nlm4_put_shareres(&e, &a.cookie, NLM4_GRANTED_ST, 0) < 0)
			abort();
		other.oh.len = a.lock.oh.len ? 0 : 1;
		other.oh.p = (const uint8_t *)"x";
		if (nlm_share_set(&t, &f, &a.lock, a.share_mode, a.share_access) < 0)
			return;
		if (!nlm_share_conflict(&t, &f, &other, 0, 3) != !a.share_mode ||
		    !nlm_share_conflict(&t, &f, &other, 3, 0) != !a.share_access)
			abort();	/* another owner reading and writing meets the deny mode, one
				 * denying both meets the access */
		if (nlm_share_conflict(&t, &f, &a.lock, 3, 3) || nlm_share_remove(&t, &f, &a.lock) != 1 ||
		    t.nshares || t.shares)
			abort();
		return;
	}
	if (nlm_lock_add(&t, &f, &a.lock, a.exclusive) < 0)
		return;
	if ((nlm_conflict(&t, &f, &other, 1) == NULL) ||
	    (nlm_conflict(&t, &f, &other, 0) == NULL) != !a.exclusive)
		abort();	/* an overlapping request of another owner */
	if (nlm_conflict(&t, &f, &a.lock, 1))
		abort();	/* an owner never conflicts with itself */
	if (nlm_unlock(&t, &f, &a.lock) < 0 || t.nlocks != 0 || t.locks)
		abort();
}

/* A decoded call with a forwarding verifier put in (nfs_proxy.c) decodes
 * to the same call, that verifier and the same arguments. */
static void fwd_roundtrip(const uint8_t *rec, size_t len, const struct rpc_call *c)
{
	static uint8_t buf[1 << 17];
	const struct rpc_fwd f = { RPC_FWD_ROOT_SQUASH, 65534, 65533, 7 };
	struct rpc_call d;
	long l = rpc_call_set_fwd(rec, len, c, &f, buf, sizeof(buf));

	if (l < 0) {
		if (!c->has_fwd && len + RPC_FWD_VERF_LEN <= sizeof(buf))
			abort();	/* a client's call always takes one */
		return;
	}
	if (rpc_call_decode(buf, (size_t)l, &d, NULL, 0) != RPC_DEC_OK || !d.has_fwd ||
	    memcmp(&d.fwd, &f, sizeof(f)) || d.xid != c->xid || d.prog != c->prog ||
	    d.proc != c->proc || d.cred_flavor != c->cred_flavor || d.sys.uid != c->sys.uid ||
	    d.args_off != c->args_off + RPC_FWD_VERF_LEN ||
	    memcmp(buf + d.args_off, rec + c->args_off, len - c->args_off))
		abort();
}

static void one_record(const uint8_t *rec, size_t len)
{
	static const uint8_t key[32] = { 1, 2, 3 };
	uint8_t out[512];
	struct rpc_call c;
	struct xdr_enc e;
	struct nfs3_args a, b;
	char err[160];

	enum rpc_dec d = rpc_call_decode(rec, len, &c, err, sizeof(err));
	if (d == RPC_DEC_DROP)
		return;
	xdr_enc_init(&e, out, sizeof(out));
	if (d != RPC_DEC_OK) {
		if (rpc_reply_for_dec(&e, c.xid, d) < 0 || e.err)
			abort();
		return;
	}
	if (c.args_off > len)
		abort();
	fwd_roundtrip(rec, len, &c);
	const uint8_t *args = rec + c.args_off;
	size_t alen = len - c.args_off;
	if (c.prog == NFS3_PROG && c.proc < NFS3_NPROC) {
		if (nfs3_decode_args(c.proc, args, alen, 8192, &a, err, sizeof(err)) < 0)
			return;
		if (nfs3_decode_args(c.proc, args, alen, 8192, &b, err, sizeof(err)) < 0)
			abort();
		struct nfs_fh fh;
		if (c.proc != NFS3_NULL && a.u.fh.len <= NFS3_FHSIZE)
			(void)nfs_fh_decode(a.u.fh.data, a.u.fh.len, key, sizeof(key), &fh, err, sizeof(err));
		if (c.proc != NFS3_NULL && nfs3_put_error(&e, c.proc, NFS3ERR_STALE) < 0)
			abort();
	} else if (c.prog == MOUNT_PROG) {
		struct nfs3_str p;
		if (mnt3_decode_dirpath(args, alen, &p) == 0 && (p.len > MNT_PATH_MAX || p.p < args))
			abort();
	} else if (c.prog == NLM_PROG) {
		nlm_args(c.proc, args, alen);
	} else if (c.prog == NSM_PROG) {
		struct nsm_args n1, n2;
		if (nsm_decode_args(c.proc, args, alen, &n1, err, sizeof(err)) == 0 &&
		    (nsm_decode_args(c.proc, args, alen, &n2, err, sizeof(err)) < 0 ||
		     n1.mon_name.len > NLM_OBJ_MAX || n1.my_name.len > NLM_OBJ_MAX))
			abort();
	} else if (c.prog == PMAP_PROG && c.vers >= RPCB_VERS_LO) {
		rpcb_args(args, alen);
	} else if (c.prog == PMAP_PROG) {
		struct pmap_mapping m;
		(void)pmap_decode_mapping(args, alen, &m);
	}
}

static void conn_state(const uint8_t *data, size_t size)
{
	static uint8_t out[RPC_CONN_MAX_BLOB];
	struct rpc_conn_state a, b;
	char err[160];

	if (rpc_conn_state_decode(data, size, &a, err, sizeof(err)) < 0)
		return;
	long n = rpc_conn_state_encode(&a, out, sizeof(out));
	if (n < 0 || (size_t)n > size)
		abort();	/* decode accepted what encode refuses, or it grew */
	if (rpc_conn_state_decode(out, (size_t)n, &b, err, sizeof(err)) < 0)
		abort();
	if (a.in_len != b.in_len || a.out_len != b.out_len || a.calls != b.calls ||
	    a.ndrc != b.ndrc || (a.in_len && memcmp(a.in, b.in, a.in_len)) ||
	    (a.out_len && memcmp(a.out, b.out, a.out_len)))
		abort();
	for (unsigned i = 0; i < a.ndrc; i++)
		if (a.drc[i].xid != b.drc[i].xid || a.drc[i].len != b.drc[i].len ||
		    a.drc[i].ahash != b.drc[i].ahash ||
		    (a.drc[i].len && memcmp(a.drc[i].reply, b.drc[i].reply, a.drc[i].len)))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	size_t off = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/* what a connection about to move reads next: the same whatever whole
	 * records come before; 0 exactly at a record boundary */
	size_t need = rpc_record_need(data, size);
	int sc = RPC_REC_MORE;
	for (int n = 0; n < 64 && off < size; n++) {
		size_t raw, rl;
		sc = rpc_record_scan(buf + off, size - off, MAX_REC, &raw, &rl);
		if (sc != RPC_REC_WHOLE)
			break;
		if (raw > size - off || rl > raw || rl > MAX_REC)
			abort();
		if (rpc_record_need(data + off + raw, size - off - raw) != need)
			abort();
		if (rpc_record_gather(buf + off, raw, buf + off) != rl)
			abort();
		one_record(buf + off, rl);
		off += raw;
	}
	if ((off == size && sc == RPC_REC_WHOLE && need != 0) ||
	    (sc == RPC_REC_MORE && off < size && need == 0))
		abort();	/* ends at a boundary <=> nothing needed */
	/* the same bytes, each as one record without marks */
	one_record(data, size);
	free(buf);
	conn_state(data, size);
	/* the client side (nasd calling other nodes): reply header, CREATE result */
	uint32_t xid, as, st;
	size_t roff;
	if (rpc_reply_decode(data, size, &xid, &as, &roff) == 0) {
		struct nfs3_fh fh;
		int has_fh;
		if (roff > size)
			abort();
		if (nfs3_decode_create_res(data + roff, size - roff, &st, &fh, &has_fh) == 0 && has_fh &&
		    fh.len > NFS3_FHSIZE)
			abort();
	}
	return 0;
}
