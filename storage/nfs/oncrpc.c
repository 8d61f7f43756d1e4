/*
 * oncrpc.c - ONC RPC record marking and call header (oncrpc.h).  Pure.
 */
#include "oncrpc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/err.h"
#include "lib/wire.h"

#define LAST_FRAG 0x80000000u

int rpc_record_scan(const uint8_t *buf, size_t len, size_t max, size_t *raw_len,
		    size_t *rec_len)
{
	size_t off = 0, payload = 0;

	for (unsigned frags = 0;; frags++) {
		if (frags >= RPC_MAX_FRAGMENTS)
			return RPC_REC_TOO_BIG;
		if (len - off < 4)
			return RPC_REC_MORE;
		uint32_t m = wire_get32(buf + off);
		size_t fl = m & ~LAST_FRAG;
		if (fl > max || payload + fl > max)
			return RPC_REC_TOO_BIG;	/* known from the mark: do not wait for it */
		payload += fl;
		if (len - off - 4 < fl)
			return RPC_REC_MORE;
		off += 4 + fl;
		if (m & LAST_FRAG) {
			*raw_len = off;
			*rec_len = payload;
			return RPC_REC_WHOLE;
		}
	}
}

size_t rpc_record_need(const uint8_t *buf, size_t len)
{
	size_t off = 0;
	int in_record = 0;	/* a non-last fragment was passed */

	while (off < len) {
		if (len - off < 4)
			return off + 4 - len;	/* the rest of a mark */
		uint32_t m = wire_get32(buf + off);
		size_t fl = m & ~LAST_FRAG;
		if (len - off - 4 < fl)
			return off + 4 + fl - len;	/* the rest of this fragment */
		off += 4 + fl;
		in_record = !(m & LAST_FRAG);
	}
	return in_record ? 4 : 0;	/* the next fragment's mark, or at a record boundary */
}

size_t rpc_record_gather(uint8_t *buf, size_t raw_len, uint8_t *out)
{
	size_t in = 0, o = 0;

	while (in + 4 <= raw_len) {
		uint32_t m = wire_get32(buf + in);
		size_t fl = m & ~LAST_FRAG;
		in += 4;
		if (fl > raw_len - in)
			fl = raw_len - in;	/* not for scanned records: defensive */
		memmove(out + o, buf + in, fl);
		o += fl;
		in += fl;
		if (m & LAST_FRAG)
			break;
	}
	return o;
}

void rpc_record_mark(uint8_t *p, uint32_t len)
{
	wire_put32(p, LAST_FRAG | len);
}

/* AUTH_SYS body (RFC 5531 appendix A), consumed exactly. */
static int auth_sys_decode(const uint8_t *p, uint32_t n, struct rpc_auth_sys *a)
{
	struct xdr_dec d;
	const uint8_t *m;
	uint32_t ml;

	xdr_dec_init(&d, p, n);
	xdr_get_u32(&d, &a->stamp);
	if (xdr_get_opaque(&d, &m, &ml, RPC_MACHINE_MAX) < 0)
		return -1;
	memcpy(a->machine, m, ml);
	a->machine[ml] = '\0';
	xdr_get_u32(&d, &a->uid);
	xdr_get_u32(&d, &a->gid);
	if (xdr_get_u32(&d, &a->ngids) < 0 || a->ngids > RPC_GIDS_MAX)
		return -1;
	for (uint32_t i = 0; i < a->ngids; i++)
		xdr_get_u32(&d, &a->gids[i]);
	if (d.err || xdr_left(&d) != 0)
		return -1;
	return 0;
}

