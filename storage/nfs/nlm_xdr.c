/*
 * nlm_xdr.c - NLM v4 and NSM v1 codecs (nlm_xdr.h).  Pure.
 */
#include "nlm_xdr.h"

#include <string.h>

#include "lib/err.h"

static int get_obj(struct xdr_dec *d, struct nlm_obj *o)
{
	return xdr_get_opaque(d, &o->p, &o->len, NLM_OBJ_MAX);
}

static int get_i32(struct xdr_dec *d, int32_t *v)
{
	uint32_t u = 0;
	int rc = xdr_get_u32(d, &u);

	*v = (int32_t)u;
	return rc;
}

static void get_lock(struct xdr_dec *d, struct nlm4_lock *l)
{
	get_obj(d, &l->caller);
	get_obj(d, &l->fh);
	get_obj(d, &l->oh);
	get_i32(d, &l->svid);
	xdr_get_u64(d, &l->off);
	xdr_get_u64(d, &l->len);
}

/* The synchronous procedure a _MSG form carries the arguments of. */
static uint32_t sync_of(uint32_t proc)
{
	return proc >= NLM4_TEST_MSG && proc <= NLM4_GRANTED_MSG ? proc - 5 : proc;
}

int nlm4_decode_args(uint32_t proc, const uint8_t *buf, size_t len, struct nlm4_args *a,
		     char *err, size_t errlen)
{
	struct xdr_dec d;

	memset(a, 0, sizeof(*a));
	a->proc = proc;
	xdr_dec_init(&d, buf, len);
	switch (sync_of(proc)) {
	case NLM4_NULL:
		break;
	case NLM4_TEST:
	case NLM4_GRANTED:
		get_obj(&d, &a->cookie);
		xdr_get_bool(&d, &a->exclusive);
		get_lock(&d, &a->lock);
		break;
	case NLM4_LOCK:
	case NLM4_NM_LOCK:	/* a LOCK the client's statd does not monitor */
		get_obj(&d, &a->cookie);
		xdr_get_bool(&d, &a->block);
		xdr_get_bool(&d, &a->exclusive);
		get_lock(&d, &a->lock);
		xdr_get_bool(&d, &a->reclaim);
		get_i32(&d, &a->state);
		break;
	case NLM4_CANCEL:
		get_obj(&d, &a->cookie);
		xdr_get_bool(&d, &a->block);
		xdr_get_bool(&d, &a->exclusive);
		get_lock(&d, &a->lock);
		break;
	case NLM4_UNLOCK:
		get_obj(&d, &a->cookie);
		get_lock(&d, &a->lock);
		break;
	case NLM4_TEST_RES:	/* its holder (when DENIED) is not looked at */
		get_obj(&d, &a->cookie);
		xdr_get_u32(&d, &a->stat);
		return d.err ? err_set(err, errlen, "nlm: TEST_RES truncated") : 0;
	case NLM4_LOCK_RES:
	case NLM4_CANCEL_RES:
	case NLM4_UNLOCK_RES:
	case NLM4_GRANTED_RES:
		get_obj(&d, &a->cookie);
		xdr_get_u32(&d, &a->stat);
		break;
	case NLM4_SHARE:
	case NLM4_UNSHARE:
		get_obj(&d, &a->cookie);
		get_obj(&d, &a->lock.caller);
		get_obj(&d, &a->lock.fh);
		get_obj(&d, &a->lock.oh);
		xdr_get_u32(&d, &a->share_mode);
		xdr_get_u32(&d, &a->share_access);
		xdr_get_bool(&d, &a->reclaim);
		if (!d.err && (a->share_mode > 3 || a->share_access > 3))
			return err_set(err, errlen, "nlm: share mode %u / access %u out of range",
				       a->share_mode, a->share_access);
		break;
	case NLM4_FREE_ALL:
		get_obj(&d, &a->name);
		get_i32(&d, &a->state);
		break;
	default:
		return err_set(err, errlen, "nlm: procedure %u not offered", proc);
	}
	if (d.err)
		return err_set(err, errlen, "nlm: arguments of procedure %u truncated or over %d bytes",
			       proc, NLM_OBJ_MAX);
	if (xdr_left(&d))
		return err_set(err, errlen, "nlm: %zu bytes after the arguments of procedure %u",
			       xdr_left(&d), proc);
	return 0;
}

