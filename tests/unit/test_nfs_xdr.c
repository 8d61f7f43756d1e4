/* Unit tests: the NFS front end's pure codecs (storage/nfs/: xdr,
 * oncrpc, nfs3_xdr, rpcb_xdr, nfs_fh): XDR bounds, record marking (fragments, last
 * bit, size limit), call headers (AUTH_NONE / AUTH_SYS bounds, verifier,
 * RPC versions) and their replies, argument decoders against encodings made
 * here (round trips) and their malformed variants, result encoders against
 * hand-decoded bytes, and signed file handles; the "nfs" section's
 * defaults (root squashed, idle timeout, per-client limit) and the
 * duplicate request cache's key (the credential is part of it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "storage/nasd.h"
#include "storage/nfs/nfs3_xdr.h"
#include "storage/nfs/nfs_fh.h"
#include "storage/nfs/nfs_int.h"
#include "storage/nfs/oncrpc.h"
#include "storage/nfs/nlm_lock.h"
#include "storage/nfs/nlm_xdr.h"
#include "storage/nfs/rpcb_xdr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include "lib/wire.h"

static uint8_t buf[70000];

/* ---- a tiny client-side encoder (what a client would send) ---- */

static void put_sattr_none(struct xdr_enc *e)
{
	for (int i = 0; i < 6; i++)
		xdr_put_u32(e, 0);
}

static size_t call_head(struct xdr_enc *e, uint32_t xid, uint32_t prog, uint32_t vers,
			uint32_t proc, int sys)
{
	xdr_put_u32(e, xid);
	xdr_put_u32(e, RPC_CALL);
	xdr_put_u32(e, 2);
	xdr_put_u32(e, prog);
	xdr_put_u32(e, vers);
	xdr_put_u32(e, proc);
	if (sys) {
		uint8_t body[64];
		struct xdr_enc b;
		xdr_enc_init(&b, body, sizeof(body));
		xdr_put_u32(&b, 7);
		xdr_put_opaque(&b, "client", 6);
		xdr_put_u32(&b, 1000);
		xdr_put_u32(&b, 100);
		xdr_put_u32(&b, 2);
		xdr_put_u32(&b, 10);
		xdr_put_u32(&b, 20);
		xdr_put_u32(e, RPC_AUTH_SYS);
		xdr_put_opaque(e, body, (uint32_t)b.len);
	} else {
		xdr_put_u32(e, RPC_AUTH_NONE);
		xdr_put_u32(e, 0);
	}
	xdr_put_u32(e, RPC_AUTH_NONE);
	xdr_put_u32(e, 0);
	return e->len;
}

static void test_xdr(void)
{
	uint8_t b[16] = { 0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0, 0, 0, 2 };
	struct xdr_dec d;
	const uint8_t *p;
	uint32_t n, v;
	int bo;

	xdr_dec_init(&d, b, sizeof(b));
	CHECK(xdr_get_opaque(&d, &p, &n, 8) == 0 && n == 5 && !memcmp(p, "hello", 5) && d.off == 12,
	      "xdr: opaque<8> of 5 bytes, padded to 12");
	CHECK(xdr_get_bool(&d, &bo) < 0 && d.err, "xdr: bool 2 refused");
	CHECK(xdr_get_u32(&d, &v) < 0, "xdr: sticky error");
	xdr_dec_init(&d, b, sizeof(b));
	CHECK(xdr_get_opaque(&d, &p, &n, 4) < 0, "xdr: opaque over its bound refused");
	xdr_dec_init(&d, b, 10);
	CHECK(xdr_get_opaque(&d, &p, &n, 8) < 0, "xdr: opaque padding past the end refused");
	uint8_t big[8] = { 0xff, 0xff, 0xff, 0xfc, 0, 0, 0, 0 };
	xdr_dec_init(&d, big, sizeof(big));
	CHECK(xdr_get_opaque(&d, &p, &n, 0xffffffffu) < 0, "xdr: length near 2^32 (no overflow)");
	uint8_t o[8];
	struct xdr_enc e;
	xdr_enc_init(&e, o, sizeof(o));
	CHECK(xdr_put_opaque(&e, "abc", 3) == 0 && e.len == 8 && o[7] == 0, "xdr: encode opaque padded");
	CHECK(xdr_put_u32(&e, 1) < 0 && e.err && e.len == 8, "xdr: encode overflow stops");
	xdr_enc_init(&e, o, sizeof(o));
	uint8_t *r = xdr_reserve(&e, 5);
	xdr_shrink(&e, 5, 2);
	CHECK(r && e.len == 4, "xdr: reserve 5 then shrink to 2 -> one word");
}

static void test_record(void)
{
	size_t raw, rl;
	uint8_t s[64];

	/* two fragments: 3 bytes (not last), 2 bytes (last) */
	wire_put32(s, 3);
	memcpy(s + 4, "abc", 3);
	wire_put32(s + 7, 0x80000000u | 2);
	memcpy(s + 11, "de", 2);
	for (size_t l = 0; l < 13; l++)
		CHECK(rpc_record_scan(s, l, 100, &raw, &rl) == RPC_REC_MORE,
		      "record: %zu of 13 bytes: more", l);
	CHECK(rpc_record_scan(s, 13, 100, &raw, &rl) == RPC_REC_WHOLE && raw == 13 && rl == 5,
	      "record: two fragments, whole");
	CHECK(rpc_record_gather(s, raw, s) == 5 && !memcmp(s, "abcde", 5), "record: gathered in place");
	wire_put32(s, 0x80000000u | 101);
	CHECK(rpc_record_scan(s, 4, 100, &raw, &rl) == RPC_REC_TOO_BIG,
	      "record: over the limit known from the mark alone");
	wire_put32(s, 60);
	wire_put32(s + 4, 0);
	CHECK(rpc_record_scan(s, 8, 100, &raw, &rl) == RPC_REC_MORE, "record: not yet over");
	uint8_t *z = calloc(4 * (RPC_MAX_FRAGMENTS + 1), 1);
	CHECK(rpc_record_scan(z, 4 * (RPC_MAX_FRAGMENTS + 1), 100, &raw, &rl) == RPC_REC_TOO_BIG,
	      "record: more than %d empty fragments refused", RPC_MAX_FRAGMENTS);
	free(z);
	wire_put32(s, 0x80000000u);
	CHECK(rpc_record_scan(s, 4, 100, &raw, &rl) == RPC_REC_WHOLE && rl == 0 && raw == 4,
	      "record: an empty record");
}