enum rpc_dec rpc_call_decode(const uint8_t *buf, size_t len, struct rpc_call *c, char *err,
			     size_t errlen)
{
	struct xdr_dec d;
	uint32_t mtype, vl;
	const uint8_t *cred, *verf;
	uint32_t cl;

	memset(c, 0, sizeof(*c));
	xdr_dec_init(&d, buf, len);
	if (xdr_get_u32(&d, &c->xid) < 0 || xdr_get_u32(&d, &mtype) < 0) {
		err_set(err, errlen, "rpc: record too short for xid and message type");
		return RPC_DEC_DROP;
	}
	if (mtype != RPC_CALL) {
		err_set(err, errlen, "rpc: msg_type %u is not CALL", mtype);
		return RPC_DEC_DROP;
	}
	if (xdr_get_u32(&d, &c->rpcvers) < 0) {
		err_set(err, errlen, "rpc: no rpcvers");
		return RPC_DEC_DROP;
	}
	if (c->rpcvers != RPC_VERS) {
		err_set(err, errlen, "rpc: rpcvers %u", c->rpcvers);
		return RPC_DEC_RPC_MISMATCH;
	}
	/* A call cut inside prog/vers/proc or the credential cannot be
	 * authenticated: AUTH_BADCRED (the RPC layer has no "garbage header"). */
	if (xdr_get_u32(&d, &c->prog) < 0 || xdr_get_u32(&d, &c->vers) < 0 ||
	    xdr_get_u32(&d, &c->proc) < 0 || xdr_get_u32(&d, &c->cred_flavor) < 0 ||
	    xdr_get_opaque(&d, &cred, &cl, RPC_AUTH_MAX) < 0) {
		err_set(err, errlen, "rpc: call header or credential truncated or over 400 bytes");
		return RPC_DEC_BADCRED;
	}
	if (xdr_get_u32(&d, &c->verf_flavor) < 0 ||
	    xdr_get_opaque(&d, &verf, &vl, RPC_AUTH_MAX) < 0) {
		err_set(err, errlen, "rpc: verifier truncated or over 400 bytes");
		return RPC_DEC_BADVERF;
	}
	switch (c->cred_flavor) {
	case RPC_AUTH_NONE:
		if (cl != 0) {
			err_set(err, errlen, "rpc: AUTH_NONE credential with a %u-byte body", cl);
			return RPC_DEC_BADCRED;
		}
		break;
	case RPC_AUTH_SYS:
		if (auth_sys_decode(cred, cl, &c->sys) < 0) {
			err_set(err, errlen, "rpc: AUTH_SYS credential malformed (machinename <= 255, gids <= 16)");
			return RPC_DEC_BADCRED;
		}
		break;
	default:
		err_set(err, errlen, "rpc: credential flavor %u not supported", c->cred_flavor);
		return RPC_DEC_TOOWEAK;
	}
	/* Clients send an AUTH_NONE verifier with AUTH_NONE and AUTH_SYS; a
	 * node forwarding a call, its RPC_AUTH_TANDEM_FWD one (oncrpc.h) */
	if (c->verf_flavor == RPC_AUTH_TANDEM_FWD && vl == RPC_FWD_VERF_LEN) {
		c->fwd.flags = wire_get32(verf);
		c->fwd.anonuid = wire_get32(verf + 4);
		c->fwd.anongid = wire_get32(verf + 8);
		c->fwd.group = wire_get32(verf + 12);
		c->has_fwd = 1;
		if (!(c->fwd.flags & ~(RPC_FWD_WRITABLE | RPC_FWD_ROOT_SQUASH))) {
			c->args_off = d.off;
			return RPC_DEC_OK;
		}
	}
	if (c->verf_flavor != RPC_AUTH_NONE || vl != 0) {
		err_set(err, errlen, "rpc: verifier flavor %u length %u", c->verf_flavor, vl);
		return RPC_DEC_BADVERF;
	}
	c->args_off = d.off;
	return RPC_DEC_OK;
}

int rpc_put_call_prefix(struct xdr_enc *e, uint32_t xid, uint32_t prog, uint32_t vers,
			uint32_t proc)
{
	xdr_put_u32(e, xid);
	xdr_put_u32(e, RPC_CALL);
	xdr_put_u32(e, RPC_VERS);
	xdr_put_u32(e, prog);
	xdr_put_u32(e, vers);
	return xdr_put_u32(e, proc);
}

int rpc_put_call_head(struct xdr_enc *e, uint32_t xid, uint32_t prog, uint32_t vers,
		      uint32_t proc)
{
	rpc_put_call_prefix(e, xid, prog, vers, proc);
	xdr_put_u32(e, RPC_AUTH_NONE);		/* credential */
	xdr_put_u32(e, 0);
	xdr_put_u32(e, RPC_AUTH_NONE);		/* verifier */
	return xdr_put_u32(e, 0);
}

long rpc_call_set_fwd(const uint8_t *rec, size_t len, const struct rpc_call *c,
		      const struct rpc_fwd *f, uint8_t *out, size_t cap)
{
	size_t head;

	if (c->verf_flavor != RPC_AUTH_NONE || c->has_fwd || c->args_off < 8 ||
	    c->args_off > len || cap < len + RPC_FWD_VERF_LEN)
		return -1;
	head = c->args_off - 8;		/* the AUTH_NONE verifier: flavor, length 0 */
	memcpy(out, rec, head);
	wire_put32(out + head, RPC_AUTH_TANDEM_FWD);
	wire_put32(out + head + 4, RPC_FWD_VERF_LEN);
	wire_put32(out + head + 8, f->flags);
	wire_put32(out + head + 12, f->anonuid);
	wire_put32(out + head + 16, f->anongid);
	wire_put32(out + head + 20, f->group);
	memcpy(out + c->args_off + RPC_FWD_VERF_LEN, rec + c->args_off, len - c->args_off);
	return (long)(len + RPC_FWD_VERF_LEN);
}

