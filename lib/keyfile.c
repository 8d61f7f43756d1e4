#include "keyfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int keyfile_parse_hex(const char *hex, uint8_t key[KEYFILE_MAX], size_t *len)
{
	size_t n = strlen(hex);

	while (n && (hex[n - 1] == '\n' || hex[n - 1] == ' ' || hex[n - 1] == '\r'))
		n--;
	if (n < 64 || n > 2 * KEYFILE_MAX || n % 2)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = hex[2 * i + j];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				v |= c - 'A' + 10;
			else
				return -1;
		}
		key[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

int keyfile_load(const char *path, uint8_t key[KEYFILE_MAX], size_t *len, char *err, size_t errlen)
{
	char buf[300];
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "%.200s: %s", path, strerror(errno));
		return -1;
	}
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (keyfile_parse_hex(buf, key, len) < 0) {
		snprintf(err, errlen, "%.200s: want 64 to 128 hex digits (32 to 64 bytes), e.g. from "
			 "`openssl rand -hex 32`", path);
		return -1;
	}
	return 0;
}