static void test_call(void)
{
	struct xdr_enc e;
	struct rpc_call c;
	char err[160];

	xdr_enc_init(&e, buf, sizeof(buf));
	size_t n = call_head(&e, 42, NFS3_PROG, 3, NFS3_GETATTR, 1);
	CHECK(rpc_call_decode(buf, n, &c, err, sizeof(err)) == RPC_DEC_OK && c.xid == 42 &&
	      c.prog == NFS3_PROG && c.vers == 3 && c.proc == 1 && c.cred_flavor == RPC_AUTH_SYS &&
	      c.sys.uid == 1000 && c.sys.gid == 100 && c.sys.ngids == 2 && c.sys.gids[1] == 20 &&
	      !strcmp(c.sys.machine, "client") && c.args_off == n, "call: AUTH_SYS decoded");
	for (size_t l = 0; l < n; l++) {
		enum rpc_dec r = rpc_call_decode(buf, l, &c, NULL, 0);
		if (r == RPC_DEC_OK) {
			CHECK(0, "call: truncated at %zu accepted", l);
			break;
		}
	}
	CHECK(1, "call: every truncation refused");
	CHECK(rpc_call_decode(buf, 7, &c, NULL, 0) == RPC_DEC_DROP, "call: no msg type: drop");
	wire_put32(buf + 8, 3);
	CHECK(rpc_call_decode(buf, n, &c, NULL, 0) == RPC_DEC_RPC_MISMATCH && c.xid == 42,
	      "call: rpcvers 3: RPC_MISMATCH (xid kept)");
	wire_put32(buf + 8, 2);
	wire_put32(buf + 4, RPC_REPLY);
	CHECK(rpc_call_decode(buf, n, &c, NULL, 0) == RPC_DEC_DROP, "call: a REPLY: drop");
	wire_put32(buf + 4, RPC_CALL);
	wire_put32(buf + 24, 6);	/* RPCSEC_GSS */
	CHECK(rpc_call_decode(buf, n, &c, NULL, 0) == RPC_DEC_TOOWEAK, "call: flavor 6: TOOWEAK");
	wire_put32(buf + 24, RPC_AUTH_SYS);
	wire_put32(buf + 36, 300);	/* machinename length inside the body */
	CHECK(rpc_call_decode(buf, n, &c, NULL, 0) == RPC_DEC_BADCRED, "call: machinename length lie: BADCRED");
	/* 17 gids */
	xdr_enc_init(&e, buf, sizeof(buf));
	uint8_t body[200];
	struct xdr_enc b;
	xdr_enc_init(&b, body, sizeof(body));
	xdr_put_u32(&b, 0);
	xdr_put_opaque(&b, "h", 1);
	xdr_put_u32(&b, 0);
	xdr_put_u32(&b, 0);
	xdr_put_u32(&b, 17);
	for (int i = 0; i < 17; i++)
		xdr_put_u32(&b, (uint32_t)i);
	xdr_put_u32(&e, 1); xdr_put_u32(&e, 0); xdr_put_u32(&e, 2);
	xdr_put_u32(&e, NFS3_PROG); xdr_put_u32(&e, 3); xdr_put_u32(&e, 0);
	xdr_put_u32(&e, RPC_AUTH_SYS);
	xdr_put_opaque(&e, body, (uint32_t)b.len);
	xdr_put_u32(&e, 0); xdr_put_u32(&e, 0);
	CHECK(rpc_call_decode(buf, e.len, &c, NULL, 0) == RPC_DEC_BADCRED, "call: 17 gids: BADCRED");
	/* a 500-byte credential */
	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_u32(&e, 1); xdr_put_u32(&e, 0); xdr_put_u32(&e, 2);
	xdr_put_u32(&e, NFS3_PROG); xdr_put_u32(&e, 3); xdr_put_u32(&e, 0);
	xdr_put_u32(&e, RPC_AUTH_SYS);
	xdr_put_u32(&e, 500);
	xdr_reserve(&e, 500);
	xdr_put_u32(&e, 0); xdr_put_u32(&e, 0);
	CHECK(rpc_call_decode(buf, e.len, &c, NULL, 0) == RPC_DEC_BADCRED, "call: credential over 400 bytes: BADCRED");
	/* a verifier of another flavor */
	xdr_enc_init(&e, buf, sizeof(buf));
	n = call_head(&e, 5, NFS3_PROG, 3, 0, 0);
	wire_put32(buf + n - 8, 1);
	CHECK(rpc_call_decode(buf, n, &c, NULL, 0) == RPC_DEC_BADVERF, "call: AUTH_SYS verifier: BADVERF");

	/* replies */
	xdr_enc_init(&e, buf, sizeof(buf));
	rpc_reply_rpc_mismatch(&e, 9);
	CHECK(e.len == 24 && wire_get32(buf) == 9 && wire_get32(buf + 4) == RPC_REPLY &&
	      wire_get32(buf + 8) == RPC_MSG_DENIED && wire_get32(buf + 12) == RPC_RPC_MISMATCH &&
	      wire_get32(buf + 16) == 2 && wire_get32(buf + 20) == 2, "reply: RPC_MISMATCH 2..2");
	xdr_enc_init(&e, buf, sizeof(buf));
	rpc_reply_auth_error(&e, 9, RPC_AUTH_TOOWEAK);
	CHECK(e.len == 20 && wire_get32(buf + 12) == RPC_AUTH_ERROR && wire_get32(buf + 16) == 5,
	      "reply: AUTH_ERROR TOOWEAK");
	xdr_enc_init(&e, buf, sizeof(buf));
	rpc_reply_prog_mismatch(&e, 9, 3, 3);
	CHECK(e.len == 32 && wire_get32(buf + 8) == RPC_MSG_ACCEPTED && wire_get32(buf + 20) == 2 &&
	      wire_get32(buf + 24) == 3 && wire_get32(buf + 28) == 3, "reply: PROG_MISMATCH 3..3");
	xdr_enc_init(&e, buf, 10);
	CHECK(rpc_reply_accepted(&e, 1, 0) < 0, "reply: too small a buffer fails");
}

static const uint8_t FH[36] = { 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9 };

static int decode(uint32_t proc, struct xdr_enc *e, struct nfs3_args *a)
{
	return nfs3_decode_args(proc, buf, e->len, 65536, a, NULL, 0);
}

/* Every strict prefix and a one-word extension must be refused. */
static int prefixes_refused(uint32_t proc, size_t len)
{
	struct nfs3_args a;

	for (size_t l = 0; l < len; l++)
		if (nfs3_decode_args(proc, buf, l, 65536, &a, NULL, 0) == 0)
			return 0;
	memset(buf + len, 0, 4);
	return nfs3_decode_args(proc, buf, len + 4, 65536, &a, NULL, 0) < 0;
}