static int reply_head(struct xdr_enc *e, uint32_t xid, uint32_t stat)
{
	xdr_put_u32(e, xid);
	xdr_put_u32(e, RPC_REPLY);
	return xdr_put_u32(e, stat);
}

int rpc_reply_accepted(struct xdr_enc *e, uint32_t xid, uint32_t accept_stat)
{
	reply_head(e, xid, RPC_MSG_ACCEPTED);
	xdr_put_u32(e, RPC_AUTH_NONE);		/* verifier */
	xdr_put_u32(e, 0);
	return xdr_put_u32(e, accept_stat);
}

int rpc_reply_prog_mismatch(struct xdr_enc *e, uint32_t xid, uint32_t low, uint32_t high)
{
	rpc_reply_accepted(e, xid, RPC_PROG_MISMATCH);
	xdr_put_u32(e, low);
	return xdr_put_u32(e, high);
}

int rpc_reply_rpc_mismatch(struct xdr_enc *e, uint32_t xid)
{
	reply_head(e, xid, RPC_MSG_DENIED);
	xdr_put_u32(e, RPC_RPC_MISMATCH);
	xdr_put_u32(e, RPC_VERS);
	return xdr_put_u32(e, RPC_VERS);
}

int rpc_reply_auth_error(struct xdr_enc *e, uint32_t xid, uint32_t auth_stat)
{
	reply_head(e, xid, RPC_MSG_DENIED);
	xdr_put_u32(e, RPC_AUTH_ERROR);
	return xdr_put_u32(e, auth_stat);
}

int rpc_reply_decode(const uint8_t *buf, size_t len, uint32_t *xid, uint32_t *accept_stat,
		     size_t *res_off)
{
	struct xdr_dec d;
	uint32_t mtype, stat, flavor;
	const uint8_t *verf;
	uint32_t vl;

	xdr_dec_init(&d, buf, len);
	xdr_get_u32(&d, xid);
	xdr_get_u32(&d, &mtype);
	xdr_get_u32(&d, &stat);
	if (d.err || mtype != RPC_REPLY || stat != RPC_MSG_ACCEPTED)
		return -1;
	xdr_get_u32(&d, &flavor);
	xdr_get_opaque(&d, &verf, &vl, RPC_AUTH_MAX);
	if (xdr_get_u32(&d, accept_stat) < 0)
		return -1;
	*res_off = d.off;
	return 0;
}

int rpc_reply_for_dec(struct xdr_enc *e, uint32_t xid, enum rpc_dec r)
{
	switch (r) {
	case RPC_DEC_RPC_MISMATCH: return rpc_reply_rpc_mismatch(e, xid);
	case RPC_DEC_BADCRED: return rpc_reply_auth_error(e, xid, RPC_AUTH_BADCRED);
	case RPC_DEC_BADVERF: return rpc_reply_auth_error(e, xid, RPC_AUTH_BADVERF);
	case RPC_DEC_TOOWEAK: return rpc_reply_auth_error(e, xid, RPC_AUTH_TOOWEAK);
	default: return -1;
	}
}

/* ---- connection state ---- */

enum { CS_IN = 1, CS_OUT = 2, CS_CALLS = 3, CS_DRC = 4 };
#define CS_HEAD 8
#define CS_DRC_FIXED 20

static int cs_rec(uint8_t *buf, size_t cap, size_t *off, uint16_t type, const uint8_t *a,
		  size_t alen, const uint8_t *b, size_t blen)
{
	if (alen + blen > 0xffff || cap - *off < 4 + alen + blen)
		return -1;
	wire_put16(buf + *off, type);
	wire_put16(buf + *off + 2, (uint16_t)(alen + blen));
	if (alen)
		memcpy(buf + *off + 4, a, alen);
	if (blen)
		memcpy(buf + *off + 4 + alen, b, blen);
	*off += 4 + alen + blen;
	return 0;
}

