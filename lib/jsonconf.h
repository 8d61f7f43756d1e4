/*
 * jsonconf.h - helpers for configuration parsers over Jansson: typed getters
 * with defaults and ranges, unknown-key rejection, and one-line messages that
 * say where ("nodes[2]: \"weight\" is 5000, must be 0..1000").  Every
 * getter returns 0, or -1 after writing the message into the context.
 */
#ifndef TANDEM_JSONCONF_H
#define TANDEM_JSONCONF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct jconf {
	char *err;		/* message buffer (the caller's) */
	size_t errlen;
	char where[96];		/* current position, e.g. "vips[1]"; "" at top level */
};

int jconf_perr(struct jconf *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reject keys not in allowed[] (NULL-terminated): typos must not pass silently. */
int jconf_check_keys(struct jconf *p, json_t *obj, const char *const *allowed);
/* String into out[outlen]; absent: def (NULL = required).  Empty refused. */
int jconf_get_str(struct jconf *p, json_t *obj, const char *key, char *out, size_t outlen,
		  const char *def);
/* The same, but "" is a value (e.g. "no such file: feature off"). */
int jconf_get_str_empty(struct jconf *p, json_t *obj, const char *key, char *out, size_t outlen,
			const char *def);
/* Integer in lo..hi; absent: def. */
int jconf_get_uint(struct jconf *p, json_t *obj, const char *key, uint32_t *out, uint32_t def,
		   uint32_t lo, uint32_t hi);
/* true/false into *out as 1/0; absent: def. */
int jconf_get_bool(struct jconf *p, json_t *obj, const char *key, int *out, int def);
/*
 * Read a whole configuration file (at most max bytes) into *buf (caller
 * frees; not NUL-terminated), length in *len.  0, or -1 with
 * "<path>: <why>" in err (missing, unreadable, too large, out of memory).
 */
int jconf_read_file(const char *path, size_t max, char **buf, size_t *len, char *err,
		    size_t errlen);

/* 64-bit integer in min..max; absent: def. */
int jconf_get_u64(struct jconf *p, json_t *obj, const char *key, uint64_t *out, uint64_t def,
		  uint64_t min, uint64_t max);
/* A name: [A-Za-z0-9_-], at most 32 characters (out holds 33). */
int jconf_get_name(struct jconf *p, json_t *obj, const char *key, char *out, const char *def);
/* A literal IPv4 or IPv6 address (required). */
int jconf_get_addr(struct jconf *p, json_t *obj, const char *key, struct taddr *out);

#endif