static void test_args(void)
{
	struct xdr_enc e;
	struct nfs3_args a;

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, FH, 36);
	CHECK(decode(NFS3_GETATTR, &e, &a) == 0 && a.u.fh.len == 36 && !memcmp(a.u.fh.data, FH, 36),
	      "args: GETATTR round trip");
	CHECK(prefixes_refused(NFS3_GETATTR, e.len), "args: GETATTR truncations and extra bytes refused");

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, FH, 36);
	xdr_put_opaque(&e, "name", 4);
	CHECK(decode(NFS3_LOOKUP, &e, &a) == 0 && a.u.lookup.name.len == 4 &&
	      !memcmp(a.u.lookup.name.p, "name", 4), "args: LOOKUP round trip");
	CHECK(prefixes_refused(NFS3_LOOKUP, e.len), "args: LOOKUP truncations refused");

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, FH, 36);
	xdr_put_u64(&e, 1ull << 40);
	xdr_put_u32(&e, 5);
	xdr_put_u32(&e, NFS3_DATA_SYNC);
	xdr_put_opaque(&e, "hello", 5);
	CHECK(decode(NFS3_WRITE, &e, &a) == 0 && a.u.write.offset == 1ull << 40 &&
	      a.u.write.count == 5 && a.u.write.stable == 1 && a.u.write.len == 5 &&
	      !memcmp(a.u.write.data, "hello", 5), "args: WRITE round trip");
	CHECK(prefixes_refused(NFS3_WRITE, e.len), "args: WRITE truncations refused");
	wire_put32(buf + 4 + 36 + 12, 3);
	CHECK(decode(NFS3_WRITE, &e, &a) < 0, "args: WRITE stable_how 3 refused");
	wire_put32(buf + 4 + 36 + 12, 0);
	wire_put32(buf + 4 + 36 + 8, 6);
	CHECK(decode(NFS3_WRITE, &e, &a) < 0, "args: WRITE count != data length refused");
	CHECK(nfs3_decode_args(NFS3_WRITE, buf, e.len, 4, &a, NULL, 0) < 0,
	      "args: WRITE data over max_write refused");

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, FH, 36);
	xdr_put_u32(&e, 1); xdr_put_u32(&e, 0640);	/* mode */
	xdr_put_u32(&e, 0);				/* uid */
	xdr_put_u32(&e, 1); xdr_put_u32(&e, 50);	/* gid */
	xdr_put_u32(&e, 1); xdr_put_u64(&e, 12345);	/* size */
	xdr_put_u32(&e, SET_TIME_SERVER);
	xdr_put_u32(&e, SET_TIME_CLIENT); xdr_put_u32(&e, 77); xdr_put_u32(&e, 88);
	xdr_put_u32(&e, 1); xdr_put_u32(&e, 5); xdr_put_u32(&e, 6);	/* guard */
	CHECK(decode(NFS3_SETATTR, &e, &a) == 0 && a.u.setattr.attr.set_mode &&
	      a.u.setattr.attr.mode == 0640 && !a.u.setattr.attr.set_uid && a.u.setattr.attr.gid == 50 &&
	      a.u.setattr.attr.size == 12345 && a.u.setattr.attr.set_atime == SET_TIME_SERVER &&
	      a.u.setattr.attr.mtime.sec == 77 && a.u.setattr.guard && a.u.setattr.ctime.nsec == 6,
	      "args: SETATTR (sattr3 + guard) round trip");
	CHECK(prefixes_refused(NFS3_SETATTR, e.len), "args: SETATTR truncations refused");
	wire_put32(buf + 40 + 8 + 4 + 8 + 12, 3);	/* set_atime = 3 */
	CHECK(decode(NFS3_SETATTR, &e, &a) < 0, "args: SETATTR time_how 3 refused");

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, FH, 36);
	xdr_put_opaque(&e, "f", 1);
	xdr_put_u32(&e, NFS3_CREATE_EXCLUSIVE);
	xdr_put_fixed(&e, "verifier", 8);
	CHECK(decode(NFS3_CREATE, &e, &a) == 0 && a.u.create.mode == 2 &&
	      !memcmp(a.u.create.verf, "verifier", 8), "args: CREATE EXCLUSIVE round trip");
	CHECK(prefixes_refused(NFS3_CREATE, e.len), "args: CREATE truncations refused");
	wire_put32(buf + 40 + 8, 3);
	CHECK(decode(NFS3_CREATE, &e, &a) < 0, "args: CREATE mode 3 refused");

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, FH, 36);
	xdr_put_opaque(&e, "l", 1);
	put_sattr_none(&e);
	xdr_put_opaque(&e, "../target", 9);
	CHECK(decode(NFS3_SYMLINK, &e, &a) == 0 && a.u.symlink.path.len == 9, "args: SYMLINK round trip");
	CHECK(prefixes_refused(NFS3_SYMLINK, e.len), "args: SYMLINK truncations refused");

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, FH, 36);
	xdr_put_opaque(&e, "a", 1);
	xdr_put_opaque(&e, FH, 36);
	xdr_put_opaque(&e, "bb", 2);
	CHECK(decode(NFS3_RENAME, &e, &a) == 0 && a.u.rename.to.name.len == 2, "args: RENAME round trip");
	CHECK(prefixes_refused(NFS3_RENAME, e.len), "args: RENAME truncations refused");

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, FH, 36);
	xdr_put_u64(&e, 99);
	xdr_put_fixed(&e, "cookieve", 8);
	xdr_put_u32(&e, 4096);
	xdr_put_u32(&e, 32768);
	CHECK(decode(NFS3_READDIRPLUS, &e, &a) == 0 && a.u.readdir.cookie == 99 &&
	      a.u.readdir.maxcount == 32768 && !memcmp(a.u.readdir.verf, "cookieve", 8),
	      "args: READDIRPLUS round trip");
	CHECK(decode(NFS3_READDIR, &e, &a) < 0, "args: READDIRPLUS arguments are not READDIR's");

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, FH, 36);
	xdr_put_opaque(&e, "dev", 3);
	xdr_put_u32(&e, NF3CHR);
	put_sattr_none(&e);
	xdr_put_u32(&e, 1);
	xdr_put_u32(&e, 3);
	CHECK(decode(NFS3_MKNOD, &e, &a) == 0 && a.u.mknod.type == NF3CHR, "args: MKNOD CHR decoded");
	wire_put32(buf + 48, 9);
	CHECK(decode(NFS3_MKNOD, &e, &a) < 0, "args: MKNOD type 9 refused");

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_u32(&e, 65);
	xdr_reserve(&e, 65);
	CHECK(decode(NFS3_GETATTR, &e, &a) < 0, "args: a 65-byte handle refused");
	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, FH, 36);
	xdr_put_u32(&e, 256);
	xdr_reserve(&e, 256);
	CHECK(decode(NFS3_LOOKUP, &e, &a) < 0, "args: a 256-byte name refused");
	CHECK(nfs3_decode_args(NFS3_NPROC, buf, 0, 0, &a, NULL, 0) < 0, "args: unknown procedure");
	CHECK(nfs3_decode_args(NFS3_NULL, buf, 0, 0, &a, NULL, 0) == 0 &&
	      nfs3_decode_args(NFS3_NULL, buf, 4, 0, &a, NULL, 0) < 0, "args: NULL takes nothing");

	struct nfs3_str p;
	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, "/export", 7);
	CHECK(mnt3_decode_dirpath(buf, e.len, &p) == 0 && p.len == 7, "args: MNT dirpath");
	CHECK(mnt3_decode_dirpath(buf, e.len - 1, &p) < 0, "args: MNT dirpath truncated");
	struct pmap_mapping m;
	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_u32(&e, NFS3_PROG); xdr_put_u32(&e, 3); xdr_put_u32(&e, 6); xdr_put_u32(&e, 0);
	CHECK(pmap_decode_mapping(buf, 16, &m) == 0 && m.prog == NFS3_PROG && m.prot == 6,
	      "args: portmapper mapping");
	CHECK(pmap_decode_mapping(buf, 12, &m) < 0, "args: portmapper mapping truncated");
}

static void test_results(void)
{
	struct xdr_enc e;
	struct nfs3_fattr fa = { .type = NF3REG, .mode = 0644, .nlink = 1, .uid = 2, .gid = 3,
				 .size = 1ull << 33, .used = 4096, .fsid = 1, .fileid = 77,
				 .mtime = { 10, 20 } };
	struct nfs3_post_attr pa = { 1, fa };
	struct nfs3_fh fh = { 36, { 0 } };
	struct xdr_dec d;
	uint32_t v;
	uint64_t q;

	xdr_enc_init(&e, buf, sizeof(buf));
	nfs3_enc_getattr(&e, NFS3_OK, &fa);
	CHECK(e.len == 4 + 84, "result: GETATTR ok is status + fattr3 (84 bytes)");
	xdr_dec_init(&d, buf, e.len);
	xdr_get_u32(&d, &v);
	xdr_get_u32(&d, &v);
	CHECK(v == NF3REG, "result: fattr3 type first");
	xdr_dec_init(&d, buf + 4 + 20, 8);
	xdr_get_u64(&d, &q);
	CHECK(q == 1ull << 33, "result: fattr3 size at offset 20, 64-bit");

	static const struct { uint32_t proc; size_t len; } fails[] = {
		{ NFS3_GETATTR, 4 }, { NFS3_SETATTR, 12 }, { NFS3_LOOKUP, 8 }, { NFS3_READ, 8 },
		{ NFS3_WRITE, 12 }, { NFS3_CREATE, 12 }, { NFS3_RENAME, 20 }, { NFS3_LINK, 16 },
		{ NFS3_READDIRPLUS, 8 }, { NFS3_COMMIT, 12 },
	};
	for (unsigned i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		xdr_enc_init(&e, buf, sizeof(buf));
		CHECK(nfs3_put_error(&e, fails[i].proc, NFS3ERR_STALE) == 0 && e.len == fails[i].len &&
		      wire_get32(buf) == NFS3ERR_STALE, "result: proc %u failure arm is %zu bytes",
		      fails[i].proc, fails[i].len);
	}
	/* the generic failure arm equals the specific encoder's */
	uint8_t other[64];
	struct xdr_enc e2;
	xdr_enc_init(&e, buf, sizeof(buf));
	nfs3_put_error(&e, NFS3_LOOKUP, NFS3ERR_NOENT);
	xdr_enc_init(&e2, other, sizeof(other));
	nfs3_enc_lookup(&e2, NFS3ERR_NOENT, NULL, NULL, NULL);
	CHECK(e.len == e2.len && !memcmp(buf, other, e.len), "result: LOOKUP failure arms agree");

	xdr_enc_init(&e, buf, sizeof(buf));
	nfs3_enc_lookup(&e, NFS3_OK, &fh, &pa, NULL);
	CHECK(e.len == 4 + 40 + 88 + 4, "result: LOOKUP ok: fh, obj attrs, dir attrs absent");

	xdr_enc_init(&e, buf, sizeof(buf));
	nfs3_enc_read_head(&e, NFS3_OK, &pa, 3, 1);
	uint8_t *data = xdr_reserve(&e, 3);
	memcpy(data, "abc", 3);
	CHECK(e.len == 4 + 88 + 12 + 4 && wire_get32(buf + 92) == 3 && wire_get32(buf + 96) == 1 &&
	      wire_get32(buf + 100) == 3 && !memcmp(buf + 104, "abc", 3) && buf[107] == 0,
	      "result: READ count, eof, data padded");

	/* READDIR entries stop at the budget, the end still fits */
	xdr_enc_init(&e, buf, sizeof(buf));
	uint8_t verf[8] = { 0 };
	nfs3_enc_readdir_head(&e, NFS3_OK, NULL, verf);
	size_t limit = e.len + 2 * 28 + 8;	/* two 28-byte entries and the end */
	int n = 0;
	while (nfs3_enc_readdir_entry(&e, limit, 1, "abcd", 4, 2, NULL, NULL, 0))
		n++;
	nfs3_enc_readdir_end(&e, 0);
	CHECK(n == 2 && e.len <= limit, "result: READDIR stops at the budget (%d entries)", n);

	xdr_enc_init(&e, buf, sizeof(buf));
	const char *groups[] = { "10.0.0.0/8" };
	mnt3_enc_export(&e, "/export", groups, 1);
	CHECK(e.len == 4 + 12 + 4 + 16 + 4 + 4, "result: MOUNT EXPORT list");
	xdr_enc_init(&e, buf, sizeof(buf));
	mnt3_enc_mnt(&e, MNT3_OK, &fh);
	CHECK(e.len == 4 + 40 + 8 && wire_get32(buf + 48) == RPC_AUTH_SYS, "result: MNT offers AUTH_SYS");
}