long rpc_conn_state_encode(const struct rpc_conn_state *st, uint8_t *buf, size_t cap)
{
	size_t off = CS_HEAD;
	uint8_t fixed[CS_DRC_FIXED];

	if (cap < CS_HEAD || st->ndrc > RPC_CONN_DRC_MAX)
		goto too_big;
	if (cap > RPC_CONN_MAX_BLOB)
		cap = RPC_CONN_MAX_BLOB;
	if (cs_rec(buf, cap, &off, CS_IN, st->in, st->in_len, NULL, 0) < 0 ||
	    (st->out_len && cs_rec(buf, cap, &off, CS_OUT, st->out, st->out_len, NULL, 0) < 0))
		goto too_big;
	wire_put64(fixed, st->calls);
	if (cs_rec(buf, cap, &off, CS_CALLS, fixed, 8, NULL, 0) < 0)
		goto too_big;
	for (unsigned i = 0; i < st->ndrc; i++) {
		const struct rpc_conn_drc *d = &st->drc[i];
		if (d->len > RPC_CONN_DRC_REPLY)
			goto too_big;
		wire_put32(fixed, d->xid);
		wire_put32(fixed + 4, d->prog);
		wire_put32(fixed + 8, d->proc);
		wire_put64(fixed + 12, d->ahash);
		if (cs_rec(buf, cap, &off, CS_DRC, fixed, CS_DRC_FIXED, d->reply, d->len) < 0)
			goto too_big;
	}
	wire_put16(buf, RPC_CONN_MAGIC);
	buf[2] = RPC_CONN_VERSION;
	buf[3] = 0;
	wire_put32(buf + 4, (uint32_t)(off - CS_HEAD));
	return (long)off;
too_big:
	errno = EMSGSIZE;
	return -1;
}

/* The records a blob had that may come once. */
struct cs_seen { int in, out, calls; };

/* Take record type t, value v[0, l), into st.  0, or -1 with the reason
 * in err (a second IN, OUT or CALLS, a wrong size, too many DRC entries, an
 * unknown type below 0x8000; unknown types from 0x8000 up are skipped). */
static int cs_take(struct rpc_conn_state *st, struct cs_seen *seen, uint16_t t, const uint8_t *v,
		   uint16_t l, char *err, size_t errlen)
{
	switch (t) {
	case CS_IN:
		if (seen->in++)
			goto dup;
		st->in = v;
		st->in_len = l;
		return 0;
	case CS_OUT:
		if (seen->out++)
			goto dup;
		st->out = v;
		st->out_len = l;
		return 0;
	case CS_CALLS:
		if (seen->calls++)
			goto dup;
		if (l != 8)
			goto size;
		st->calls = wire_get64(v);
		return 0;
	case CS_DRC: {
		if (st->ndrc >= RPC_CONN_DRC_MAX)
			return err_set(err, errlen, "nfs state: more than %d DRC entries",
				       RPC_CONN_DRC_MAX);
		if (l < CS_DRC_FIXED || l - CS_DRC_FIXED > RPC_CONN_DRC_REPLY)
			goto size;
		struct rpc_conn_drc *d = &st->drc[st->ndrc++];
		d->xid = wire_get32(v);
		d->prog = wire_get32(v + 4);
		d->proc = wire_get32(v + 8);
		d->ahash = wire_get64(v + 12);
		d->reply = v + CS_DRC_FIXED;
		d->len = l - CS_DRC_FIXED;
		return 0;
	}
	default:
		if (t >= 0x8000)
			return 0;
		return err_set(err, errlen, "nfs state: unknown record type %u", t);
	}
dup:
	return err_set(err, errlen, "nfs state: record %u twice", t);
size:
	return err_set(err, errlen, "nfs state: record %u has a wrong size (%u)", t, l);
}

int rpc_conn_state_decode(const uint8_t *buf, size_t len, struct rpc_conn_state *st, char *err,
			  size_t errlen)
{
	struct cs_seen seen = { 0, 0, 0 };
	size_t off = CS_HEAD;

	memset(st, 0, sizeof(*st));
	if (len < CS_HEAD || wire_get16(buf) != RPC_CONN_MAGIC || buf[2] != RPC_CONN_VERSION ||
	    buf[3] != 0)
		return err_set(err, errlen, "nfs state: bad header");
	if (wire_get32(buf + 4) != len - CS_HEAD || len > RPC_CONN_MAX_BLOB)
		return err_set(err, errlen, "nfs state: body length %u, have %zu",
			       wire_get32(buf + 4), len - CS_HEAD);
	while (off < len) {
		if (len - off < 4)
			return err_set(err, errlen, "nfs state: truncated record header");
		uint16_t t = wire_get16(buf + off), l = wire_get16(buf + off + 2);
		const uint8_t *v = buf + off + 4;
		if (len - off - 4 < l)
			return err_set(err, errlen, "nfs state: record %u overruns the blob", t);
		off += 4u + l;
		if (cs_take(st, &seen, t, v, l, err, errlen) < 0)
			return -1;
	}
	if (!seen.in || !seen.calls)
		return err_set(err, errlen, "nfs state: IN and CALLS are required");
	return 0;
}
