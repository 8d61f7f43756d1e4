/*
 * wire.h - the byte-level helpers every Tandem wire format uses: explicit
 * big-endian loads and stores (never a cast struct, never a bitfield) and
 * the TLV record walk (u16 type, u16 length, value) shared by the sync and
 * handoff protocols.  HMAC-SHA256 (OpenSSL) for message authentication.
 */
#ifndef TANDEM_WIRE_H
#define TANDEM_WIRE_H

#include <stddef.h>
#include <stdint.h>

static inline uint16_t wire_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t wire_get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static inline uint32_t wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t wire_get64(const uint8_t *p)
{
	return (uint64_t)wire_get32(p) << 32 | wire_get32(p + 4);
}
static inline void wire_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wire_put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)v;
}
static inline void wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void wire_put64(uint8_t *p, uint64_t v)
{
	wire_put32(p, (uint32_t)(v >> 32));
	wire_put32(p + 4, (uint32_t)v);
}

/*
 * Next TLV record of body[0..len) at *off (start with 0).  Returns 1 with
 * type/val/vlen set and *off advanced, 0 at the end, -1 if the record is
 * cut short.
 */
int wire_tlv_next(const uint8_t *body, size_t len, size_t *off, uint16_t *type,
		  const uint8_t **val, uint16_t *vlen);

#define WIRE_MAC_LEN 32
/* HMAC-SHA256 of data with key. */
void wire_hmac(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
	       uint8_t out[WIRE_MAC_LEN]);
/* Constant-time comparison of two MACs: 1 if equal. */
int wire_mac_equal(const uint8_t *a, const uint8_t *b);
/* A message msg[0..len) that ends in the HMAC of what precedes it: 1 if
 * that MAC is right (len >= WIRE_MAC_LEN, checked by the caller). */
int wire_mac_ok(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len);

#endif