/* The client side: nasd calling other nodes (nfs_proxy.c, nfs_xrename.c). */
static void test_client_side(void)
{
	struct nfs3_fh fh = { 36, { 1, 2, 3 } }, got;
	struct nfs3_post_attr pa = { 0 };
	struct xdr_enc e;
	uint32_t xid, as, st;
	size_t off;
	int has;

	xdr_enc_init(&e, buf, sizeof(buf));
	rpc_reply_accepted(&e, 77, RPC_SUCCESS);
	nfs3_enc_create(&e, NFS3_OK, &fh, &pa, NULL);
	CHECK(rpc_reply_decode(buf, e.len, &xid, &as, &off) == 0 && xid == 77 && as == 0 && off == 24,
	      "client: accepted reply header");
	CHECK(nfs3_decode_create_res(buf + off, e.len - off, &st, &got, &has) == 0 && st == 0 && has &&
	      got.len == 36 && got.data[2] == 3, "client: CREATE result round trip (handle)");
	CHECK(nfs3_decode_create_res(buf + off, 10, &st, &got, &has) < 0, "client: CREATE result truncated");
	xdr_enc_init(&e, buf, sizeof(buf));
	rpc_reply_auth_error(&e, 5, RPC_AUTH_TOOWEAK);
	CHECK(rpc_reply_decode(buf, e.len, &xid, &as, &off) < 0, "client: MSG_DENIED is not accepted");
	CHECK(rpc_reply_decode(buf, 11, &xid, &as, &off) < 0, "client: a short reply");
	xdr_enc_init(&e, buf, sizeof(buf));
	nfs3_enc_create(&e, NFS3ERR_EXIST, NULL, NULL, NULL);
	CHECK(nfs3_decode_create_res(buf, e.len, &st, &got, &has) == 0 && st == NFS3ERR_EXIST && !has,
	      "client: CREATE failure");
}

static void test_fh(void)
{
	uint8_t key[32], h[NFS_FH_LEN];
	struct nfs_fh in = { .node_id = 3, .export_id = 0x01020304, .ino = 0x1122334455667788ull,
			     .gen = 0xdeadbeef }, out;
	char err[80];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	nfs_fh_encode(&in, key, sizeof(key), h);
	CHECK(h[0] == 1 && h[1] == 3 && h[4] == 1 && h[7] == 4 && h[8] == 0x11 && h[15] == 0x88 &&
	      h[16] == 0xde, "fh: layout big-endian as documented");
	CHECK(nfs_fh_decode(h, sizeof(h), key, sizeof(key), &out, err, sizeof(err)) == 0 &&
	      out.node_id == 3 && out.export_id == in.export_id && out.ino == in.ino &&
	      out.gen == in.gen, "fh: round trip");
	int refused = 0;
	for (int i = 0; i < NFS_FH_LEN; i++)
		for (int bit = 0; bit < 8; bit++) {
			h[i] ^= (uint8_t)(1 << bit);
			refused += nfs_fh_decode(h, sizeof(h), key, sizeof(key), &out, NULL, 0) < 0;
			h[i] ^= (uint8_t)(1 << bit);
		}
	CHECK(refused == NFS_FH_LEN * 8, "fh: every single-bit change refused (%d)", refused);
	key[0] ^= 1;
	CHECK(nfs_fh_decode(h, sizeof(h), key, sizeof(key), &out, NULL, 0) < 0, "fh: another key refuses it");
	key[0] ^= 1;
	CHECK(nfs_fh_decode(h, 35, key, sizeof(key), &out, NULL, 0) < 0, "fh: wrong length refused");
	in.flags = NFS_FH_F_VROOT;
	nfs_fh_encode(&in, key, sizeof(key), h);
	CHECK(nfs_fh_decode(h, sizeof(h), key, sizeof(key), &out, NULL, 0) == 0 &&
	      out.flags == NFS_FH_F_VROOT, "fh: the virtual root flag");
	in.flags = 2;
	nfs_fh_encode(&in, key, sizeof(key), h);
	CHECK(nfs_fh_decode(h, sizeof(h), key, sizeof(key), &out, NULL, 0) < 0,
	      "fh: an unknown flag refused even when signed");
}

