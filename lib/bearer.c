/*
 * bearer.c - bearer tokens: the token file and the Authorization header
 * (bearer.h).
 */
#include "bearer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "lib/err.h"

int bearer_load(const char *path, uint8_t tok[KEYFILE_MAX], size_t *len, char *err,
		size_t errlen)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return err_errno(err, errlen, "%s", path);
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077))
		return err_set(err, errlen, "%s: must be a regular file of mode 0600 (is %04o): "
			       "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
	return keyfile_load(path, tok, len, err, errlen);
}

/* a[0..n) == b[0..n), in time that depends on n only. */
static int same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
	volatile uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

int bearer_check(const char *hdr, size_t hlen, const uint8_t *tok, size_t toklen)
{
	char hex[2 * KEYFILE_MAX + 8];
	uint8_t got[KEYFILE_MAX];
	size_t gl;

	if (!hdr || hlen < 7 || strncasecmp(hdr, "Bearer ", 7))
		return 401;
	const char *t = hdr + 7, *end = hdr + hlen;
	while (t < end && *t == ' ')
		t++;
	if ((size_t)(end - t) >= sizeof(hex))
		return 403;
	memcpy(hex, t, (size_t)(end - t));
	hex[end - t] = '\0';
	if (strlen(hex) != (size_t)(end - t) || keyfile_parse_hex(hex, got, &gl) < 0)
		return 403;	/* a NUL inside, or not hex */
	return gl == toklen && same_bytes(got, tok, gl) ? 0 : 403;
}
