#include "wire.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

int wire_tlv_next(const uint8_t *body, size_t len, size_t *off, uint16_t *type,
		  const uint8_t **val, uint16_t *vlen)
{
	if (*off == len)
		return 0;
	if (*off > len || len - *off < 4)
		return -1;
	*type = wire_get16(body + *off);
	*vlen = wire_get16(body + *off + 2);
	if (len - *off - 4 < *vlen)
		return -1;
	*val = body + *off + 4;
	*off += 4u + *vlen;
	return 1;
}

void wire_hmac(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
	       uint8_t out[WIRE_MAC_LEN])
{
	unsigned int ol = WIRE_MAC_LEN;

	HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &ol);
}

int wire_mac_equal(const uint8_t *a, const uint8_t *b)
{
	return CRYPTO_memcmp(a, b, WIRE_MAC_LEN) == 0;
}

int wire_mac_ok(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t len)
{
	uint8_t want[WIRE_MAC_LEN];

	wire_hmac(key, keylen, msg, len - WIRE_MAC_LEN, want);
	return wire_mac_equal(want, msg + len - WIRE_MAC_LEN);
}