/* The "nfs" section of nasd's configuration (storage/nfs/nfs_config.c). */
static void test_config(void)
{
	static struct nasd_config cfg;
	char err[400], text[2048];
	const char *head = "{ \"listen\": [\"127.0.0.1:80\"], "
			   "\"exports\": [ { \"url\": \"/\", \"path\": \"/tmp\" } ], \"nfs\": ";
	static const struct { const char *nfs; int ok; const char *what; } cases[] = {
		{ "{ \"listen\": [\"10.0.0.1:2049\"], \"portmap\": [\"10.0.0.1:111\"], "
		  "\"export\": \"/export\", \"path\": \"/srv\", \"clients\": [\"10.0.0.0/8\", "
		  "\"fd00::/8\", \"192.168.1.7\"], \"fh_key_file\": \"/k\", \"node_id\": 2 }", 1,
		  "a full section" },
		{ "{ \"listen\": [\"10.0.0.1:2049\"], \"export\": \"/export\", \"path\": \"/srv\", "
		  "\"clients\": [\"10.0.0.0/8\"], \"node_id\": 2 }", 0, "no fh_key_file" },
		{ "{ \"listen\": [\"10.0.0.1:2049\"], \"export\": \"/export\", \"path\": \"/srv\", "
		  "\"clients\": [\"10.0.0.0/33\"], \"fh_key_file\": \"/k\", \"node_id\": 2 }", 0,
		  "a /33 network" },
		{ "{ \"listen\": [\"10.0.0.1:2049\"], \"export\": \"/export\", \"path\": \"/srv\", "
		  "\"clients\": [\"10.0.0.0/8\"], \"fh_key_file\": \"/k\", \"node_id\": 0 }", 0,
		  "node_id 0" },
		{ "{ \"listen\": [\"10.0.0.1:2049\"], \"export\": \"export\", \"path\": \"/srv\", "
		  "\"clients\": [\"10.0.0.0/8\"], \"fh_key_file\": \"/k\", \"node_id\": 1 }", 0,
		  "a relative export name" },
		{ "{ \"listen\": [\"10.0.0.1:2049\"], \"export\": \"/e\", \"path\": \"/srv\", "
		  "\"clients\": [], \"fh_key_file\": \"/k\", \"node_id\": 1 }", 0, "no clients" },
		{ "{ \"listen\": [\"10.0.0.1:2049\"], \"export\": \"/e\", \"path\": \"/srv\", "
		  "\"clients\": [\"10.0.0.0/8\"], \"fh_key_file\": \"/k\", \"node_id\": 1, "
		  "\"squash\": true }", 0, "an unknown key" },
#define NS_HEAD "{ \"listen\": [\"10.0.0.1:2049\"], \"export\": \"/e\", \"path\": \"/srv\", " \
		"\"clients\": [\"10.0.0.0/8\"], \"fh_key_file\": \"/k\", \"node_id\": 1, \"namespace\": "
		{ NS_HEAD "{ \"homes\": [ { \"dir\": \"a\", \"node_id\": 1 }, { \"dir\": \"b\", \"node_id\": 2 } ], "
		  "\"peers\": [ { \"node_id\": 2, \"address\": \"10.0.0.2:2049\" } ] } }", 1, "a namespace" },
		{ NS_HEAD "{ \"homes\": [ { \"dir\": \"b\", \"node_id\": 3 } ], "
		  "\"peers\": [ { \"node_id\": 2, \"address\": \"10.0.0.2:2049\" } ] } }", 0,
		  "a home that is no node" },
		{ NS_HEAD "{ \"homes\": [ { \"dir\": \"a/b\", \"node_id\": 1 } ], \"peers\": [] } }", 0,
		  "a home with a '/'" },
		{ NS_HEAD "{ \"homes\": [ { \"dir\": \"a\", \"node_id\": 1 }, { \"dir\": \"a\", \"node_id\": 1 } ], "
		  "\"peers\": [] } }", 0, "a home twice" },
		{ NS_HEAD "{ \"homes\": [ { \"dir\": \"a\", \"node_id\": 1 } ], "
		  "\"peers\": [ { \"node_id\": 1, \"address\": \"10.0.0.2:2049\" } ] } }", 0,
		  "this node as a peer" },
#define OPT_HEAD "{ \"listen\": [\"10.0.0.1:2049\"], \"export\": \"/e\", \"path\": \"/srv\", " \
		 "\"clients\": [\"10.0.0.0/8\"], \"fh_key_file\": \"/k\", \"node_id\": 1, "
		{ OPT_HEAD "\"root_squash\": false, \"anonuid\": 99, \"anongid\": 98, "
		  "\"idle_timeout_s\": 2, \"max_conns_per_client\": 4 }", 1, "the export's options" },
		{ OPT_HEAD "\"root_squash\": \"no\" }", 0, "root_squash not a boolean" },
		{ OPT_HEAD "\"idle_timeout_s\": 0 }", 0, "idle_timeout_s 0" },
		{ OPT_HEAD "\"max_conns_per_client\": 0 }", 0, "max_conns_per_client 0" },
		{ OPT_HEAD "\"anonuid\": 4294967295 }", 0, "anonuid -1" },
		{ "{ \"listen\": [\"10.0.0.1:2049\"], \"export\": \"/e\", \"path\": \"/srv\", "
		  "\"fh_key_file\": \"/k\", \"node_id\": 1 }", 0, "no \"clients\" at all" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s }", head, cases[i].nfs);
		int rc = nasd_config_parse(text, strlen(text), &cfg, err, sizeof(err));
		CHECK((rc == 0) == cases[i].ok, "config: %s %s%s%s", cases[i].what,
		      cases[i].ok ? "accepted" : "refused", rc < 0 ? ": " : "", rc < 0 ? err : "");
	}
	snprintf(text, sizeof(text), "%s%s }", head, cases[0].nfs);
	nasd_config_parse(text, strlen(text), &cfg, err, sizeof(err));
	CHECK(cfg.nfs.enabled && cfg.nfs.nclients == 3 && cfg.nfs.clients[0].plen == 8 &&
	      cfg.nfs.clients[1].addr.family == 6 && cfg.nfs.clients[2].plen == 32 &&
	      cfg.nfs.npmap == 1 && cfg.nfs.node_id == 2 && cfg.nfs.writable &&
	      cfg.nfs.max_io == 1u << 20 && cfg.nfs.export_id == 1 && !cfg.nfs.vroot,
	      "config: values and defaults");
	CHECK(cfg.nfs.root_squash && cfg.nfs.anonuid == 65534 && cfg.nfs.anongid == 65534 &&
	      cfg.nfs.idle_timeout_ms == 300000 && cfg.nfs.max_conns_per_client == 32,
	      "config: root squashed by default (65534), idle 300 s, 32 connections per client");
	snprintf(text, sizeof(text), "%s%s }", head, cases[12].nfs);
	nasd_config_parse(text, strlen(text), &cfg, err, sizeof(err));
	CHECK(!cfg.nfs.root_squash && cfg.nfs.anonuid == 99 && cfg.nfs.anongid == 98 &&
	      cfg.nfs.idle_timeout_ms == 2000 && cfg.nfs.max_conns_per_client == 4,
	      "config: \"root_squash\": false and the other options");
	snprintf(text, sizeof(text), "%s%s }", head, cases[7].nfs);
	nasd_config_parse(text, strlen(text), &cfg, err, sizeof(err));
	CHECK(cfg.nfs.vroot && cfg.nfs.nhomes == 2 && cfg.nfs.homes[1].node_id == 2 &&
	      !strcmp(cfg.nfs.homes[1].dir, "b") && cfg.nfs.npeers == 1 && cfg.nfs.peers[0].port == 2049 &&
	      cfg.nfs.proxy_timeout_ms == 5000, "config: namespace values");
}

/* "client_groups": one of netgroup / host / network each, options default
 * to the section's, a group cannot make a read-only export writable;
 * names that NSS or a netgroup triple could not carry are refused. */
