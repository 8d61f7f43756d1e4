/*
 * keyfile.h - shared secrets on disk: one line of 64..128 hex digits
 * (32..64 bytes), e.g. from `openssl rand -hex 32`.  Used by tandem-syncd
 * (sync key) and by lbd and tandem-nasd (handoff key).
 */
#ifndef TANDEM_KEYFILE_H
#define TANDEM_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#define KEYFILE_MAX 64

/* Read path into key[0..*len).  0, or -1 with a message in err. */
int keyfile_load(const char *path, uint8_t key[KEYFILE_MAX], size_t *len, char *err, size_t errlen);
/* Parse hex text (trailing newline/spaces allowed).  0 / -1. */
int keyfile_parse_hex(const char *hex, uint8_t key[KEYFILE_MAX], size_t *len);

#endif