int nlm4_put_res(struct xdr_enc *e, const struct nlm_obj *cookie, uint32_t stat)
{
	xdr_put_opaque(e, cookie->p, cookie->len);
	return xdr_put_u32(e, stat);
}

int nlm4_put_shareres(struct xdr_enc *e, const struct nlm_obj *cookie, uint32_t stat,
		      int32_t sequence)
{
	nlm4_put_res(e, cookie, stat);
	return xdr_put_u32(e, (uint32_t)sequence);
}

static void put_lock_tail(struct xdr_enc *e, const struct nlm4_lock *l)
{
	xdr_put_u32(e, (uint32_t)l->svid);
	xdr_put_opaque(e, l->oh.p, l->oh.len);
	xdr_put_u64(e, l->off);
	xdr_put_u64(e, l->len);
}

int nlm4_put_testres(struct xdr_enc *e, const struct nlm_obj *cookie, uint32_t stat,
		     int exclusive, const struct nlm4_lock *h)
{
	nlm4_put_res(e, cookie, stat);
	if (stat == NLM4_DENIED) {	/* nlm4_holder */
		xdr_put_u32(e, exclusive ? 1 : 0);
		put_lock_tail(e, h);
	}
	return e->err ? -1 : 0;
}

int nlm4_put_testargs(struct xdr_enc *e, const struct nlm_obj *cookie, int exclusive,
		      const struct nlm4_lock *l)
{
	xdr_put_opaque(e, cookie->p, cookie->len);
	xdr_put_u32(e, exclusive ? 1 : 0);
	xdr_put_opaque(e, l->caller.p, l->caller.len);
	xdr_put_opaque(e, l->fh.p, l->fh.len);
	xdr_put_opaque(e, l->oh.p, l->oh.len);
	xdr_put_u32(e, (uint32_t)l->svid);
	xdr_put_u64(e, l->off);
	return xdr_put_u64(e, l->len);
}

static void get_my_id(struct xdr_dec *d, struct nsm_args *a)
{
	xdr_get_opaque(d, &a->my_name.p, &a->my_name.len, NLM_OBJ_MAX);
	xdr_get_u32(d, &a->my_prog);
	xdr_get_u32(d, &a->my_vers);
	xdr_get_u32(d, &a->my_proc);
}

int nsm_decode_args(uint32_t proc, const uint8_t *buf, size_t len, struct nsm_args *a,
		    char *err, size_t errlen)
{
	struct xdr_dec d;

	memset(a, 0, sizeof(*a));
	xdr_dec_init(&d, buf, len);
	switch (proc) {
	case NSM_NULL:
	case NSM_SIMU_CRASH:
		break;
	case NSM_STAT:
		get_obj(&d, &a->mon_name);
		break;
	case NSM_MON:
		get_obj(&d, &a->mon_name);
		get_my_id(&d, a);
		xdr_get_fixed(&d, a->priv, NSM_PRIV_SIZE);
		break;
	case NSM_UNMON:
		get_obj(&d, &a->mon_name);
		get_my_id(&d, a);
		break;
	case NSM_UNMON_ALL:
		get_my_id(&d, a);
		break;
	case NSM_NOTIFY:
		get_obj(&d, &a->mon_name);
		get_i32(&d, &a->state);
		break;
	default:
		return err_set(err, errlen, "nsm: procedure %u not offered", proc);
	}
	if (d.err)
		return err_set(err, errlen, "nsm: arguments of procedure %u truncated or over %d bytes",
			       proc, NLM_OBJ_MAX);
	if (xdr_left(&d))
		return err_set(err, errlen, "nsm: %zu bytes after the arguments of procedure %u",
			       xdr_left(&d), proc);
	return 0;
}

uint64_t nlm_range_last(uint64_t off, uint64_t len)
{
	return len == 0 || off + (len - 1) < off ? UINT64_MAX : off + (len - 1);
}

int nlm_ranges_overlap(uint64_t off1, uint64_t len1, uint64_t off2, uint64_t len2)
{
	return off1 <= nlm_range_last(off2, len2) && off2 <= nlm_range_last(off1, len1);
}