static void test_policy_config(void)
{
	static struct nasd_config cfg;
	char err[400], text[2048];
	const char *head = "{ \"listen\": [\"127.0.0.1:80\"], "
			   "\"exports\": [ { \"url\": \"/\", \"path\": \"/tmp\" } ], \"nfs\": "
			   "{ \"listen\": [\"10.0.0.1:2049\"], \"export\": \"/e\", \"path\": \"/srv\", "
			   "\"clients\": [\"10.0.0.0/8\"], \"fh_key_file\": \"/k\", \"node_id\": 1, ";
	static const struct { const char *nfs; int ok; const char *what; } cases[] = {
		{ "\"root_squash\": false, \"client_groups\": [ { \"netgroup\": \"nfs-rw\" }, "
		  "{ \"host\": \"backup1.example\", \"writable\": false, \"root_squash\": true, "
		  "\"anonuid\": 7, \"anongid\": 8 }, { \"network\": \"10.1.0.0/16\", \"writable\": false } ], "
		  "\"policy_refresh_s\": 1, \"policy_max_members\": 100 }", 1, "three groups" },
		{ "\"client_groups\": [] }", 0, "no groups" },
		{ "\"client_groups\": {} }", 0, "client_groups not an array" },
		{ "\"client_groups\": [ { } ] }", 0, "a group naming nobody" },
		{ "\"client_groups\": [ { \"netgroup\": \"a\", \"host\": \"b\" } ] }", 0,
		  "a group with two kinds" },
		{ "\"client_groups\": [ { \"netgroup\": \"a b\" } ] }", 0, "a netgroup name with a blank" },
		{ "\"client_groups\": [ { \"netgroup\": \"(a,b,c)\" } ] }", 0, "a triple as a name" },
		{ "\"client_groups\": [ { \"netgroup\": \"\" } ] }", 0, "an empty netgroup name" },
		{ "\"client_groups\": [ { \"netgroup\": 7 } ] }", 0, "a netgroup not a string" },
		{ "\"client_groups\": [ { \"network\": \"10.0.0.0/40\" } ] }", 0, "a /40 network" },
		{ "\"client_groups\": [ { \"netgroup\": \"a\", \"squash\": 1 } ] }", 0, "an unknown key" },
		{ "\"client_groups\": [ \"a\" ] }", 0, "a group not an object" },
		{ "\"client_groups\": [ { \"netgroup\": \"a\" } ], \"policy_refresh_s\": 0 }", 0,
		  "policy_refresh_s 0" },
		{ "\"client_groups\": [ { \"netgroup\": \"a\" } ], \"policy_max_members\": 0 }", 0,
		  "policy_max_members 0" },
		{ "\"client_groups\": [ {\"netgroup\":\"a\"},{\"netgroup\":\"a\"},{\"netgroup\":\"a\"},"
		  "{\"netgroup\":\"a\"},{\"netgroup\":\"a\"},{\"netgroup\":\"a\"},{\"netgroup\":\"a\"},"
		  "{\"netgroup\":\"a\"},{\"netgroup\":\"a\"},{\"netgroup\":\"a\"},{\"netgroup\":\"a\"},"
		  "{\"netgroup\":\"a\"},{\"netgroup\":\"a\"},{\"netgroup\":\"a\"},{\"netgroup\":\"a\"},"
		  "{\"netgroup\":\"a\"},{\"netgroup\":\"a\"} ] }", 0, "17 groups" },
		{ "\"writable\": false, \"client_groups\": [ { \"netgroup\": \"a\", \"writable\": true } ] }",
		  1, "a writable group of a read-only export" },
	};
	const struct nasd_nfs_client_group *g = cfg.nfs.groups;

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "%s%s }", head, cases[i].nfs);
		int rc = nasd_config_parse(text, strlen(text), &cfg, err, sizeof(err));
		CHECK((rc == 0) == cases[i].ok, "policy config: %s %s%s%s", cases[i].what,
		      cases[i].ok ? "accepted" : "refused", rc < 0 ? ": " : "", rc < 0 ? err : "");
	}
	CHECK(cfg.nfs.ngroups == 1 && !g[0].writable, "policy config: a group cannot open a "
	      "read-only export for writing");
	snprintf(text, sizeof(text), "%s%s }", head, cases[0].nfs);
	nasd_config_parse(text, strlen(text), &cfg, err, sizeof(err));
	CHECK(cfg.nfs.ngroups == 3 && g[0].kind == NASD_CG_NETGROUP && !strcmp(g[0].name, "nfs-rw") &&
	      g[0].writable && !g[0].root_squash && g[0].anonuid == 65534 &&
	      g[1].kind == NASD_CG_HOST && !strcmp(g[1].name, "backup1.example") && !g[1].writable &&
	      g[1].root_squash && g[1].anonuid == 7 && g[1].anongid == 8 &&
	      g[2].kind == NASD_CG_NETWORK && g[2].net.plen == 16 && !g[2].writable &&
	      cfg.nfs.policy_refresh_ms == 1000 && cfg.nfs.policy_max_members == 100,
	      "policy config: values, and the section's options as the groups' defaults");
	snprintf(text, sizeof(text), "%s\"writable\": true } }", head);
	nasd_config_parse(text, strlen(text), &cfg, err, sizeof(err));
	CHECK(cfg.nfs.ngroups == 0 && cfg.nfs.policy_refresh_ms == 2000 &&
	      cfg.nfs.policy_max_members == 4096, "policy config: no groups, refresh 2 s, 4096 "
	      "hosts per netgroup by default");

	/* an HTTP export's "nfs_policy" needs the groups it follows */
	static const char *const http[2] = {
		"{ \"listen\": [\"127.0.0.1:80\"], \"exports\": [ { \"url\": \"/\", \"path\": \"/tmp\", "
		"\"nfs_policy\": true } ], \"nfs\": { \"listen\": [\"10.0.0.1:2049\"], \"export\": \"/e\", "
		"\"path\": \"/srv\", \"clients\": [\"10.0.0.0/8\"], \"fh_key_file\": \"/k\", \"node_id\": 1 } }",
		"{ \"listen\": [\"127.0.0.1:80\"], \"exports\": [ { \"url\": \"/\", \"path\": \"/tmp\", "
		"\"nfs_policy\": true } ], \"nfs\": { \"listen\": [\"10.0.0.1:2049\"], \"export\": \"/e\", "
		"\"path\": \"/srv\", \"clients\": [\"10.0.0.0/8\"], \"fh_key_file\": \"/k\", \"node_id\": 1, "
		"\"client_groups\": [ { \"netgroup\": \"w\" } ] } }",
	};
	CHECK(nasd_config_parse(http[0], strlen(http[0]), &cfg, err, sizeof(err)) < 0 &&
	      strstr(err, "nfs_policy"), "policy config: an HTTP export's nfs_policy without "
	      "client_groups refused: %s", err);
	CHECK(nasd_config_parse(http[1], strlen(http[1]), &cfg, err, sizeof(err)) == 0 &&
	      cfg.exports[0].nfs_policy, "policy config: an HTTP export's nfs_policy with them");
}

/* The DRC's key: the same call is the same key whatever its AUTH_SYS stamp
 * or machine name; another uid, gid, group list, version or argument byte
 * is another key. */
static void test_drc_key(void)
{
	static const uint8_t args[] = { 0, 0, 0, 4, 'a', 'r', 'g', 's' };
	struct rpc_call a = { .xid = 7, .rpcvers = 2, .prog = NFS3_PROG, .vers = 3, .proc = 8,
			      .cred_flavor = RPC_AUTH_SYS,
			      .sys = { .stamp = 1, .machine = "m1", .uid = 1000, .gid = 1000,
				       .ngids = 1, .gids = { 1000 } } };
	struct rpc_call b = a;
	uint64_t k = nfs_drc_key(&a, args, sizeof(args));

	b.sys.stamp = 2;
	snprintf(b.sys.machine, sizeof(b.sys.machine), "m2");
	CHECK(nfs_drc_key(&b, args, sizeof(args)) == k, "drc key: stamp and machine name ignored");
	b = a;
	b.sys.uid = 1001;
	CHECK(nfs_drc_key(&b, args, sizeof(args)) != k, "drc key: another uid, another key");
	b = a;
	b.sys.gid = 0;
	CHECK(nfs_drc_key(&b, args, sizeof(args)) != k, "drc key: another gid");
	b = a;
	b.sys.gids[0] = 0;
	CHECK(nfs_drc_key(&b, args, sizeof(args)) != k, "drc key: other groups");
	b = a;
	b.cred_flavor = RPC_AUTH_NONE;
	CHECK(nfs_drc_key(&b, args, sizeof(args)) != k, "drc key: AUTH_NONE");
	b = a;
	b.vers = 2;
	CHECK(nfs_drc_key(&b, args, sizeof(args)) != k, "drc key: another version");
	CHECK(nfs_drc_key(&a, args, sizeof(args) - 1) != k, "drc key: other arguments");
}

