/*
 * xdr.c - XDR primitives (xdr.h).  Pure: no allocation, no I/O.
 */
#include "xdr.h"

#include <string.h>

#include "lib/wire.h"

static size_t pad4(size_t n) { return (n + 3) & ~(size_t)3; }

static int dec_fail(struct xdr_dec *d)
{
	d->err = 1;
	return -1;
}

int xdr_get_u32(struct xdr_dec *d, uint32_t *v)
{
	if (d->err || d->len - d->off < 4)
		return dec_fail(d);
	*v = wire_get32(d->p + d->off);
	d->off += 4;
	return 0;
}

int xdr_get_u64(struct xdr_dec *d, uint64_t *v)
{
	if (d->err || d->len - d->off < 8)
		return dec_fail(d);
	*v = wire_get64(d->p + d->off);
	d->off += 8;
	return 0;
}

int xdr_get_bool(struct xdr_dec *d, int *v)
{
	uint32_t u;

	if (xdr_get_u32(d, &u) < 0)
		return -1;
	if (u > 1)
		return dec_fail(d);
	*v = (int)u;
	return 0;
}

int xdr_skip(struct xdr_dec *d, size_t n)
{
	if (d->err || n > d->len - d->off || pad4(n) > d->len - d->off)
		return dec_fail(d);
	d->off += pad4(n);
	return 0;
}

int xdr_get_fixed(struct xdr_dec *d, void *out, size_t n)
{
	size_t at = d->off;

	if (xdr_skip(d, n) < 0)
		return -1;
	memcpy(out, d->p + at, n);
	return 0;
}

int xdr_get_opaque(struct xdr_dec *d, const uint8_t **p, uint32_t *n, uint32_t max)
{
	uint32_t l;

	if (xdr_get_u32(d, &l) < 0)
		return -1;
	if (l > max)
		return dec_fail(d);
	size_t at = d->off;
	if (xdr_skip(d, l) < 0)
		return -1;
	*p = d->p + at;
	*n = l;
	return 0;
}

static int enc_fail(struct xdr_enc *e)
{
	e->err = 1;
	return -1;
}

uint8_t *xdr_reserve(struct xdr_enc *e, size_t n)
{
	size_t pn = pad4(n);

	if (e->err || pn < n || pn > e->cap - e->len) {
		enc_fail(e);
		return NULL;
	}
	uint8_t *at = e->p + e->len;
	if (pn > n)
		memset(at + n, 0, pn - n);
	e->len += pn;
	return at;
}

void xdr_shrink(struct xdr_enc *e, size_t reserved_n, size_t new_n)
{
	if (e->err || new_n > reserved_n)
		return;
	e->len -= pad4(reserved_n);
	uint8_t *at = e->p + e->len;
	e->len += pad4(new_n);
	if (pad4(new_n) > new_n)
		memset(at + new_n, 0, pad4(new_n) - new_n);
}

int xdr_put_u32(struct xdr_enc *e, uint32_t v)
{
	uint8_t *p = xdr_reserve(e, 4);

	if (!p)
		return -1;
	wire_put32(p, v);
	return 0;
}

int xdr_put_u64(struct xdr_enc *e, uint64_t v)
{
	uint8_t *p = xdr_reserve(e, 8);

	if (!p)
		return -1;
	wire_put64(p, v);
	return 0;
}

int xdr_put_fixed(struct xdr_enc *e, const void *src, size_t n)
{
	uint8_t *p = xdr_reserve(e, n);

	if (!p)
		return -1;
	if (n)
		memcpy(p, src, n);
	return 0;
}

int xdr_put_opaque(struct xdr_enc *e, const void *src, uint32_t n)
{
	if (xdr_put_u32(e, n) < 0)
		return -1;
	return xdr_put_fixed(e, src, n);
}
