/*
 * bearer.h - bearer-token authentication of HTTP requests (RFC 6750):
 * tandem-nasd's writable exports, and the /metrics pages of tandem-webd and
 * tandem-nasd.  A token is kept in a file as every key is (lib/keyfile.h:
 * one line of 64..128 hex digits, e.g. `openssl rand -hex 32`), which only
 * its owner may read: a regular file of mode 0600 or stricter.
 */
#ifndef TANDEM_BEARER_H
#define TANDEM_BEARER_H

#include <stddef.h>
#include <stdint.h>

#include "lib/keyfile.h"

/*
 * Read the token in path into tok[0..*len).  Refused (-1, with a message
 * naming the file and the fault in err): not a regular file, readable or
 * writable by group or others, not 64..128 hex digits.
 */
int bearer_load(const char *path, uint8_t tok[KEYFILE_MAX], size_t *len, char *err,
		size_t errlen);

/*
 * Check an Authorization header value (hdr[0..hlen), NULL: no header)
 * against the token tok[0..toklen).  Pure.  Returns 0 when it is
 * "Bearer <the token in hex>" (scheme in any case, spaces after it, a
 * trailing newline or spaces allowed); 401 when it carries no bearer
 * credentials (absent, too short, another scheme); 403 for a bearer token
 * that is not this one (malformed, or another token).  The bytes are
 * compared in constant time; a token's length is no secret (the file's
 * format bounds it).
 */
int bearer_check(const char *hdr, size_t hlen, const uint8_t *tok, size_t toklen);

#endif
