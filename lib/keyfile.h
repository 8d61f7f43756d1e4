/*
 * keyfile.h - shared secrets on disk: one line of 64..128 hex digits
 * (32..64 bytes), e.g. from `openssl rand -hex 32`.  Used by tandem-syncd
 * (sync key), lbd and tandem-nasd (handoff key), tandem-nasd (NFS file
 * handle key, HTTP write token).
 */
#ifndef TANDEM_KEYFILE_H
#define TANDEM_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#define KEYFILE_MAX 64

/*
 * Read path into key[0..*len).  0, or -1 with a message in err naming the
 * file.  The file must be a regular file of mode 0600 or stricter (no
 * group or other bit: a readable key lets any local user forge the
 * protocol it protects, a writable one lets them replace it) owned by root
 * or by the calling process's effective uid; anything else is refused with
 * the mode or owner in the message.
 */
int keyfile_load(const char *path, uint8_t key[KEYFILE_MAX], size_t *len, char *err, size_t errlen);
/* The same checks (regular file, mode 0600 or stricter, owner) on a key
 * file some other program reads, e.g. nsupdate's TSIG key (lb/dns.c). 0 / -1. */
int keyfile_check(const char *path, char *err, size_t errlen);
/* Parse hex text (trailing newline/spaces allowed).  0 / -1. */
int keyfile_parse_hex(const char *hex, uint8_t key[KEYFILE_MAX], size_t *len);

#endif