static void test_conn_state(void)
{
	static uint8_t blob[RPC_CONN_MAX_BLOB], big[70000];
	struct rpc_conn_state st = { .in = (const uint8_t *)"\x80\0\0\x10half", .in_len = 8,
				     .out = (const uint8_t *)"reply", .out_len = 5, .calls = 99,
				     .ndrc = 2 };
	struct rpc_conn_state d;
	char err[160];

	st.drc[0] = (struct rpc_conn_drc){ 7, NFS3_PROG, NFS3_CREATE, 0x1122334455667788ull,
					  (const uint8_t *)"r1", 2 };
	st.drc[1] = (struct rpc_conn_drc){ 8, NFS3_PROG, NFS3_REMOVE, 1, (const uint8_t *)"", 0 };
	long n = rpc_conn_state_encode(&st, blob, sizeof(blob));
	CHECK(n == 8 + 12 + 9 + 12 + 2 * 24 + 2, "conn state: encoded size (%ld)", n);
	CHECK(rpc_conn_state_decode(blob, (size_t)n, &d, err, sizeof(err)) == 0 && d.in_len == 8 &&
	      !memcmp(d.in, st.in, 8) && d.out_len == 5 && d.calls == 99 && d.ndrc == 2 &&
	      d.drc[0].xid == 7 && d.drc[0].ahash == st.drc[0].ahash && d.drc[0].len == 2 &&
	      !memcmp(d.drc[0].reply, "r1", 2) && d.drc[1].len == 0, "conn state: round trip");
	int refused = 0;
	for (long l = 0; l < n; l++)
		refused += rpc_conn_state_decode(blob, (size_t)l, &d, NULL, 0) < 0;
	CHECK(refused == n, "conn state: every truncation refused");
	blob[2] = 2;
	CHECK(rpc_conn_state_decode(blob, (size_t)n, &d, err, sizeof(err)) < 0, "conn state: version 2 refused");
	blob[2] = 1;
	/* an optional unknown record is skipped, a mandatory one refused */
	memcpy(big, blob, (size_t)n);
	wire_put16(big + n, 0x8001);
	wire_put16(big + n + 2, 0);
	wire_put32(big + 4, (uint32_t)(n + 4 - 8));
	CHECK(rpc_conn_state_decode(big, (size_t)n + 4, &d, err, sizeof(err)) == 0, "conn state: optional record skipped");
	wire_put16(big + n, 0x0009);
	CHECK(rpc_conn_state_decode(big, (size_t)n + 4, &d, err, sizeof(err)) < 0, "conn state: unknown record refused");
	/* a second IN */
	memcpy(big + n, blob + 8, 12);
	wire_put32(big + 4, (uint32_t)(n + 12 - 8));
	CHECK(rpc_conn_state_decode(big, (size_t)n + 12, &d, err, sizeof(err)) < 0, "conn state: IN twice refused");
	st.in = big;
	st.in_len = 65536;
	CHECK(rpc_conn_state_encode(&st, blob, sizeof(blob)) < 0, "conn state: over 64 KiB refused");
	st.in_len = 8;
	st.ndrc = RPC_CONN_DRC_MAX + 1;
	CHECK(rpc_conn_state_encode(&st, blob, sizeof(blob)) < 0, "conn state: too many DRC entries refused");
}

/* rpcbind v3/v4: struct rpcb round trip and bounds, netids, universal
 * addresses both ways (IPv4, IPv6, malformed). */
static void test_rpcb(void)
{
	struct rpcb_args a;
	struct rpcb_netid n;
	struct sockaddr_storage ss;
	struct xdr_enc e;
	char ua[80], err[120];

	xdr_enc_init(&e, buf, sizeof(buf));
	CHECK(rpcb_put(&e, NFS3_PROG, 3, "tcp6", "fd77:1::100.8.1", "superuser") == 0 &&
	      rpcb_decode(buf, e.len, &a, err, sizeof(err)) == 0 && a.prog == NFS3_PROG &&
	      a.vers == 3 && a.netid_len == 4 && memcmp(a.netid, "tcp6", 4) == 0 &&
	      a.addr_len == 15 && a.owner_len == 9, "rpcb: struct rpcb round trip");
	CHECK(rpcb_decode(buf, e.len - 4, &a, err, sizeof(err)) < 0 && strstr(err, "r_owner"),
	      "rpcb: truncated owner refused, named (%s)", err);
	CHECK(rpcb_decode(buf, e.len + 4, &a, err, sizeof(err)) < 0, "rpcb: trailing bytes refused");
	xdr_enc_init(&e, buf, sizeof(buf));
	char longid[RPCB_NETID_MAX + 2];
	memset(longid, 't', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = 0;
	rpcb_put(&e, NFS3_PROG, 3, longid, "", "");
	CHECK(rpcb_decode(buf, e.len, &a, err, sizeof(err)) < 0 && strstr(err, "r_netid"),
	      "rpcb: netid over %d bytes refused", RPCB_NETID_MAX);

	CHECK(rpcb_netid_parse((const uint8_t *)"udp6", 4, &n) == 0 && n.family == AF_INET6 &&
	      n.prot == 17 && strcmp(rpcb_netid_name(AF_INET, 6), "tcp") == 0,
	      "rpcb: netids udp6 -> inet6/udp, inet/tcp -> tcp");
	CHECK(rpcb_netid_parse((const uint8_t *)"tcp7", 4, &n) < 0 &&
	      rpcb_netid_parse((const uint8_t *)"tc", 2, &n) < 0, "rpcb: unknown netids refused");

	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	memset(&ss, 0, sizeof(ss));
	s4->sin_family = AF_INET;
	s4->sin_addr.s_addr = htonl(0x0a4d0164);	/* 10.77.1.100 */
	CHECK(rpcb_uaddr_fmt(&ss, 2049, ua, sizeof(ua)) > 0 && strcmp(ua, "10.77.1.100.8.1") == 0,
	      "uaddr: IPv4 10.77.1.100:2049 -> %s", ua);
	CHECK(rpcb_uaddr_fmt(&ss, 2049, ua, 10) < 0, "uaddr: too small a buffer refused");
	CHECK(rpcb_uaddr_parse((const uint8_t *)"fd77:1::100.0.111", 17, &ss, err, sizeof(err)) == 0 &&
	      ss.ss_family == AF_INET6 && ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == 111,
	      "uaddr: IPv6 fd77:1::100.0.111 -> port 111");
	CHECK(rpcb_uaddr_fmt(&ss, 111, ua, sizeof(ua)) > 0 && strcmp(ua, "fd77:1::100.0.111") == 0,
	      "uaddr: ... and back (%s)", ua);
	CHECK(rpcb_uaddr_parse((const uint8_t *)"10.77.1.100.8.1", 15, &ss, err, sizeof(err)) == 0 &&
	      ss.ss_family == AF_INET && ntohs(s4->sin_port) == 2049 &&
	      s4->sin_addr.s_addr == htonl(0x0a4d0164), "uaddr: IPv4 parsed");
	static const char *bad[] = { "10.77.1.100.8", "10.77.1.100.256.1", "10.77.1.100..1",
				     ".8.1", "x.8.1", "10.77.1.100.8.1 ", "1.2.3.4.1234.1", "" };
	int refused = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused += rpcb_uaddr_parse((const uint8_t *)bad[i], strlen(bad[i]), &ss, err,
					    sizeof(err)) < 0;
	CHECK(refused == (int)(sizeof(bad) / sizeof(bad[0])), "uaddr: %d of %zu malformed refused",
	      refused, sizeof(bad) / sizeof(bad[0]));
}

/* NLM: LOCK arguments round trip and bounds, the lock table's semantics
 * (shared/exclusive, owners, split on unlock, waiters, host release). */
static void put_lock(struct xdr_enc *e, const char *caller, int32_t svid, uint64_t off, uint64_t len)
{
	xdr_put_opaque(e, caller, (uint32_t)strlen(caller));
	xdr_put_opaque(e, "FH", 2);
	xdr_put_opaque(e, "oh", 2);
	xdr_put_u32(e, (uint32_t)svid);
	xdr_put_u64(e, off);
	xdr_put_u64(e, len);
}

/* SHARE: the codec (mode and access 0-3 only) and the share table. */
static void test_nlm_share(void)
{
	struct nlm4_args a;
	struct xdr_enc e;
	char err[160];

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, "ck", 2);
	xdr_put_opaque(&e, "c1", 2);	/* caller_name */
	xdr_put_opaque(&e, "FH", 2);
	xdr_put_opaque(&e, "oh", 2);
	xdr_put_u32(&e, 2);	/* mode: deny write */
	xdr_put_u32(&e, 1);	/* access: read */
	xdr_put_u32(&e, 0);	/* reclaim */
	CHECK(nlm4_decode_args(NLM4_SHARE, buf, e.len, &a, err, sizeof(err)) == 0 && a.share_mode == 2 &&
	      a.share_access == 1 && a.lock.caller.len == 2 && a.lock.oh.len == 2 && !a.reclaim,
	      "nlm: SHARE arguments (%s)", err);
	buf[e.len - 12 + 3] = 4;	/* mode 4 */
	CHECK(nlm4_decode_args(NLM4_SHARE, buf, e.len, &a, err, sizeof(err)) < 0,
	      "nlm: SHARE mode 4 refused (%s)", err);
	xdr_enc_init(&e, buf, sizeof(buf));
	CHECK(nlm4_put_shareres(&e, &(struct nlm_obj){ (const uint8_t *)"ck", 2 }, NLM4_DENIED, 0) == 0 &&
	      e.len == 16, "nlm: shareres is cookie, stat, sequence");

	struct nlm_table t = { 0 };
	struct nlm_file f = { 1, 7, 0 }, g = { 1, 8, 0 };
	struct nlm4_lock o1 = { { (const uint8_t *)"c1", 2 }, { (const uint8_t *)"FH", 2 },
				{ (const uint8_t *)"o1", 2 }, 0, 0, 0 };
	struct nlm4_lock o2 = o1;
	o2.oh.p = (const uint8_t *)"o2";
	/* o1 reads, denies writers */
	CHECK(nlm_share_set(&t, &f, &o1, 2, 1) == 0 && t.nshares == 1, "nlm: share set");
	CHECK(!nlm_share_conflict(&t, &f, &o2, 0, 1) && nlm_share_conflict(&t, &f, &o2, 0, 2) &&
	      nlm_share_conflict(&t, &f, &o2, 1, 0) && !nlm_share_conflict(&t, &g, &o2, 3, 3) &&
	      !nlm_share_conflict(&t, &f, &o1, 3, 3),
	      "nlm: share: another reader fine, a writer or a deny-read refused, another file and "
	      "the owner itself free");
	CHECK(nlm_share_set(&t, &f, &o1, 0, 1) == 0 && t.nshares == 1 &&
	      !nlm_share_conflict(&t, &f, &o2, 0, 3), "nlm: the owner's new share replaces its old one");
	CHECK(nlm_share_remove(&t, &f, &o1) == 1 && t.nshares == 0 && nlm_share_remove(&t, &f, &o1) == 0,
	      "nlm: unshare once");
	CHECK(nlm_share_set(&t, &f, &o1, 3, 3) == 0 && nlm_free_host(&t, (const uint8_t *)"c1", 2) == 1 &&
	      t.nshares == 0 && !t.shares, "nlm: the host's release drops its shares");
	nlm_table_free(&t);
}

