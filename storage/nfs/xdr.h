/*
 * xdr.h - XDR (RFC 4506) primitives with strict bounds, for ONC RPC and
 * NFSv3.  Big-endian 4-byte units; opaque and string bodies are padded to a
 * multiple of 4.  The decoder never reads past its buffer and never
 * allocates: variable-length data comes back as a pointer into the buffer.
 *
 * Both cursors are sticky on error: after the first failure (short buffer,
 * a length over its bound, non-zero padding is accepted but a length past
 * the end is not) every later call fails too, so a caller may decode a whole
 * structure and test `err` once.
 */
#ifndef TANDEM_XDR_H
#define TANDEM_XDR_H

#include <stddef.h>
#include <stdint.h>

struct xdr_dec {
	const uint8_t *p;
	size_t len, off;
	int err;		/* set on the first failure; every later call fails */
};

struct xdr_enc {
	uint8_t *p;		/* the caller's buffer */
	size_t cap, len;
	int err;		/* the buffer was too small: len stops growing */
};

static inline void xdr_dec_init(struct xdr_dec *d, const uint8_t *p, size_t len)
{
	d->p = p;
	d->len = len;
	d->off = 0;
	d->err = 0;
}
static inline void xdr_enc_init(struct xdr_enc *e, uint8_t *p, size_t cap)
{
	e->p = p;
	e->cap = cap;
	e->len = 0;
	e->err = 0;
}
/* Bytes not yet decoded. */
static inline size_t xdr_left(const struct xdr_dec *d) { return d->err ? 0 : d->len - d->off; }

/* Decoders: 0, or -1 (d->err set). */
int xdr_get_u32(struct xdr_dec *d, uint32_t *v);
int xdr_get_u64(struct xdr_dec *d, uint64_t *v);
/* A bool: 0 or 1 only (anything else is an error, as RFC 4506 says). */
int xdr_get_bool(struct xdr_dec *d, int *v);
/* Fixed-length opaque[n] (padded). */
int xdr_get_fixed(struct xdr_dec *d, void *out, size_t n);
/* Variable-length opaque<max> / string<max>: *p points into the buffer,
 * *n at most max.  A string is not NUL-terminated and may hold any byte:
 * the caller decides what a valid name is. */
int xdr_get_opaque(struct xdr_dec *d, const uint8_t **p, uint32_t *n, uint32_t max);
/* Skip n bytes (padded). */
int xdr_skip(struct xdr_dec *d, size_t n);

/* Encoders: 0, or -1 (e->err set; nothing more is written). */
int xdr_put_u32(struct xdr_enc *e, uint32_t v);
int xdr_put_u64(struct xdr_enc *e, uint64_t v);
int xdr_put_fixed(struct xdr_enc *e, const void *p, size_t n);
int xdr_put_opaque(struct xdr_enc *e, const void *p, uint32_t n);
/* Reserve n bytes (plus padding, zeroed) and return where to write them
 * (NULL if they do not fit): lets READ read() straight into the reply. */
uint8_t *xdr_reserve(struct xdr_enc *e, size_t n);
/* Give back the tail of a reservation that was not filled: the opaque's
 * length word must be patched by the caller.  new_n <= the reserved n. */
void xdr_shrink(struct xdr_enc *e, size_t reserved_n, size_t new_n);

#endif