static void test_nlm(void)
{
	struct nlm4_args a;
	struct xdr_enc e;
	char err[160];

	xdr_enc_init(&e, buf, sizeof(buf));
	xdr_put_opaque(&e, "ck", 2);
	xdr_put_u32(&e, 1);	/* block */
	xdr_put_u32(&e, 1);	/* exclusive */
	put_lock(&e, "c1", 42, 100, 50);
	xdr_put_u32(&e, 0);
	xdr_put_u32(&e, 3);
	CHECK(nlm4_decode_args(NLM4_LOCK, buf, e.len, &a, err, sizeof(err)) == 0 && a.block &&
	      a.exclusive && a.lock.svid == 42 && a.lock.off == 100 && a.lock.len == 50 &&
	      a.state == 3 && a.lock.caller.len == 2, "nlm: LOCK arguments");
	CHECK(nlm4_decode_args(NLM4_LOCK, buf, e.len - 4, &a, err, sizeof(err)) < 0,
	      "nlm: LOCK truncated refused (%s)", err);
	CHECK(nlm4_decode_args(NLM4_SHARE, buf, e.len, &a, err, sizeof(err)) < 0,
	      "nlm: LOCK arguments are no SHARE arguments");
	CHECK(nlm4_decode_args(17, buf, e.len, &a, err, sizeof(err)) < 0, "nlm: procedure 17 not offered");
	test_nlm_share();
	CHECK(nlm_ranges_overlap(0, 10, 9, 1) && !nlm_ranges_overlap(0, 10, 10, 5) &&
	      nlm_ranges_overlap(5, 0, 1u << 30, 1) && nlm_ranges_overlap(UINT64_MAX, 7, 0, 0),
	      "nlm: ranges (len 0 and past 2^64 run to the end)");

	struct nlm_table t = { 0 };
	struct nlm_file f = { 1, 7, 0 }, g = { 1, 8, 0 };
	struct nlm4_lock l1 = { { (const uint8_t *)"c1", 2 }, { (const uint8_t *)"FH", 2 },
				{ (const uint8_t *)"oh", 2 }, 1, 0, 100 };
	struct nlm4_lock l2 = l1;
	l2.svid = 2;
	CHECK(nlm_lock_add(&t, &f, &l1, 0) == 0 && !nlm_conflict(&t, &f, &l2, 0) &&
	      nlm_conflict(&t, &f, &l2, 1) && !nlm_conflict(&t, &g, &l2, 1),
	      "nlm: shared lock: shared allowed, exclusive refused, another file free");
	CHECK(nlm_lock_add(&t, &f, &l1, 1) == 0 && t.nlocks == 1 && nlm_conflict(&t, &f, &l2, 0) &&
	      !nlm_conflict(&t, &f, &l1, 1), "nlm: upgrade to exclusive replaces the owner's range");
	struct nlm4_lock mid = l1;
	mid.off = 40;
	mid.len = 20;
	CHECK(nlm_unlock(&t, &f, &mid) == 0 && t.nlocks == 2, "nlm: unlock of the middle splits");
	l2.off = 45;
	l2.len = 5;
	struct nlm4_lock edge = l2;
	edge.off = 59;
	edge.len = 2;
	CHECK(!nlm_conflict(&t, &f, &l2, 1) && nlm_conflict(&t, &f, &edge, 1),
	      "nlm: ... the hole is free, its edge (byte 60) still held");
	struct nlm_cb_to to = { 0 };
	struct nlm_obj ck = { (const uint8_t *)"ck", 2 };
	edge.off = 0;
	edge.len = 0;
	CHECK(nlm_wait_add(&t, &f, &edge, 1, &ck, &to) == 0 && nlm_wait_add(&t, &f, &edge, 1, &ck, &to) == 0 &&
	      t.nwaiters == 1 && !nlm_wait_ready(&t), "nlm: a waiter queued once, not ready");
	CHECK(nlm_free_host(&t, (const uint8_t *)"c1", 2) == 3 && t.nlocks == 0 && t.nwaiters == 0,
	      "nlm: the host's release drops its locks and its waiter");
	CHECK(nlm_wait_add(&t, &f, &edge, 1, &ck, &to) == 0, "nlm: waiter again");
	struct nlm_ent *w = nlm_wait_ready(&t);
	CHECK(w && w->cookie.len == 2 && memcmp(w->cookie.p, "ck", 2) == 0 && t.nwaiters == 0,
	      "nlm: with nothing held it is ready, cookie kept");
	free(w);
	nlm_table_free(&t);
}

int main(void)
{
	test_rpcb();
	test_nlm();
	test_conn_state();
	test_config();
	test_policy_config();
	test_drc_key();
	test_xdr();
	test_record();
	test_call();
	test_args();
	test_results();
	test_client_side();
	test_fh();
	return check_done();
}
